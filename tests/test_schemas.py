"""Every shipped JSON Schema is itself valid, and the Cedar schema parses."""

from __future__ import annotations

import json

import cedarpy
import jsonschema
import pytest

from conftest import SCHEMAS

JSON_SCHEMAS = sorted(SCHEMAS.glob("*.schema.json"))


@pytest.mark.parametrize("path", JSON_SCHEMAS, ids=[p.name for p in JSON_SCHEMAS])
def test_json_schema_is_valid(path) -> None:  # type: ignore[no-untyped-def]
    schema = json.loads(path.read_text())
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_expected_schemas_are_shipped() -> None:
    names = {p.name for p in JSON_SCHEMAS}
    assert {
        "manifest-v1.schema.json",
        "config.schema.json",
        "state-v1.schema.json",
        "report-v1.schema.json",
        "rule-metadata.schema.json",
    } <= names


def test_cedar_schema_parses() -> None:
    cedarpy.Schema.from_str((SCHEMAS / "r1policy.cedarschema").read_text())


def test_example_state_validates(cli) -> None:  # type: ignore[no-untyped-def]
    from conftest import EXAMPLES
    from r1policy.project.state import load_state

    state = load_state(EXAMPLES / "state.json")
    assert {"acme-llm-weights", "acme-scratch"} <= set(state.buckets)
