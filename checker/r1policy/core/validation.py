"""JSON Schema validation of position-aware documents; errors name the file, line and field."""

from __future__ import annotations

import difflib
from functools import cache
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.resources import load_schema
from r1policy.core.yamldoc import Document, JsonPath


@cache
def validator(schema_name: str) -> Any:
    import jsonschema

    schema = load_schema(schema_name)
    # Our schemas are checked against their metaschema by the test suite, not on every run.
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


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


def validate_document(doc: Document, schema_name: str) -> None:
    """Raise InputError for the first schema violation in file order."""
    errors = [_leaf(e) for e in validator(schema_name).iter_errors(doc.value)]
    if not errors:
        return
    # A misspelt required key fails twice: "'x' is a required property" on the parent and "unknown
    # field 'x_'" on the key itself. The latter points at the right line and suggests the fix.
    unknown_at = {tuple(e.absolute_path) for e in errors if e.validator == "additionalProperties"}
    errors = [e for e in errors if not (e.validator == "required" and tuple(e.absolute_path) in unknown_at)]
    described = [_describe(e, doc) for e in errors]
    described.sort(key=lambda e: (e.position.line or 0, e.position.column or 0))
    raise described[0]


def _leaf(error: Any) -> Any:
    """For oneOf/anyOf failures, report the most specific sub-error."""
    from jsonschema.exceptions import best_match

    if error.context:
        return _leaf(best_match(error.context))
    return error
