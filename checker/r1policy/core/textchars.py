"""Control and bidirectional-override characters in manifest strings.

A name, URI, image or environment value that holds a C0 control (other than tab and newline where a
field allows them), DEL, a C1 control, or a bidi embedding/override/isolate (U+202A-U+202E,
U+2066-U+2069) reads differently on a terminal or in a review than to the program that uses it
(Trojan Source, CVE-2021-42574). Such a string is bad input: exit 2 with the file and line.
"""

from __future__ import annotations

import json
from typing import Any

from r1policy.core.errors import InputError
from r1policy.core.lazyre import compile_on_use
from r1policy.core.yamldoc import Document, JsonPath

_FORBIDDEN = compile_on_use("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_FORBIDDEN_NO_NEWLINE = compile_on_use("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def bad_character(text: str, *, multiline: bool = False) -> str | None:
    """The first forbidden character of `text` as `U+XXXX`, or None."""
    match = (_FORBIDDEN if multiline else _FORBIDDEN_NO_NEWLINE).search(text)
    return f"U+{ord(match.group()):04X}" if match else None


# The C encoder escapes every C0 control (with a backslash) and keeps DEL, C1 and bidi characters
# as they are (ensure_ascii=False): a document whose JSON text has no backslash and none of those holds
# no forbidden character in any key or string. Values JSON has no type for (dates) are written with
# str(); one that cannot be written at all only sends the document to the walk.
_ENCODE = json.JSONEncoder(ensure_ascii=False, default=str).encode


def _clean(value: Any) -> bool:
    try:
        text = _ENCODE(value)
    except (TypeError, ValueError, RecursionError):
        return False
    if "\\" in text:
        return False
    # An ASCII text without DEL holds no C1 or bidi character (str.isascii is O(1)): no search then.
    return ("\x7f" not in text and text.isascii()) or _FORBIDDEN_NO_NEWLINE.search(text) is None


def refuse_control_characters(doc: Document, *, multiline: tuple[JsonPath, ...] = ()) -> None:
    """InputError at the first key or string value of `doc` holding a forbidden character. Strings
    under a path in `multiline` may hold tabs and newlines."""
    # `printable`: the reader saw every key and string of the document and each was str.isprintable()
    # (no character of Unicode's "Other" or "Separator" classes but the space: a superset of ours).
    if doc.printable or _clean(doc.value):  # else the walk finds and locates the character
        return
    _walk(doc, doc.value, (), multiline)


def _walk(doc: Document, value: Any, path: JsonPath, multiline: tuple[JsonPath, ...]) -> None:
    if isinstance(value, str):
        allow = any(path[: len(prefix)] == prefix for prefix in multiline)
        found = bad_character(value, multiline=allow)
        if found is not None:
            raise InputError(doc.position(path), f"{_dotted(path)}: control character {found} in a string")
    elif isinstance(value, dict):
        for key, item in value.items():
            found = bad_character(str(key))
            if found is not None:
                raise InputError(
                    doc.position((*path, key), key=True),
                    f"{_dotted(path)}: control character {found} in a key",
                )
            _walk(doc, item, (*path, key), multiline)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _walk(doc, item, (*path, index), multiline)


def _dotted(path: JsonPath) -> str:
    return ".".join(str(p) for p in path) or "(top level)"
