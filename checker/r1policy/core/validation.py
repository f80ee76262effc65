"""JSON Schema validation of position-aware documents; errors name the file, line and field.

A document is first checked by a compiled validator (`jsonschema_rs`, built once per schema). Only
when it says invalid is the pure-Python `jsonschema` imported, to word the error exactly as before
(the first violation in file order, with a did-you-mean hint). The two must agree on what is valid:
the formats our schemas use (`date`, `date-time`) are checked by the same Python functions in both
(see `_FORMATS`), and tests/test_validation_fast.py compares them on every schema and document we
ship. If they ever disagree the document is refused (fail closed), never let through.
"""

from __future__ import annotations

import calendar
import importlib
import importlib.util
import re
import sys
import types
from datetime import date
from functools import cache
from typing import Any

from r1policy.core.deferimport import import_deferring
from r1policy.core.errors import InputError
from r1policy.core.lazyre import compile_on_use
from r1policy.core.resources import load_schema
from r1policy.core.yamldoc import Document, JsonPath


def _defer_rfc3987_syntax() -> None:
    """Import ``rfc3987_syntax`` only when an ``iri`` / ``iri-reference`` value is checked.

    jsonschema imports it at its own import (when installed, e.g. through jsonschema[format-nongpl])
    to register those two format checks, and it compiles about 40 Lark grammars there: seconds of every
    cold run that validates anything, for formats no r1policy schema uses. A stand-in module keeps the
    checks registered and loads the real module on their first use (same results, paid only then).
    """
    if "rfc3987_syntax" in sys.modules or importlib.util.find_spec("rfc3987_syntax") is None:
        return
    stand_in = types.ModuleType("rfc3987_syntax")

    def is_valid_syntax(rule: str, value: str) -> bool:
        if sys.modules.get("rfc3987_syntax") is stand_in:
            del sys.modules["rfc3987_syntax"]
        real: Any = importlib.import_module("rfc3987_syntax")
        return bool(real.is_valid_syntax(rule, value))

    stand_in.is_valid_syntax = is_valid_syntax  # type: ignore[attr-defined]
    sys.modules["rfc3987_syntax"] = stand_in


# jsonschema's own `date` check (jsonschema._format.is_date): ASCII digits, then date.fromisoformat.
_RE_DATE = compile_on_use(r"^\d{4}-\d{2}-\d{2}$", re.ASCII)


def _is_date(instance: str) -> bool:
    try:
        return bool(_RE_DATE.fullmatch(instance) and date.fromisoformat(instance))
    except ValueError:
        return False


# RFC 3339 date-time as jsonschema checks it (with rfc3339-validator, after upper-casing): hours
# 00-23, no leap second, offset hours 00-23, year 0 refused, the day within its month; like that
# check, a single trailing newline is tolerated. Written out here so that `check` does not import
# rfc3339-validator and six; tests/test_validation_fast.py compares the two on generated strings.
_RE_DATETIME = compile_on_use(
    r"(\d{4})-(0[1-9]|1[0-2])-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d(?:\.\d+)?"
    r"(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)\n?",
    re.ASCII,
)


def _is_datetime(instance: str) -> bool:
    match = _RE_DATETIME.fullmatch(instance.upper())
    if match is None:
        return False
    year, month, day = (int(g) for g in match.groups())
    return year != 0 and 1 <= day <= calendar.monthrange(year, month)[1]


# The Python format checks jsonschema applies to the formats our schemas use (imported when used).
_FORMATS: dict[str, Any] = {"date": _is_date, "date-time": _is_datetime}


@cache
def validator(schema_name: str) -> Any:
    """The pure-Python jsonschema validator (imported only when needed: it costs ~0.1 s to import)."""
    if "jsonschema" not in sys.modules:
        _defer_rfc3987_syntax()
    import jsonschema

    schema = load_schema(schema_name)
    # Our schemas are checked against their metaschema by the test suite, not on every run.
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@cache
def fast_validator(schema_name: str) -> Any:
    """The compiled validator for `schema_name`, with jsonschema's checks for our formats."""
    # Without socket and random until used: its email.utils imports them for functions never called here.
    jsonschema_rs = import_deferring("jsonschema_rs", ("socket", "random"))

    return jsonschema_rs.validator_for(
        load_schema(schema_name), formats=_FORMATS, validate_formats=True, offline=True
    )


def _dotted(path: JsonPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _describe(error: Any, doc: Document) -> InputError:
    path: JsonPath = tuple(error.absolute_path)
    where = _dotted(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = list(error.schema.get("properties", {}))
        extras = [k for k in error.instance if k not in allowed]
        key = extras[0] if extras else ""
        import difflib  # only to word an unknown field

        hint = difflib.get_close_matches(key, allowed, n=1)
        suggestion = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(sorted(allowed))})"
        field = f"{where}.{key}" if path else key
        return InputError(doc.position((*path, key), key=True), f"unknown field {field!r}{suggestion}")
    if error.validator == "required":
        return InputError(doc.position(path, key=True), f"{where}: {error.message}")
    if error.validator == "type":
        expected = error.validator_value
        return InputError(
            doc.position(path), f"{where}: expected {expected}, got {type(error.instance).__name__}"
        )
    return InputError(doc.position(path), f"{where}: {error.message}")


def _fast_says_valid(value: Any, schema_name: str) -> bool:
    try:
        return bool(fast_validator(schema_name).is_valid(value))
    except (ValueError, TypeError):  # a value JSON has no type for: let jsonschema word it
        return False


def validate_document(doc: Document, schema_name: str) -> None:
    """Raise InputError for the first schema violation in file order."""
    if _fast_says_valid(doc.value, schema_name):
        return
    errors = [_leaf(e) for e in validator(schema_name).iter_errors(doc.value)]
    if not errors:
        raise _fast_error(doc, schema_name)
    # A misspelt required key fails twice: "'x' is a required property" on the parent and "unknown
    # field 'x_'" on the key itself. The latter points at the right line and suggests the fix.
    unknown_at = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    errors = [e for e in errors if not (e.validator == "required" and tuple(e.absolute_path) in unknown_at)]
    described = [_describe(e, doc) for e in errors]
    described.sort(key=lambda e: (e.position.line or 0, e.position.column or 0))
    raise described[0]


def _fast_error(doc: Document, schema_name: str) -> InputError:
    """The compiled validator refused what jsonschema accepts: refuse it (fail closed), in its words."""
    try:
        first = next(iter(fast_validator(schema_name).iter_errors(doc.value)), None)
    except (ValueError, TypeError) as exc:
        return InputError(doc.position(()), f"(top level): cannot be validated: {exc}")
    if first is None:  # pragma: no cover - is_valid and iter_errors disagree
        return InputError(doc.position(()), "(top level): does not match its schema")
    path: JsonPath = tuple(first.instance_path)
    return InputError(doc.position(path), f"{_dotted(path)}: {first.message}")


def _leaf(error: Any) -> Any:
    """For oneOf/anyOf failures, report the most specific sub-error."""
    from jsonschema.exceptions import best_match

    if error.context:
        return _leaf(best_match(error.context))
    return error
