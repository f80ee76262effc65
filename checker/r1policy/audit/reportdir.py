"""Write one run's folder atomically: every file into a hidden temporary folder next to the target,
then one rename. A run that fails half-way leaves nothing (the temporary folder is removed)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

from r1policy.core.errors import OutputError


def write_run(report_dir: Path, run_id: str, files: Mapping[str, str]) -> Path:
    """Write `files` (name -> text) into `report_dir/run_id` (or `run_id-2`, ... if taken); return it."""
    try:
        report_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{run_id}.", suffix=".tmp", dir=report_dir))
    except OSError as exc:
        raise OutputError(f"{report_dir}: cannot create the report folder: {exc.strerror or exc}") from exc
    try:
        for name, text in files.items():
            with (tmp / name).open("w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
        tmp.chmod(0o755)
        return _publish(tmp, report_dir, run_id)
    except OSError as exc:
        raise OutputError(f"{report_dir}: cannot write the report: {exc.strerror or exc}") from exc
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def free_run_id(report_dir: Path, run_id: str) -> str:
    """`run_id`, or `run_id-2`, `-3`, ... when a run of the same second exists already."""
    for attempt in range(1, 100):
        candidate = run_id if attempt == 1 else f"{run_id}-{attempt}"
        if not (report_dir / candidate).exists():
            return candidate
    raise OutputError(f"{report_dir}: too many report folders named {run_id}")


def _publish(tmp: Path, report_dir: Path, run_id: str) -> Path:
    for attempt in range(1, 100):
        target = report_dir / (run_id if attempt == 1 else f"{run_id}-{attempt}")
        if target.exists():
            continue
        try:
            # On POSIX, rename() onto an existing *empty* folder would replace it; the exists() check
            # above rules that out except in a race, where ENOTEMPTY/EEXIST send us to the next name.
            tmp.rename(target)
        except FileExistsError:
            continue
        except OSError as exc:
            if target.exists():
                continue
            raise exc
        return target
    raise OutputError(f"{report_dir}: too many report folders named {run_id}")
