"""Issue 23 cold start: `core.record.frozen_record` makes a class that behaves as `@dataclass(frozen=True)`
with the same body, without compiling code (core/record.py).

Each behaviour is compared with the real frozen dataclass: construction (positional, keyword, defaults,
factories, the errors of a wrong call), `__post_init__`, frozenness, equality, hash, repr, and the
`dataclasses` helpers. Every record class of r1policy is then compared with a frozen-dataclass twin
built from its own fields, and what a record cannot do is refused when the class is made."""

from __future__ import annotations

import copy
import dataclasses
import importlib
import re
from dataclasses import InitVar, dataclass, field
from pathlib import Path
from typing import Any

import pytest

from r1policy.core.record import frozen_record

ROOT = Path(__file__).resolve().parent.parent
CHECKER = ROOT / "checker"


def _body() -> type:
    class Sample:
        """A class body used twice: once as a frozen dataclass, once as a record."""

        name: str
        size: int
        tags: tuple[str, ...] = ()
        notes: dict[str, int] = field(default_factory=dict, compare=False)
        secret: str = field(default="s", repr=False)
        weight: float = field(default=1.0, hash=False)

        def label(self) -> str:
            return f"{self.name}:{self.size}"

    return Sample


Twin = dataclass(frozen=True)(_body())
Record = frozen_record(_body())

CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    (("a", 1), {}),
    (("a", 1, ("x",)), {"notes": {"k": 1}}),
    ((), {"size": 2, "name": "b", "weight": 2.5}),
    (("a", 1, (), {}, "t", 3.0), {}),
]
BAD_CALLS: list[tuple[tuple[Any, ...], dict[str, Any]]] = [
    ((), {}),  # missing both
    (("a",), {}),  # missing one
    (("a", 1, (), {}, "t", 3.0, "extra"), {}),  # too many
    (("a", 1), {"name": "b"}),  # twice
    (("a", 1), {"colour": "red"}),  # unknown
]


def _same(record: Any, twin: Any) -> None:
    assert repr(record).replace("Sample", "X") == repr(twin).replace("Sample", "X")
    assert dataclasses.asdict(record) == dataclasses.asdict(twin)
    assert dataclasses.astuple(record) == dataclasses.astuple(twin)


@pytest.mark.parametrize(("args", "kwargs"), CALLS)
def test_construction_repr_and_helpers_match_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    record, twin = Record(*args, **kwargs), Twin(*args, **kwargs)
    _same(record, twin)
    assert record.label() == twin.label()
    assert dataclasses.is_dataclass(record)
    assert [f.name for f in dataclasses.fields(record)] == [f.name for f in dataclasses.fields(twin)]
    assert Record.__match_args__ == Twin.__match_args__
    _same(dataclasses.replace(record, size=9), dataclasses.replace(twin, size=9))
    assert copy.deepcopy(record) == record


def test_default_factory_is_called_per_instance() -> None:
    one, two = Record("a", 1), Record("a", 1)
    assert one.notes == {} and one.notes is not two.notes


