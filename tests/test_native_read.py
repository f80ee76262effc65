"""The reading phase's shortcuts for native manifests (docs/check-speed.md, issue 23 item 2).

The event path marks a document `printable` when every key and string scalar it read is
str.isprintable(); `refuse_control_characters` then skips its encoding. These tests pin that the mark
is never set on a document holding a forbidden character, whatever YAML wrote it (escapes, block and
folded scalars, tabs, line breaks, C1 and bidi characters in keys and values)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_check_fast import MULTILINE, VALUES, _outcome

from r1policy.core import textchars, yamldoc


def test_every_forbidden_character_is_not_printable() -> None:
    """str.isprintable() is a superset test: a character it accepts is never one textchars refuses."""
    for code in range(0x110000):
        char = chr(code)
        if textchars.bad_character(char, multiline=False) is not None:
            assert not char.isprintable(), f"U+{code:04X}"


FRAGMENTS = st.sampled_from(
    [
        'a: "x\\x01y"\n',  # an escape in a double-quoted scalar
        'a: "x\\ty"\n',
        'a: "x\\u202ey"\n',
        'a: "\\x85"\n',
        "a: |\n  x\n  y\n",  # a literal block: a line break
        "a: >\n  x\n\n  y\n",  # folded with an empty line: a line break
        "a: x\n\n  y\n",  # a plain scalar over lines with an empty line
        "a: 'x\n\n  y'\n",
        "a: x\ty\n",  # a tab inside a plain scalar
        "a: \u202ex\n",
        "a: x\u2069\n",
        "\u202ek: v\n",  # in a key
        '"k\\x1b": v\n',
        'a: [x, "\\x7f"]\n',
        "a: \u00a0x\n",  # a no-break space: not printable, not forbidden
        "a: plain text\nb: [1, 2.5, true, null, 2026-01-02]\n",
        "spec:\n  container:\n    env:\n      A: |\n        x\n        y\n",
    ]
)


def _dumped(style: bool | None) -> st.SearchStrategy[str]:
    return VALUES.map(lambda tree: yaml.safe_dump(tree, allow_unicode=True, default_flow_style=style))


@settings(max_examples=1200, deadline=None)
@given(
    st.one_of(
        _dumped(None),
        _dumped(False),
        _dumped(True),
        FRAGMENTS,
        st.lists(FRAGMENTS, min_size=2, max_size=3).map("".join),
        VALUES.map(lambda tree: yaml.safe_dump({"spec": {"container": {"env": tree}, "x": tree}})),
    )
)
def test_a_printable_document_holds_no_forbidden_character(text: str) -> None:
    docs = yamldoc.event_documents(text, "m.yaml")
    if docs is None:  # handed to the composing path, which never marks a document printable
        return
    for doc in docs:
        walked = _outcome(lambda doc=doc: textchars._walk(doc, doc.value, (), MULTILINE))
        if doc.printable:
            assert walked is None
            assert _all_printable(doc.value)
        fast = _outcome(lambda doc=doc: textchars.refuse_control_characters(doc, multiline=MULTILINE))
        assert fast == walked


def _all_printable(value: Any) -> bool:
    if isinstance(value, str):
        return value.isprintable()
    if isinstance(value, dict):
        return all(str(k).isprintable() and _all_printable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_all_printable(v) for v in value)
    return True


def test_the_printable_mark_is_set_only_by_the_event_path() -> None:
    clean = yamldoc.event_documents("a: x\nb: [y, 1]\n", "m.yaml")
    assert clean is not None and clean[0].printable
    assert not yamldoc.event_documents('a: "x\\ty"\n', "m.yaml")[0].printable  # type: ignore[index]
    assert not yamldoc.event_documents("a: |\n  x\n  y\n", "m.yaml")[0].printable  # type: ignore[index]
    composed = list(yamldoc._composed("a: x\n", "m.yaml", None))
    assert not composed[0].printable
    assert not yamldoc.Document("m.yaml", {"a": "x"}).printable


# --- the native reader's locations --------------------------------------------------------------

TGI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu"
NATIVE = f"""\
apiVersion: r1policy/v1
kind: ModelDeployment
metadata: {{name: r1, owner: ml, stage: dev}}
spec:
  model:
    s3: {{uri: "s3://acme-llm-weights/r1/"}}
    parameters: 8.03e9
  container:
    image: {TGI}
    env:
      SM_NUM_GPUS: "1"
      HF_MODEL_ID: deepseek-ai/DeepSeek-R1-Distill-Llama-8B
      HF_MODEL_REVISION: 0123456789abcdef0123456789abcdef01234567
      HF_MODEL_TRUST_REMOTE_CODE: "true"
  endpoint:
    name: r1
    region: us-east-1
    instance_type: ml.g5.2xlarge
"""


def _native(text: str) -> Any:
    from r1policy.sources.native import load_native

    docs = yamldoc.event_documents(text, "m.yaml")
    assert docs is not None
    return load_native(docs[0])


def test_settings_the_container_environment_decides_point_at_their_variables() -> None:
    from r1policy.core.findings import Location
    from r1policy.core.model import (
        FIELD_ASYNC,
        FIELD_ENDPOINT,
        FIELD_MODEL,
        FIELD_REPO,
        FIELD_REVISION,
        FIELD_S3_URI,
        FIELD_TRUST_REMOTE_CODE,
    )

    dep = _native(NATIVE)
    assert dep.model.repo == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert dep.model.trust_remote_code is True
    at = {name: (where.line, where.column) for name, where in dep.locations.items()}
    for name in (FIELD_MODEL, FIELD_REPO, FIELD_S3_URI):
        assert at[name] == (12, 20), name  # HF_MODEL_ID's value
    assert at[FIELD_REVISION] == (13, 26)
    assert at[FIELD_TRUST_REMOTE_CODE] == (14, 35)
    assert at[FIELD_ENDPOINT] == at[FIELD_ASYNC] == (16, 5)  # absent: the endpoint's own
    assert dep.locations[FIELD_ASYNC] is dep.locations[FIELD_ENDPOINT]  # one Location per path
    assert dep.origin == Location("m.yaml", 1, 1)


def test_the_env_locations_mapping_is_a_mapping_of_the_env() -> None:
    from r1policy.core.findings import Location
    from r1policy.sources.native import _EnvLocations, _locator

    doc = yamldoc.event_documents(NATIVE, "m.yaml")[0]  # type: ignore[index]
    env = {k: str(v) for k, v in doc.value["spec"]["container"]["env"].items()}
    where = _EnvLocations(_locator(doc), env)
    assert list(where) == list(env) and len(where) == 4
    assert where["SM_NUM_GPUS"] == Location("m.yaml", 11, 20)  # the value's position, as before
    assert where.get("HF_TOKEN") is None and "HF_TOKEN" not in where
    positions = doc.positions
    assert dict(where) == {k: Location("m.yaml", *positions[("spec", "container", "env", k)]) for k in env}


def test_an_image_family_is_decided_once_per_image_and_as_before() -> None:
    from r1policy.sources import servers

    image = "ghcr.io/huggingface/text-generation-inference:3.0"
    servers._FAMILIES.clear()
    assert servers.family_of(image) is servers.Family.TGI
    assert {image: servers.Family.TGI} == servers._FAMILIES
    assert servers.family_of(image) is servers._family_of(image)
    assert servers.family_of(None) is servers.family_of("") is servers.Family.UNKNOWN
