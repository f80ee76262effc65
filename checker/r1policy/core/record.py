"""Frozen records: frozen dataclasses whose methods are not generated as source text (issue 23: cold start).

`@dataclass(frozen=True)` writes `__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__` and
`__delattr__` of each class as Python source and compiles each one with `exec` when the class is created:
about 0.4 ms a class on this machine, some 25 ms of a cold `r1policy check` for the classes it imports.
`@frozen_record` makes the same class without compiling anything: `dataclasses` still collects the fields (so
`dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work as before, and mypy, through
`dataclass_transform(frozen_default=True)`, checks it as a frozen dataclass), and the six methods are
shared functions that read the class's field names, computed once when the class is made.

What an instance does is what the frozen dataclass does (`tests/test_record.py` compares each record
class with a `@dataclass(frozen=True)` twin of the same body): the same positional and keyword
arguments, defaults and `default_factory` called per instance; `__post_init__` called after the fields
are set; assigning or deleting a field raises `dataclasses.FrozenInstanceError`; equality compares the
fields with `compare=True`, in order, between instances of the same class (else `NotImplemented`); the
hash is the hash of that tuple (fields with `hash=False` left out); the repr is
`QualName(field=value, ...)` of the fields with `repr=True`. The fields are stored in the instance's
`__dict__` in field order, as `object.__setattr__` stores them. Creating, comparing and hashing an
instance cost up to a few microseconds more than the generated methods: records are for classes made a
few times per run; the per-manifest and per-finding classes of the many-manifest path stay dataclasses.

Features it does not implement are refused when the class is made (`TypeError`), never half-supported:
keyword-only fields, `InitVar`, `init=False` fields, a field whose class attribute is a data descriptor,
`__slots__`, inheritance from another dataclass, a class that writes one of the six methods itself. A
record needs a docstring: without one `dataclasses` would import `inspect` to write one
(core/inspectimport.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import attrgetter
from typing import Any, TypeVar, cast, dataclass_transform

_T = TypeVar("_T")
_Missing = dataclasses.MISSING
_INITVAR = dataclasses._FIELD_INITVAR  # type: ignore[attr-defined]
# The methods a record is given; a class that writes one of them itself is refused.
_METHODS = frozenset({"__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__"})


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
def frozen_record(cls: type[_T]) -> type[_T]:
    """A frozen dataclass made without compiling its methods (see the module docstring)."""
    for base in cls.__mro__[1:]:
        if dataclasses.is_dataclass(base):
            raise TypeError(f"@frozen_record {cls.__qualname__}: a base class is a dataclass")
    if not cls.__doc__:  # dataclasses would write one with inspect.signature (core/inspectimport.py)
        raise TypeError(f"@frozen_record {cls.__qualname__}: a record needs a docstring")
    own = sorted(_METHODS.intersection(cls.__dict__))
    if own:
        raise TypeError(f"@frozen_record {cls.__qualname__}: defines {', '.join(own)} (use @dataclass)")
    if "__slots__" in cls.__dict__:
        raise TypeError(f"@frozen_record {cls.__qualname__}: a record keeps its fields in its __dict__")
    made = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)
    fields = dataclasses.fields(cast(Any, made))
    initvars = [n for n, f in made.__dataclass_fields__.items() if f._field_type is _INITVAR]  # type: ignore[attr-defined]
    unplain = [f.name for f in fields if f.kw_only is True or not f.init or _data_descriptor(made, f.name)]
    if initvars or unplain:
        raise TypeError(f"@frozen_record {cls.__qualname__}: not plain init fields: {initvars + unplain}")
    names = tuple(f.name for f in fields)
    compared = tuple(f.name for f in fields if f.compare)
    hashed = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
    shown = tuple(f.name for f in fields if f.repr)
    methods = {
        "__init__": _init(made, fields),
        "__repr__": _repr(shown),
        "__eq__": _eq(compared),
        "__hash__": _hash(hashed),
        "__setattr__": _frozen_setattr(made, frozenset(names)),
        "__delattr__": _frozen_delattr(made, frozenset(names)),
    }
    for name, method in methods.items():
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(made, name, method)
    return made


def _data_descriptor(cls: type, name: str) -> bool:
    """Whether the class attribute `name` is a data descriptor (its store would bypass `__set__`)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return hasattr(type(klass.__dict__[name]), "__set__")
    return False


def _values(getters: tuple[str, ...]) -> Callable[[Any], tuple[Any, ...]]:
    """A function returning the named attributes of an object as a tuple, in order."""
    if len(getters) > 1:
        values: Callable[[Any], tuple[Any, ...]] = attrgetter(*getters)  # a tuple, in C
        return values
    return lambda obj: tuple([getattr(obj, name) for name in getters])


def _init(cls: type, fields: tuple[dataclasses.Field[Any], ...]) -> Callable[..., None]:
    qualname = f"{cls.__qualname__}.__init__()"
    names = tuple(f.name for f in fields)
    known = frozenset(names)
    defaults = {f.name: f.default for f in fields if f.default is not _Missing}
    factories = {f.name: f.default_factory for f in fields if f.default_factory is not _Missing}
    post_init = getattr(cls, "__post_init__", None)

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        given = kwargs
        if args:
            if len(args) > len(names):
                raise TypeError(
                    f"{qualname} takes {len(names) + 1} positional arguments but {len(args) + 1} were given"
                )
            given = dict(zip(names, args, strict=False))
            for key in kwargs:
                if key in given:
                    raise TypeError(f"{qualname} got multiple values for argument {key!r}")
            given.update(kwargs)
        if not known.issuperset(given):
            unknown = next(key for key in given if key not in known)
            raise TypeError(f"{qualname} got an unexpected keyword argument {unknown!r}")
        # The fields in their order, as the generated __init__ sets them (object.__setattr__ on a plain
        # attribute is this store: a record has no slots and no descriptor fields, see frozen_record).
        values = self.__dict__
        for name in names:
            value = given.get(name, _Missing)
            if value is _Missing:
                value = defaults.get(name, _Missing)
                if value is _Missing:
                    factory = factories.get(name)
                    if factory is None:
                        missing = [
                            n for n in names if n not in given and n not in defaults and n not in factories
                        ]
                        raise TypeError(f"{qualname} missing {len(missing)} required argument(s): {missing}")
                    value = factory()
            values[name] = value
        if post_init is not None:
            post_init(self)

    return __init__


def _repr(shown: tuple[str, ...]) -> Callable[[Any], str]:
    def __repr__(self: Any) -> str:
        inner = ", ".join([f"{name}={getattr(self, name)!r}" for name in shown])
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _eq(compared: tuple[str, ...]) -> Callable[[Any, object], Any]:
    values = _values(compared)

    def __eq__(self: Any, other: object) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    return __eq__


def _hash(hashed: tuple[str, ...]) -> Callable[[Any], int]:
    values = _values(hashed)

    def __hash__(self: Any) -> int:
        return hash(values(self))

    return __hash__


def _frozen_setattr(cls: type[Any], names: frozenset[str]) -> Callable[[Any, str, Any], None]:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    return __setattr__


def _frozen_delattr(cls: type[Any], names: frozenset[str]) -> Callable[[Any, str], None]:
    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    return __delattr__
