"""The advisory store R1-EP-008 reads: OSV records (https://ossf.github.io/osv-schema/).

The built-in store ships with the wheel (policies/data/advisories/, dated by its store.json); a local store
(`R1POLICY_DATA_DIR/advisories`, else `<cache dir>/advisories`) holds what `r1policy advisories import`
added. A record is validated against schemas/osv.schema.json when it is read: a record r1policy does not
understand is an input error naming the file and field, never an advisory silently ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from functools import cache
from pathlib import Path
from typing import Any

from r1policy.core import jsonsafe
from r1policy.core.errors import InputError, Position
from r1policy.core.record import frozen_record
from r1policy.core.resources import policies_dir, schemas_dir
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document, load_yaml_documents, read_text

SCHEMA = "osv.schema.json"
DATA_ENV = "R1POLICY_DATA_DIR"
# OSV / GitHub severities, lowest first ("MODERATE" is GitHub's name for medium).
LEVELS = {"low": 1, "medium": 2, "moderate": 2, "high": 3, "critical": 4}


@frozen_record
class Advisory:
    """One OSV advisory record of the store, with its id, aliases, severity and file."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    severity: str  # low | medium | high | critical | unknown
    record: dict[str, Any]
    origin: str

    def affected(self, package: str, version: str) -> tuple[bool, str | None]:
        """Whether `package` at `version` is affected, and the first fixed release above it (if any)."""
        entries = [e for e in self.record.get("affected", []) if e["package"]["name"].lower() == package]
        ranges = [r for e in entries for r in e.get("ranges", []) if r["type"] in ("ECOSYSTEM", "SEMVER")]
        key = version_key([version, *(v for r in ranges for event in r["events"] for v in event.values())])
        try:
            current = key(version)
        except ValueError:  # packaging's InvalidVersion
            return True, None  # not comparable: counted as affected (fail closed)
        hit, fixes = False, []
        for entry in entries:
            if version in entry.get("versions", []):
                hit = True
            for rng in entry.get("ranges", []):
                if rng["type"] not in ("ECOSYSTEM", "SEMVER"):
                    continue
                inside, fixed = _in_range(rng["events"], current, key)
                hit = hit or inside
                fixes += [f for f in fixed if key(f) > current]
        fixes.sort(key=key)
        return hit, (fixes[0] if fixes else None)


def _plain_release(text: str) -> bool:
    parts = text.split(".")
    return all(p.isascii() and p.isdigit() for p in parts)


def _release_key(text: str) -> tuple[int, ...]:
    numbers = [int(p) for p in text.split(".")]
    while numbers and numbers[-1] == 0:  # PEP 440: 2.4 == 2.4.0
        numbers.pop()
    return tuple(numbers)


def version_key(versions: Iterable[str]) -> Callable[[str], Any]:
    """A key that orders these versions as PEP 440 does (`packaging.version.Version`). When every one is
    a plain release (digits and dots, as the stores' engine versions are), it is the release's numbers
    without trailing zeros, which is what Version compares for them, and packaging is not imported (a
    cold check); otherwise it is packaging's Version (which raises InvalidVersion, a ValueError)."""
    if all(_plain_release(v) for v in versions):
        return _release_key
    from packaging.version import Version

    return Version


def _in_range(
    events: list[dict[str, str]], current: Any, key: Callable[[str], Any]
) -> tuple[bool, list[str]]:
    inside, fixed = False, []
    start: Any = None
    for event in sorted(events, key=lambda e: key(next(iter(e.values())))):
        kind, value = next(iter(event.items()))
        if kind == "introduced":
            start = key(value)
        elif kind == "fixed":
            fixed.append(value)
            if start is not None and start <= current < key(value):
                inside = True
            start = None
        elif kind == "last_affected":
            if start is not None and start <= current <= key(value):
                inside = True
            start = None
    if start is not None and current >= start:
        inside = True
    return inside, fixed


def local_store() -> Path:
    root = os.environ.get(DATA_ENV)
    if root:
        return Path(root) / "advisories"
    from r1policy.core.cachedir import default_cache_dir

    return default_cache_dir() / "advisories"


