"""The compiled validator (jsonschema_rs) and jsonschema agree on what is valid, on every schema that
`validate_document` checks, for the documents we ship and for thousands of mutations of them; and a
document only the compiled validator refuses is still refused with file:line (fail closed)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from r1policy.core import validation
from r1policy.core.errors import InputError
from r1policy.core.yamldoc import Document

ROOT = Path(__file__).resolve().parent.parent
BASE = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())

# Values put in place of every leaf (and added as unknown keys): types, empties, look-alike digits,
# the dates and times where validators differ (year 0, leap seconds, 30 February, lower-case t/z).
TRICKY: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    -1,
    1.5,
    8.03e9,
    10**30,
    "",
    " ",
    "x",
    "٣",
    "ml.g5.2xlarge",
    [],
    {},
    ["x"],
    {"x": 1},
    "2026-11-01",
    "2026-02-30",
    "0000-01-01",
    "2024-02-29",
    "2023-02-29",
    "٢٠٢٦-١١-٠١",
    "2026-11-01T00:00:00Z",
    "1990-12-31T23:59:60Z",
    "0000-01-01T00:00:00Z",
    "2026-11-01t00:00:00z",
    "2026-11-01 00:00:00Z",
    "2026-11-01T00:00:00",
    "2026-11-01T00:00:00+01:00",
    "s3://b/k",
    "arn:aws:kms:us-east-1:111122223333:key/x",
    "111122223333",
    "1111222233334",
    "us-east-1",
    "deepseek-ai/DeepSeek-R1",
    "6a6f4aa4197940add57724a7707d069478df56b1",
    "https://x.example/a b",
)


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))


def _replace(doc: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    out = copy.deepcopy(doc)
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = new
    return out


def _mutations(doc: Any) -> Iterator[Any]:
    yield doc
    for path in _leaves(doc):
        for new in TRICKY:
            yield _replace(doc, path, new)
        parent = _get(doc, path)
        if isinstance(parent, dict):
            yield _replace(doc, path, {**parent, "unknown_field": 1})
            for key in parent:
                yield _replace(doc, path, {k: v for k, v in parent.items() if k != key})


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        doc = doc[part]
    return doc


def _documents() -> list[tuple[str, Any]]:
    docs: list[tuple[str, Any]] = [
        ("manifest-v1.schema.json", BASE["manifest"]),
        ("state-v1.schema.json", BASE["state"]),
        ("config.schema.json", {**BASE["config"], "waivers": [_waiver()]}),
        ("config.schema.json", yaml.safe_load((ROOT / "examples" / "r1policy.yaml").read_text())),
        ("state-v1.schema.json", json.loads((ROOT / "examples" / "state.json").read_text())),
    ]
    docs += [("manifest-v1.schema.json", d) for d in _example_manifests()]
    docs += [
        ("rule-metadata.schema.json", yaml.safe_load(p.read_text()))
        for p in sorted((ROOT / "policies").glob("*/rule.yaml"))[:3]
    ]
    return docs


def _waiver() -> dict[str, Any]:
    return {
        "rule": "R1-EP-001",
        "subject": "arn:aws:sagemaker:us-east-1:111122223333:endpoint/x",
        "reason": "accepted until the migration",
        "owner": "ml-platform",
        "expires": "2027-01-01",
    }


def _example_manifests() -> list[Any]:
    out = []
    for folder in ("allow", "block", "hub"):
        for doc in (
            yaml.safe_load(p.read_text()) for p in sorted((ROOT / "examples" / folder).glob("*.yaml"))
        ):
            if isinstance(doc, dict) and doc.get("kind") == "ModelDeployment":
                out.append(doc)
    return out


def _python(schema_name: str) -> Any:
    schema = json.loads((ROOT / "schemas" / schema_name).read_text())
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


# As r1policy reads them (yamldoc keeps YAML timestamps as strings): JSON values only.
DOCUMENTS = [(name, json.loads(json.dumps(doc, default=str))) for name, doc in _documents()]


@pytest.mark.parametrize("index", range(len(DOCUMENTS)))
def test_compiled_and_python_validators_agree_on_mutations(index: int) -> None:
    schema_name, doc = DOCUMENTS[index]
    python = _python(schema_name)
    fast = validation.fast_validator(schema_name)
    checked = 0
    for variant in _mutations(doc):
        assert fast.is_valid(variant) == python.is_valid(variant), (schema_name, variant)
        checked += 1
    assert checked > 50


def _jsonschema_is_date(text: str) -> bool:
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    return bool(checker.conforms(text, "date"))


def _jsonschema_is_datetime(text: str) -> bool:
    return bool(jsonschema.Draft202012Validator.FORMAT_CHECKER.conforms(text, "date-time"))


DATEISH = st.from_regex(re.compile(r"\A[0-9٣]{1,5}-[0-9]{1,2}-[0-9]{1,3}\Z"))
DATETIMEISH = st.builds(
    lambda d, t, z: f"{d}{t}{z}",
    st.from_regex(re.compile(r"\A[0-9]{4}-[01][0-9]-[0-3][0-9]\Z")),
    st.from_regex(re.compile(r"\A[Tt ][0-2][0-9]:[0-6][0-9]:[0-6][0-9](\.[0-9]{0,3})?\Z")),
    st.sampled_from(["Z", "z", "", "+00:00", "-23:59", "+24:00", "+0100", "Z\n", "Z\n\n", "ı", "\u212a"]),
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(DATEISH, st.text(max_size=12)))
def test_date_format_matches_jsonschema(text: str) -> None:
    fast = validation.fast_validator("config.schema.json")
    doc = {**BASE["config"], "waivers": [{**_waiver(), "expires": text}]}
    assert fast.is_valid(doc) == _python("config.schema.json").is_valid(doc)
    assert validation._is_date(text) == _jsonschema_is_date(text)


@settings(max_examples=150, deadline=None)
@given(st.one_of(DATETIMEISH, st.text(max_size=25)))
def test_datetime_format_matches_jsonschema(text: str) -> None:
    fast = validation.fast_validator("state-v1.schema.json")
    doc = {**BASE["state"], "captured_at": text}
    assert (
        fast.is_valid(doc) == _python("state-v1.schema.json").is_valid(doc) == _jsonschema_is_datetime(text)
    )


@pytest.mark.parametrize("bad", ["0000-01-01", "2026-02-30", "2026-1-01", "٢٠٢٦-١١-٠١"])
def test_bad_waiver_date_exits_2_naming_file_and_line(bad: str, tmp_path: Path) -> None:
    from conftest import run_cli

    config = {**BASE["config"], "waivers": [{**_waiver(), "expires": bad}]}
    (tmp_path / "r1policy.yaml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(BASE["manifest"], sort_keys=False))
    result = run_cli("check", "--static", "m.yaml", cwd=tmp_path)
    assert result.code == 2
    text = yaml.safe_dump(config, sort_keys=False, allow_unicode=True)
    line = 1 + next(i for i, t in enumerate(text.splitlines()) if t.startswith("  expires:"))
    assert f"r1policy.yaml:{line}:" in result.stderr
    assert "is not a 'date'" in result.stderr
    assert "Traceback" not in result.stderr


def test_only_the_compiled_validator_refusing_still_refuses(monkeypatch: pytest.MonkeyPatch) -> None:
    """If jsonschema accepted what the compiled validator refuses, the document is refused all the
    same, with the compiled validator's message at the field's line."""
    doc = Document(path="m.yaml", value=copy.deepcopy(BASE["manifest"]))
    doc.positions[("spec",)] = (5, 3)

    class Lenient:
        def iter_errors(self, _value: Any) -> Iterator[Any]:
            return iter(())

    monkeypatch.setattr(validation, "validator", lambda _name: Lenient())
    doc.value["spec"]["model"]["parameters"] = 8.03e9  # yaml.safe_load reads `8.03e9` as a string
    doc.value["spec"]["endpoint"]["instance_count"] = "one"
    with pytest.raises(InputError) as caught:
        validation.validate_document(doc, "manifest-v1.schema.json")
    assert str(caught.value).startswith("m.yaml:5:3: spec.endpoint.instance_count: ")
