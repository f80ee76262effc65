"""The shortcuts `check` takes for speed (issue 23 item 2) decide exactly as the straightforward path:
the control-character pre-check, and the YAML builder (against PyYAML's own construction, and
libyaml's composer against the pure-Python one). The JSON report's encoding: test_json_report_fast.py."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from r1policy.core import textchars, yamldoc
from r1policy.core.errors import InputError
from r1policy.core.yamldoc import Document, load_yaml_documents

# --- control characters: one C-level encoding instead of a walk -------------------------------------

CHARS = 'a\t\n\r\x00\x1b\x7f\x85\x9f\u202a\u202e\u2066\u2069\\"é✓ '
STRINGS = st.text(alphabet=CHARS, max_size=4)
SCALARS = st.one_of(STRINGS, st.integers(), st.booleans(), st.none(), st.dates(), st.floats(allow_nan=False))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(STRINGS, inner, max_size=3)),
    max_leaves=12,
)
MULTILINE = (("spec", "container", "env"),)


def _outcome(call: Any) -> str | None:
    try:
        call()
    except InputError as exc:
        return f"{exc.position}: {exc.message}"
    return None


@settings(max_examples=1500, deadline=None)
@given(VALUES, st.booleans())
def test_the_control_character_precheck_decides_as_the_walk(value: Any, nested: bool) -> None:
    if nested:
        value = {"spec": {"container": {"env": value}, "x": value}}
    doc = Document("m.yaml", value)
    fast = _outcome(lambda: textchars.refuse_control_characters(doc, multiline=MULTILINE))
    walked = _outcome(lambda: textchars._walk(doc, doc.value, (), MULTILINE))
    assert fast == walked


# --- YAML: the builder against PyYAML's construction, libyaml against pure Python -------------------


class _PureLoader(yaml.SafeLoader):
    """The pure-Python twin of yamldoc's libyaml-based loader (same resolvers)."""


_PureLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)

KEYS = st.sampled_from(["name", "apiVersion", "x", "1", "true", "null", "a b", "é", "<<"])
PLAIN = st.one_of(
    st.text(alphabet="ab:-#'\" \t\u202e\x85", max_size=5),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
)
TREES = st.recursive(
    PLAIN,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(KEYS, inner, max_size=3)),
    max_leaves=10,
)
FRAGMENTS = st.sampled_from(
    [
        "a: 1\na: 2\n",  # duplicate key
        "a: &x {b: 1}\nc: *x\nd:\n  <<: *x\n  e: 2\n",  # anchor, alias, merge
        "a: !!python/tuple [1]\n",
        "a: !Ref x\n",
        "a: !!binary aGk=\n",
        "a: .nan\n",
        "a: 8.03e9\n",
        "a: 2026-13-45\n",
        "? [1, 2]\n: x\n",
        "a: &r [*r]\n",
        'a: "\\x01 \\u202e"\n',
        "a:\tb\n",
        "- a\n- [b, {c: d}]\n---\n- e\n",
        "a: |\n  x\n   y\n",
        "{a: 1, b: [2, 3], 'c': \"d\"}\n",
        "a: 'unterminated\n",
        "a: b: c\n",
        "0x1f: 0o17\n",
        "~: ~\n",
        "[1, 2\n",
    ]
)


def _documents(text: str) -> list[tuple[Any, dict[Any, Any], dict[Any, Any], dict[Any, Any]]] | str:
    try:
        return [(d.value, d.positions, d.key_positions, d.tags) for d in load_yaml_documents(text, "f.yaml")]
    except InputError as exc:
        return f"{exc.position}: {exc.message}"


def _texts() -> st.SearchStrategy[str]:
    dumped = TREES.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True, default_flow_style=None))
    return st.one_of(dumped, FRAGMENTS, st.lists(FRAGMENTS, min_size=2, max_size=3).map("".join))


@settings(max_examples=600, deadline=None)
@given(_texts())
def test_libyaml_and_pure_python_give_the_same_documents_positions_and_refusals(text: str) -> None:
    fast = _documents(text)
    original = yamldoc._Loader
    try:
        yamldoc._Loader = _PureLoader  # type: ignore[misc]
        pure = _documents(text)
    finally:
        yamldoc._Loader = original  # type: ignore[misc]
    if isinstance(pure, str) and "found character '\\t'" in pure:
        # Known and kept: a tab as separation space (`a:\tb`) is YAML 1.2 and libyaml (the loader
        # r1policy has always used) reads it; PyYAML's scanner refuses it.
        return
    if isinstance(fast, str) and isinstance(pure, str):
        if "invalid YAML" in fast and "invalid YAML" in pure:
            return  # a syntax error: libyaml and PyYAML word it and place its column differently
        assert fast == pure  # r1policy's own refusals (duplicate keys, tags, aliases) are the same
    else:
        assert fast == pure


@settings(max_examples=600, deadline=None)
@given(TREES)
def test_the_builder_gives_what_pyyaml_constructs(tree: Any) -> None:
    text = yaml.safe_dump(tree, allow_unicode=True)
    ours = _documents(text)
    if isinstance(ours, str):  # refused: only for what the core schema leaves out
        with pytest.raises(InputError):
            list(load_yaml_documents(text, "f.yaml"))
        return
    assert [value for value, *_ in ours] == list(yaml.load_all(text, Loader=yamldoc._Loader))


def test_each_file_is_composed_by_one_loader(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []
    original = yamldoc._Loader

    class Counting(original):  # type: ignore[misc,valid-type]
        def __init__(self, stream: str) -> None:
            made.append(stream)
            super().__init__(stream)

    monkeypatch.setattr(yamldoc, "_Loader", Counting)
    text = "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: {name: a}\n---\nb: [1, c]\n"
    assert [d.value for d in load_yaml_documents(text, "f.yaml")][1] == {"b": [1, "c"]}
    assert made == [text]  # no second loader for the constructor of plain strings and mappings
