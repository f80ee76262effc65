"""`r1policy advisories import FILE…` / `advisories list`: the local OSV advisory store (R1-EP-008)."""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from r1policy.core.errors import InputError, OutputError, Position, UsageError
from r1policy.facts.advisories import Advisory, load_store, local_store, parse_file


def run_advisories(args: argparse.Namespace) -> int:
    if args.advisories_command == "import":
        return _import(args.files)
    if args.advisories_command == "list":
        store = load_store()
        print(f"advisory store of {store.date} (built in) + {store.local}")
        for adv in store.advisories:
            print(f"{adv.id:22} {adv.severity:8} {', '.join(adv.aliases):40} {adv.summary}")
        return 0
    raise UsageError("r1policy advisories: name a subcommand (import, list)")


def _import(files: list[Path]) -> int:
    """Validate every file first; write nothing unless all are valid OSV."""
    found: list[Advisory] = []
    for path in files:
        if not path.is_file():
            raise InputError(Position(str(path)), "advisory file not found")
        found += parse_file(path)
    target = local_store()
    try:
        target.mkdir(parents=True, exist_ok=True)
        for adv in found:
            _write(target / f"{_safe(adv.id)}.json", adv)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write the advisory store: {exc.strerror}") from exc
    print(f"imported {len(found)} advisor{'y' if len(found) == 1 else 'ies'} into {target}")
    return 0


def _safe(advisory_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in advisory_id)


def _write(path: Path, adv: Advisory) -> None:
    """Atomically: a reader never sees half a record."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(adv.record, handle, indent=2, sort_keys=True)
        handle.write("\n")
    Path(tmp).replace(path)
