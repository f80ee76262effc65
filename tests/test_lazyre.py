"""Issue 23 cold start: `core.lazyre.compile_on_use` compiles a pattern when it is first used and then
answers exactly as the compiled pattern does; the patterns r1policy compiles on use are the ones a
one-manifest check does not need, and every one of them compiles."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from r1policy.core import lazyre
from r1policy.core.lazyre import compile_on_use

CHECKER = Path(__file__).resolve().parent.parent / "checker"


def test_nothing_is_compiled_until_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[tuple[str, int]] = []
    real = re.compile

    def counting(pattern: str, flags: int = 0) -> re.Pattern[str]:
        compiled.append((pattern, flags))
        return real(pattern, flags)

    monkeypatch.setattr(lazyre.re, "compile", counting)
    pattern = compile_on_use(r"^(?P<a>\d+)-(\w+)$", re.ASCII)
    assert compiled == []
    assert pattern.fullmatch("12-ab") is not None
    assert pattern.match("12-ab")
    assert pattern.pattern == r"^(?P<a>\d+)-(\w+)$"
    assert compiled == [(r"^(?P<a>\d+)-(\w+)$", int(re.ASCII))]  # once, whatever is read after


@pytest.mark.parametrize(
    ("source", "flags", "text"),
    [
        (r"^(?P<ver>\d+\.\d+(\.\d+)?)-gpu$", 0, "1.2.3-gpu\n2.0-gpu"),
        (r"^kind:\s*\S+.*^apiVersion", re.M | re.S, "kind: Pod\napiVersion: v1"),
        (r"\d", re.ASCII, "a١2b"),  # ASCII: the Arabic-Indic digit is not \d
        ("[\x00-\x1f]", 0, "ok\x07bell"),
    ],
)
def test_it_answers_as_the_compiled_pattern(source: str, flags: int, text: str) -> None:
    lazy, real = compile_on_use(source, flags), re.compile(source, flags)
    for method in ("match", "fullmatch", "search"):
        got, want = getattr(lazy, method)(text), getattr(real, method)(text)
        assert (got and (got.span(), got.groups())) == (want and (want.span(), want.groups())), method
    assert lazy.findall(text) == real.findall(text)
    assert [m.span() for m in lazy.finditer(text)] == [m.span() for m in real.finditer(text)]
    assert lazy.sub("X", text) == real.sub("X", text)
    assert lazy.subn("X", text) == real.subn("X", text)
    assert lazy.split(text) == real.split(text)
    assert (lazy.flags, lazy.groups, dict(lazy.groupindex)) == (
        real.flags,
        real.groups,
        dict(real.groupindex),
    )


def test_an_invalid_pattern_fails_at_first_use() -> None:
    broken = compile_on_use("(unclosed")
    with pytest.raises(re.error):
        broken.search("x")


def test_every_pattern_r1policy_compiles_on_use_is_valid() -> None:
    """The patterns are not compiled at import any more: compile each one here (by its source text)."""
    found = 0
    for path in sorted((CHECKER / "r1policy").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if "compile_on_use(" not in text or path.name == "lazyre.py":
            continue
        parts = path.relative_to(CHECKER).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        module = __import__(name, fromlist=["_"])
        patterns = [v for v in vars(module).values() if type(v).__name__ == "_CompileOnUse"] + [
            p
            for v in vars(module).values()
            if isinstance(v, tuple)
            for item in v
            if isinstance(item, tuple)
            for p in item
            if type(p).__name__ == "_CompileOnUse"
        ]
        assert patterns, name
        for pattern in patterns:
            assert pattern.pattern  # compiles it
            found += 1
    assert found >= 30