@pytest.mark.parametrize(("args", "kwargs"), BAD_CALLS)
def test_a_wrong_call_is_a_type_error_as_for_the_dataclass(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    with pytest.raises(TypeError):
        Twin(*args, **kwargs)
    with pytest.raises(TypeError):
        Record(*args, **kwargs)


def test_equality_and_hash_follow_compare_and_hash_flags() -> None:
    pairs = [
        (("a", 1), ("a", 1)),
        (("a", 1), ("a", 2)),
        (("a", 1, (), {"n": 1}), ("a", 1, (), {"n": 2})),  # notes: compare=False
        (("a", 1, (), {}, "s", 1.0), ("a", 1, (), {}, "s", 2.0)),  # weight: compared, not hashed
        (("a", 1, (), {}, "s"), ("a", 1, (), {}, "t")),
    ]
    for left, right in pairs:
        assert (Record(*left) == Record(*right)) is (Twin(*left) == Twin(*right)), (left, right)
        assert (Record(*left) != Record(*right)) is (Twin(*left) != Twin(*right)), (left, right)
        same_hash = hash(Record(*left)) == hash(Record(*right))
        assert same_hash is (hash(Twin(*left)) == hash(Twin(*right))), (left, right)
    assert hash(Record("a", 1)) == hash(Twin("a", 1))
    assert Record("a", 1).__eq__(Twin("a", 1)) is NotImplemented
    assert Record("a", 1) != ("a", 1)
    assert {Record("a", 1), Record("a", 1, notes={"n": 1})} == {Record("a", 1)}


def test_a_record_is_frozen() -> None:
    record = Record("a", 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.name = "b"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        del record.name  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.other = 1  # type: ignore[attr-defined]
    assert record.name == "a"


def test_post_init_runs_after_the_fields_are_set() -> None:
    seen: list[Any] = []

    @frozen_record
    class Checked:
        """Validated in __post_init__."""

        value: int

        def __post_init__(self) -> None:
            seen.append(self.value)
            if self.value < 0:
                raise ValueError("negative")

    assert Checked(3).value == 3 and seen == [3]
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_what_a_record_cannot_do_is_refused_when_the_class_is_made() -> None:
    def kw_only() -> None:
        @frozen_record
        class A:
            """."""

            x: int = field(kw_only=True)

    def init_var() -> None:
        @frozen_record
        class B:
            """."""

            x: InitVar[int]

    def no_init() -> None:
        @frozen_record
        class C:
            """."""

            x: int = field(init=False, default=0)

    def dataclass_base() -> None:
        @dataclass(frozen=True)
        class Base:
            """."""

            x: int

        @frozen_record
        class D(Base):
            """."""

    def own_eq() -> None:
        @frozen_record
        class E:
            """."""

            x: int

            def __eq__(self, other: object) -> bool:
                return True

    def no_docstring() -> None:
        @frozen_record
        class F:
            x: int

    def slots() -> None:
        @frozen_record
        class G:
            """."""

            __slots__ = ("x",)
            x: int

    class Descriptor:
        def __get__(self, obj: object, owner: type | None = None) -> int:
            return 0

        def __set__(self, obj: object, value: int) -> None:
            pass

    def descriptor_field() -> None:
        @frozen_record
        class H:
            """."""

            x: int = Descriptor()  # type: ignore[assignment]

    for make in (kw_only, init_var, no_init, dataclass_base, own_eq, no_docstring, slots, descriptor_field):
        with pytest.raises(TypeError, match="@frozen_record"):
            make()


def _record_classes() -> list[type]:
    """Every class of r1policy made by @frozen_record (modules found by grep, then imported)."""
    found: list[type] = []
    for path in sorted((CHECKER / "r1policy").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if not re.search(r"^@frozen_record$", text, re.M):
            continue
        parts = path.relative_to(CHECKER).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = importlib.import_module(name)
        classes = [
            v
            for v in vars(module).values()
            if isinstance(v, type)
            and v.__module__ == name
            and getattr(v.__eq__, "__module__", None) == "r1policy.core.record"
        ]
        assert len(classes) == text.count("\n@frozen_record\n"), name
        found.extend(classes)
    return found


RECORD_CLASSES = _record_classes()


def test_r1policy_has_record_classes() -> None:
    names = {c.__qualname__ for c in RECORD_CLASSES}
    assert {"Config", "RuleMeta", "CompiledPolicy", "StateSnapshot", "Position"} <= names


@pytest.mark.parametrize("cls", RECORD_CLASSES, ids=lambda c: f"{c.__module__}.{c.__qualname__}")
def test_each_r1policy_record_behaves_as_its_frozen_dataclass_twin(cls: type) -> None:
    specs = [
        (
            f.name,
            f.type,
            field(
                default=f.default,
                default_factory=f.default_factory,
                repr=f.repr,
                hash=f.hash,
                compare=f.compare,
            ),
        )
        for f in dataclasses.fields(cls)
    ]
    twin: Any = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
    twin.__qualname__ = cls.__qualname__
    assert not hasattr(cls, "__post_init__")  # the twin would not run it
    values = [f"v{i}" for i in range(len(specs))]
    record, same = cls(*values), twin(*values)
    assert repr(record) == repr(same)
    assert hash(record) == hash(same)
    assert record == cls(*values)
    for i in range(len(values)):
        other = [*values[:i], "changed", *values[i + 1 :]]
        assert (record == cls(*other)) is (same == twin(*other)), specs[i][0]
    assert repr(cls(**dict(zip([s[0] for s in specs], values, strict=True)))) == repr(same)
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(record, specs[0][0], "x")
