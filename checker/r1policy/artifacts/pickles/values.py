"""What the static interpreter puts on its stack instead of real objects."""

from __future__ import annotations

from dataclasses import dataclass

from r1policy.artifacts.pickles.model import GlobalRef


class Opaque:
    """A value the analysis does not model (a float array's buffer, a set, a persistent object)."""

    __slots__ = ("what",)

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"<{self.what}>"


@dataclass(slots=True)
class LongText:
    """A string operand longer than the kept prefix."""

    prefix: str
    length: int


@dataclass(slots=True)
class Call:
    """The result of calling (REDUCE/NEWOBJ/OBJ/INST) an imported global."""

    func: GlobalRef
    args: object
    offset: int
    state: object = None


@dataclass(slots=True)
class DictValue:
    """A dict (up to the kept-items limit): key/value pairs in insertion order."""

    items: list[tuple[object, object]]

    def get(self, key: str) -> object:
        for k, v in self.items:
            if k == key:
                return v
        return None


_BUILTINS = (list, tuple, DictValue, str, bytes, int, float, bool, LongText)


def known_builtin(value: object) -> bool:
    """A value whose exact built-in type the model knows (no append/add/__setstate__/__dict__)."""
    return value is None or type(value) in _BUILTINS


OPAQUE = Opaque("value")
PERSISTENT = Opaque("persistent object")


def describe(value: object) -> str:
    """A short description for messages (never the whole value)."""
    if isinstance(value, GlobalRef):
        return f"the global {value.dotted}"
    if isinstance(value, Call):
        return f"the result of calling {value.func.dotted} (byte {value.offset})"
    if isinstance(value, str):
        return f"the string {value[:80]!r}"
    if isinstance(value, LongText):
        return f"a {value.length}-character string starting {value.prefix[:40]!r}"
    if isinstance(value, bytes):
        return f"the bytes {value[:40]!r}"
    if isinstance(value, bool | int | float) or value is None:
        return f"the {type(value).__name__} {value!r}"[:100]
    if isinstance(value, list):
        return "a list"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, DictValue):
        return "a dict"
    return f"an unmodelled value {value!r}"