def parse_file(path: Path) -> list[Advisory]:
    """Every OSV record in a JSON file (one record, or a list of them); InputError when one is invalid."""
    text = read_text(path)
    try:
        jsonsafe.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(Position(str(path), exc.lineno, exc.colno), f"not JSON: {exc.msg}") from exc
    docs = list(load_yaml_documents(text, str(path)))
    value = docs[0].value if docs else None
    records = value if isinstance(value, list) else [value]
    found = []
    for i, record in enumerate(records):
        prefix: tuple[Any, ...] = (i,) if isinstance(value, list) else ()
        _validate(docs[0], record, prefix)
        found.append(_advisory(record, str(path)))
    return found


def _validate(whole: Document, record: Any, prefix: tuple[Any, ...]) -> None:
    # A record in a list: its positions re-keyed, so that messages point into the right record.
    n = len(prefix)
    doc = Document(path=whole.path, value=record)
    doc.positions = {k[n:]: v for k, v in whole.positions.items() if k[:n] == prefix}
    doc.key_positions = {k[n:]: v for k, v in whole.key_positions.items() if k[:n] == prefix}
    validate_document(doc, SCHEMA)


def _advisory(record: dict[str, Any], origin: str) -> Advisory:
    level = str(record.get("database_specific", {}).get("severity", "")).lower()
    severity = {"moderate": "medium"}.get(level, level) if level in LEVELS else "unknown"
    return Advisory(
        id=record["id"],
        aliases=tuple(record.get("aliases", [])),
        summary=record.get("summary", ""),
        severity=severity,
        record=record,
        origin=origin,
    )


@frozen_record
class Store:
    """The advisories in force: the shipped store and any local one, with the store's date."""

    advisories: tuple[Advisory, ...]
    date: str
    local: Path


@cache
def _builtin() -> tuple[str, tuple[Advisory, ...]]:
    """The shipped store: from the derived-data cache (core/derivedcache.py) when it proves to have been
    built from exactly these files and this code, else parsed and validated (and the cache rewritten)."""
    from r1policy.core import derivedcache

    folder = policies_dir() / "data" / "advisories"
    files = sorted(folder.glob("*.json"))
    package = Path(__file__).resolve().parent.parent
    code = [package / name for name in _CODE]
    try:
        key: str | None = derivedcache.input_key("advisories", [*files, schemas_dir() / SCHEMA, *code], [])
    except OSError:
        key = None  # a file that cannot be read: parsing it below names it
    cached = _from_payload(derivedcache.read("advisories", key)) if key else None
    if cached is not None:
        return cached
    meta = jsonsafe.loads((folder / "store.json").read_text(encoding="utf-8"))
    found = [adv for path in files if path.name != "store.json" for adv in parse_file(path)]
    if key:
        records = [{"record": adv.record, "origin": adv.origin} for adv in found]
        derivedcache.write("advisories", key, {"date": meta["store_date"], "records": records})
    return meta["store_date"], tuple(found)


# the code that reads and validates the shipped store (paths inside the r1policy package)
_CODE = (
    "facts/advisories.py",
    "core/yamldoc.py",
    "core/validation.py",
    "core/jsonsafe.py",
    "core/derivedcache.py",
)


def _from_payload(payload: Any) -> tuple[str, tuple[Advisory, ...]] | None:
    """A cached store rebuilt, or None when the payload is not of the shape `_builtin` writes."""
    try:
        date = payload["date"]
        found = tuple(_advisory(item["record"], item["origin"]) for item in payload["records"])
    except (KeyError, TypeError, AttributeError, ValueError):
        return None
    if not isinstance(date, str) or not all(
        isinstance(a.id, str) and isinstance(a.origin, str) for a in found
    ):
        return None
    return date, found


@cache
def _local(folder: str, fingerprint: tuple[tuple[str, int, int], ...]) -> tuple[Advisory, ...]:
    return tuple(adv for name, _size, _mtime in fingerprint for adv in parse_file(Path(folder) / name))


def load_store(local_dir: Path | None = None) -> Store:
    """The built-in store plus the local one; a local record replaces a built-in one with the same id.
    Re-read whenever the local folder's files change (an import in the same process is seen)."""
    date, builtin = _builtin()
    local = local_dir or local_store()
    files = sorted(local.glob("*.json")) if local.is_dir() else []
    fingerprint = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    by_id = {adv.id: adv for adv in builtin}
    by_id.update({adv.id: adv for adv in _local(str(local), fingerprint)})
    return Store(tuple(by_id[k] for k in sorted(by_id)), date, local)


def severity_at_least(severity: str, threshold: str) -> bool:
    """An advisory whose severity is unknown counts as at the threshold (fail closed)."""
    return severity == "unknown" or LEVELS[severity] >= LEVELS[threshold]
