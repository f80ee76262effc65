"""core/yamlevents.py builds documents from libyaml's events: whenever it returns documents they are
exactly what the composing path builds (values, value and key positions, no tags), and whatever it
does not read (anchors, aliases, tags, merge keys, duplicate or non-string keys, bad scalars, too many
values, deep nesting, syntax errors) goes to the composing path, which decides as before."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_check_fast import FRAGMENTS, TREES

from r1policy.core import yamldoc
from r1policy.core.errors import InputError

Built = list[tuple[Any, dict[Any, Any], dict[Any, Any], dict[Any, Any]]]


def _shape(docs: list[yamldoc.Document]) -> Built:
    return [(d.value, d.positions, d.key_positions, d.tags) for d in docs]


def _composed(text: str) -> Built | str:
    try:
        return _shape(list(yamldoc._composed(text, "f.yaml", None)))
    except InputError as exc:
        return f"{exc.position}: {exc.message}"


def _same_as_composed(text: str) -> bool:
    """Whether the event path read `text` (else it handed it over); when it did, its documents are
    the composing path's, types included (1 is not 1.0 nor True), and its values PyYAML's."""
    fast = yamldoc.event_documents(text, "f.yaml")
    if fast is None:
        return False
    composed = _composed(text)
    assert not isinstance(composed, str), composed
    assert _shape(fast) == composed
    assert repr(_shape(fast)) == repr(composed)
    pyyaml = list(yaml.load_all(text, Loader=yamldoc._Loader))  # PyYAML's own construction
    assert repr([d.value for d in fast]) == repr(pyyaml)
    return True


def _dumped(style: bool | None) -> st.SearchStrategy[str]:
    return TREES.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True, default_flow_style=style))


@settings(max_examples=800, deadline=None)
@given(
    st.one_of(
        _dumped(None),
        _dumped(False),
        _dumped(True),
        TREES.map(lambda tree: yaml.safe_dump_all([tree, tree], allow_unicode=True)),
        FRAGMENTS,
        st.lists(FRAGMENTS, min_size=2, max_size=3).map("".join),
    )
)
def test_the_event_path_builds_what_the_composing_path_builds(text: str) -> None:
    _same_as_composed(text)


@settings(max_examples=300, deadline=None)
@given(TREES)
def test_the_event_path_reads_documents_without_special_keys(tree: Any) -> None:
    text = yaml.safe_dump({"spec": tree, "name": "x"}, allow_unicode=True)
    if "<<" in text or "!!" in text or "&" in text:
        return  # a merge key or a tag: handed over (the next test)
    if yamldoc.event_documents(text, "f.yaml") is None:
        assert isinstance(_composed(text), str) or _non_string_key(tree) or _non_finite_or_tagged(text)
    else:
        assert _same_as_composed(text)


def _non_string_key(tree: Any) -> bool:
    if isinstance(tree, dict):
        return any(k in ("1", "true", "null") for k in tree) or any(_non_string_key(v) for v in tree.values())
    if isinstance(tree, list):
        return any(_non_string_key(v) for v in tree)
    return False


def _non_finite_or_tagged(text: str) -> bool:
    return ".nan" in text or ".inf" in text


MANIFEST = (
    "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata:\n  name: a  # comment\n  owner: 'ml'\n"
    "spec:\n  model:\n    parameters: 8.03e9\n    trust_remote_code: false\n    released: 2026-01-02\n"
    '    s3: {uri: "s3://b/k/"}\n  list:\n  - 1\n  - - x\n    - {y: ~}\n  - ""\n'
    "  text: |\n    two\n    lines\n"
)


@pytest.mark.parametrize(
    "text",
    [
        MANIFEST,
        MANIFEST + "---\n" + MANIFEST,
        '{"a": [1, 2.5, true, null, "x"], "b": {"c": "d"}}',
        "",
        "# only a comment\n",
        "---\n",
        "plain scalar\n",
        "- 0x1f\n- 0o17\n- 1_000\n- +.5\n- 2026-01-02T03:04:05Z\n",
        "a: yes\nb: No\nc: ''\nd:\n",
    ],
)
def test_plain_manifests_are_read_from_events(text: str) -> None:
    assert _same_as_composed(text)


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\na: 2\n",  # duplicate key
        "a: &x 1\nb: 2\n",  # anchor
        "a: [1]\nb: *x\n",  # alias (undefined: the composing path words the refusal)
        "a: {b: 1}\nc:\n  <<: {d: 2}\n",  # merge key
        "a: !Ref x\n",  # a CloudFormation tag
        "a: !!str 1\n",  # even a standard tag
        "! a\n",  # the non-specific tag
        "1: a\n",  # a key that is not a string
        "[1]: a\n",
        "a: .nan\n",
        "a: -.inf\n",
        "a: 1e400\n",  # 8.03e9-style float that overflows to inf
        "a: 2026-13-45\n",  # an impossible date
        "a: [1, 2\n",  # syntax error
        "a: b: c\n",
        "a: 1\n---\nb: [\n",  # a syntax error in a later document
        "[" * 70 + "]" * 70 + "\n",  # deeper than the event path goes
    ],
)
def test_what_the_event_path_does_not_read_goes_to_the_composing_path(text: str) -> None:
    assert yamldoc.event_documents(text, "f.yaml") is None
    via_loader = _loaded(text)
    assert via_loader == _composed(text)


def _loaded(text: str) -> Built | str:
    try:
        return _shape(list(yamldoc.load_yaml_documents(text, "f.yaml")))
    except InputError as exc:
        return f"{exc.position}: {exc.message}"


def test_the_value_limit_holds_on_the_event_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamldoc, "MAX_NODES", 5)
    text = "a: [1, 2, 3, 4, 5]\n"
    assert yamldoc.event_documents(text, "f.yaml") is None
    with pytest.raises(InputError, match="more than 5 values"):
        list(yamldoc.load_yaml_documents(text, "f.yaml"))
    assert yamldoc.event_documents("a: [1, 2, 3]\n", "f.yaml") is not None


@pytest.mark.parametrize(
    ("text", "via_events"),
    [
        ("a: !Ref x\n", False),
        ("!Sub x\n", False),
        ("a: [!GetAtt b.Arn]\n", False),
        ("a: {b: !Ref c}\n", False),
        ("a: 'hello!'\nb: c!d\n", True),  # a `!` inside words: no tag
        ("a: 1\n", True),
    ],
)
def test_a_text_that_seems_to_hold_tags_goes_straight_to_the_composing_path(
    text: str, via_events: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from r1policy.sources.cloudformation.intrinsics import cfn_tag_handler

    asked: list[str] = []
    original = yamldoc.event_documents

    def recording(text: str, display: str) -> list[yamldoc.Document] | None:
        asked.append(text)
        return original(text, display)

    monkeypatch.setattr(yamldoc, "event_documents", recording)
    docs = list(yamldoc.load_yaml_documents(text, "f.yaml", tag_handler=cfn_tag_handler))
    assert bool(asked) == via_events
    assert _shape(docs) == _shape(list(yamldoc._composed(text, "f.yaml", cfn_tag_handler)))


@st.composite
def _mutated(draw: st.DrawFn) -> str:
    """The manifest with a few characters inserted, replaced or deleted (YAML's indicators, spaces,
    line breaks, quotes, digits): mostly odd or broken YAML."""
    text = MANIFEST
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.text(alphabet=" \n\t-:?,[]{}#&*!|>'\"%@`0123456789.e~\\x", min_size=0, max_size=3))
        cut = draw(st.integers(0, 2))
        text = text[:at] + piece + text[at + cut :]
    return text


@settings(max_examples=1500, deadline=None)
@given(_mutated())
def test_mutated_manifests_are_read_as_the_composing_path_reads_them(text: str) -> None:
    _same_as_composed(text)
    assert _loaded(text) == _composed(text)
