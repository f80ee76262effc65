"""Previous runs in the report directory: the default baseline and the trend."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.errors import InputError, Position
from r1policy.core.validation import validator

REPORT_JSON = "audit.json"
REPORT_SCHEMA = "report-v1.schema.json"
TREND_RUNS = 30  # previous runs shown in the trend chart
MAX_REPORT_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class PastReport:
    path: Path
    run_id: str
    document: dict[str, Any]

    @property
    def finished_at(self) -> str | None:
        audit = self.document.get("audit") or {}
        value = audit.get("finished_at")
        return value if isinstance(value, str) else None


def run_folders(report_dir: Path) -> list[Path]:
    """Completed runs, oldest first (folder names are UTC timestamps; temporary folders start with '.')."""
    if not report_dir.is_dir():
        return []
    return sorted(
        child
        for child in report_dir.iterdir()
        if not child.name.startswith(".") and child.is_dir() and (child / REPORT_JSON).is_file()
    )


def load_report(path: Path) -> PastReport:
    """A JSON v1 report (an earlier audit.json, or any report given as --baseline); exit 2 when invalid."""
    try:
        if path.stat().st_size > MAX_REPORT_BYTES:
            raise InputError(Position(str(path)), f"larger than {MAX_REPORT_BYTES} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(Position(str(path)), "baseline report does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(Position(str(path)), f"cannot read the report: {exc}") from None
    try:
        data = jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Position(str(path), exc.lineno, exc.colno), f"not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("schema_version") != 1:
        raise InputError(Position(str(path), 1, 1), "not an r1policy JSON report (schema_version 1)")
    errors = sorted(validator(REPORT_SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise InputError(Position(str(path)), f"not a valid r1policy report at {where}: {errors[0].message}")
    audit = data.get("audit") or {}
    run_id = audit.get("run_id") or (path.parent.name if path.name == REPORT_JSON else path.name)
    return PastReport(path, str(run_id), data)


def latest(report_dir: Path) -> PastReport | None:
    folders = run_folders(report_dir)
    return load_report(folders[-1] / REPORT_JSON) if folders else None


def recent(report_dir: Path, count: int = TREND_RUNS) -> list[PastReport]:
    return [load_report(folder / REPORT_JSON) for folder in run_folders(report_dir)[-count:]]
