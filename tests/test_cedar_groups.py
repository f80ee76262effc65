"""One Cedar request per group of subjects the policy set cannot tell apart (engine/cedarshape.py).

Differential: on subjects taken from real runs (the examples and the generated benchmark manifests)
and recombined by Hypothesis, the grouped batch gives every subject exactly the verdict that asking
Cedar about it alone gives. And the analysis gives up, or keeps the attribute, wherever a policy could
tell subjects apart: names read by a custom policy, entity literals, the resource used as a value.
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.golden.cases import write_generated

from r1policy.cli import main
from r1policy.engine import cedarbatch, cedarshape, evaluate
from r1policy.engine.cedarshape import shape_of
from r1policy.rules.registry import RuleRegistry, load_registry

ROOT = Path(__file__).resolve().parent.parent

Captured = tuple[RuleRegistry, dict[str, Any], list[cedarbatch.CedarSubject]]


def _capture(monkeypatch: pytest.MonkeyPatch, tmp: Path, *args: str | Path) -> list[Captured]:
    seen: list[Captured] = []
    real = evaluate.run_batch

    def spy(registry: RuleRegistry, context: dict[str, Any], subjects: list[Any], answers: Any = None) -> Any:
        seen.append((registry, context, copy.deepcopy(subjects)))
        return real(registry, context, subjects, answers)

    monkeypatch.setattr(evaluate, "run_batch", spy)
    code = main(["check", "--format", "json", "--output", str(tmp / "r.json"), *map(str, args)])
    assert code in (0, 1)
    return seen


@functools.cache
def _world() -> Captured:
    """Registry, context and every deployment and bucket subject of the examples and 35 generated
    manifests, captured from real `check` runs."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")  # Hub-sourced manifests: Hub rules are `error`, offline
        folder = Path(tmp) / "generated"
        folder.mkdir()
        write_generated(folder)
        seen = _capture(
            mp, Path(tmp), "--config", folder / "r1policy.yaml", "--state", folder / "state.yaml", folder
        )
        examples = ROOT / "examples"
        seen += _capture(
            mp,
            Path(tmp),
            "--config",
            examples / "r1policy.yaml",
            "--state",
            examples / "state.json",
            examples / "allow",
            examples / "block",
        )
    registry, context, _first = seen[0]
    unique: dict[tuple[str, str], cedarbatch.CedarSubject] = {}
    for _r, seen_context, more in seen:
        if seen_context == context:  # another context would decide otherwise: not comparable
            for subject in more:
                unique.setdefault((subject[0], subject[3]), subject)
    return registry, context, list(unique.values())


def _alone(registry: RuleRegistry, context: dict[str, Any], subjects: list[Any]) -> Any:
    """Every subject asked about in its own request: what the grouping must agree with."""
    answers = cedarbatch._ask(registry, context, subjects)
    return _same_order({(s[0], s[3]): answer for s, answer in zip(subjects, answers, strict=True)})


def _grouped(registry: RuleRegistry, context: dict[str, Any], subjects: list[Any]) -> Any:
    return _same_order(cedarbatch.run_batch(registry, context, subjects))


def _same_order(verdicts: cedarbatch.Verdicts) -> Any:
    """Cedar lists the policies that decided in no fixed order (the findings are sorted later)."""
    return {key: ({r: sorted(v) for r, v in m.items()}, e) for key, (m, e) in verdicts.items()}


def test_builtin_policies_have_a_shape_without_names() -> None:
    registry, _context, subjects = _world()
    shape = shape_of(registry.policy_trees)
    assert shape is not None
    assert ("name",) not in shape.paths and ("endpoint", "name") not in shape.paths
    assert ("endpoint", "instance_type") in shape.paths and ("endpoint",) in shape.present
    kinds = {s[0] for s in subjects}
    assert kinds == {"B", "D"}


def test_grouped_batch_equals_one_request_per_subject_on_real_subjects() -> None:
    registry, context, subjects = _world()
    groups = cedarbatch._groups(shape_of(registry.policy_trees), subjects)
    assert len(groups) < len(subjects)  # the generated manifests differ only by name in places
    assert _grouped(registry, context, subjects) == _alone(registry, context, subjects)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_grouped_batch_equals_one_request_per_subject_on_recombined_subjects(data: st.DataObject) -> None:
    """Subjects built by taking each read attribute's value from a random real subject of the same
    kind (so every value is one the schema accepts), several of them alike but for their name."""
    registry, context, subjects = _world()
    shape = shape_of(registry.policy_trees)
    assert shape is not None
    kind = data.draw(st.sampled_from(["D", "B"]))
    pool = [s for s in subjects if s[0] == kind]
    made: list[cedarbatch.CedarSubject] = []
    for index in range(data.draw(st.integers(1, 8))):
        base = data.draw(st.sampled_from(pool))
        attrs = copy.deepcopy(base[4])
        for top in sorted({path[0] for path in shape.paths if path[0] in attrs}):
            donor = data.draw(st.sampled_from(pool))[4]
            if top in donor and data.draw(st.booleans()):
                attrs[top] = copy.deepcopy(donor[top])
        made.append((kind, base[1], base[2], f"subject-{index}", attrs))
        for twin in range(data.draw(st.integers(0, 2))):  # same facts, another name
            renamed = copy.deepcopy(attrs)
            if "name" in renamed:
                renamed["name"] = f"twin-{index}-{twin}"
            made.append((kind, base[1], base[2], f"subject-{index}-twin-{twin}", renamed))
    if kind == "D":  # the buckets the deployments refer to, as in a real run
        made += [s for s in subjects if s[0] == "B"]
    assert _grouped(registry, context, made) == _alone(registry, context, made)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_batches_sharing_their_answers_equal_one_request_per_subject(data: st.DataObject) -> None:
    """The deployments asked about in chunks (the judging helper's and this process's), the buckets
    beside each chunk, one `Answers` for all: every subject gets the verdict asking about it alone
    gives, and a group answered once is not asked about again."""
    registry, context, subjects = _world()
    buckets = [s for s in subjects if s[0] == "B"]
    deployments = data.draw(st.permutations([s for s in subjects if s[0] == "D"]))
    answers = cedarbatch.Answers()
    asked: list[int] = []
    real_ask = cedarbatch._ask

    def counting(registry: RuleRegistry, context: dict[str, Any], subjects: list[Any], also: Any = ()) -> Any:
        asked.append(len(subjects))
        return real_ask(registry, context, subjects, also)

    verdicts: cedarbatch.Verdicts = {}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(cedarbatch, "_ask", counting)
        rest = list(deployments)
        while rest:
            size = data.draw(st.integers(1, 16))
            verdicts.update(cedarbatch.run_batch(registry, context, buckets + rest[:size], answers))
            rest = rest[size:]
    assert _same_order(verdicts) == _alone(registry, context, buckets + deployments)
    groups = cedarbatch._groups(shape_of(registry.policy_trees), buckets + deployments)
    errored = sum(1 for s in buckets + deployments if verdicts[(s[0], s[3])][1])
    assert sum(asked) <= len(groups) + errored * 2


def _custom(tmp_path: Path, body: str) -> RuleRegistry:
    folder = tmp_path / "custom"
    folder.mkdir(exist_ok=True)
    (folder / "acme.cedar").write_text(
        '@id("ACME-100")\n@title("Deployments are named as agreed")\n@severity("low")\n'
        '@subject("deployment")\n@message("named {{ name }}")\n' + body
    )
    return load_registry([folder])


def test_a_custom_policy_reading_names_keeps_them_apart(tmp_path: Path) -> None:
    registry = _custom(
        tmp_path,
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        'when { resource has endpoint && resource.endpoint.name like "prod-*" };\n',
    )
    shape = shape_of(registry.policy_trees)
    assert shape is not None and ("endpoint", "name") in shape.paths
    _r, context, subjects = _world()
    deployment = next(s for s in subjects if s[0] == "D")
    made = []
    for name in ("prod-a", "dev-a", "prod-b"):
        attrs = copy.deepcopy(deployment[4])
        attrs["endpoint"]["name"] = name
        made.append(("D", "Deployment", "deploy", name, attrs))
    verdicts = cedarbatch.run_batch(registry, context, made)
    assert {name for (_k, name), (matched, _e) in verdicts.items() if "ACME-100" in matched} == {
        "prod-a",
        "prod-b",
    }
    assert _same_order(verdicts) == _alone(registry, context, made)


@pytest.mark.parametrize(
    ("condition", "why"),
    [
        ('resource == R1::Deployment::"prod"', "the resource compared with an entity"),
        ('resource in [R1::Deployment::"prod"]', "the resource in a set of entities"),
        ("[resource].contains(resource)", "the resource as a value"),
        ('R1::Deployment::"prod".stage == "prod"', "another subject's attributes read by literal"),
    ],
)
def test_policies_that_can_tell_entities_apart_turn_grouping_off(
    tmp_path: Path, condition: str, why: str
) -> None:
    registry = _custom(
        tmp_path,
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        f"when {{ {condition} }};\n",
    )
    assert shape_of(registry.policy_trees) is None, why


def test_a_resource_scope_naming_an_entity_turns_grouping_off(tmp_path: Path) -> None:
    registry = _custom(
        tmp_path,
        'forbid (principal, action == R1::Action::"deploy", resource == R1::Deployment::"prod");\n',
    )
    assert shape_of(registry.policy_trees) is None


def test_an_evaluation_error_is_never_shared(tmp_path: Path) -> None:
    """Cedar's error text names the entity: a group whose answer holds an error is asked one by one."""
    registry = _custom(
        tmp_path,
        'forbid (principal, action == R1::Action::"deploy", resource is R1::Deployment)\n'
        "when { resource has capacity && resource.capacity has weights_mib &&\n"
        "  resource.capacity.weights_mib * 9223372036854775807 > 0 };\n",
    )
    _r, context, subjects = _world()
    deployment = next(
        s for s in subjects if s[0] == "D" and s[4].get("capacity", {}).get("weights_mib", 0) > 1
    )
    made = [("D", "Deployment", "deploy", f"dep-{i}", copy.deepcopy(deployment[4])) for i in range(3)]
    verdicts = cedarbatch.run_batch(registry, context, made)
    assert _same_order(verdicts) == _alone(registry, context, made)
    assert all("ACME-100" in errored for _m, errored in verdicts.values())


def test_a_path_through_an_entity_reference_keys_on_the_reference() -> None:
    """`resource.bucket.region` is read from the bucket entity: deployments naming different buckets
    are never grouped, whatever else they share."""
    one = {"bucket": {"__entity": {"type": "R1::Bucket", "id": "weights-eu"}}}
    other = {"bucket": {"__entity": {"type": "R1::Bucket", "id": "weights-us"}}}
    for shape in (
        cedarshape.Shape(paths=(("bucket", "region"),)),  # resource.bucket.region == "..."
        cedarshape.Shape(paths=(), present=(("bucket", "region"),)),  # resource.bucket has region
    ):
        assert shape.key(one) != shape.key(other)
        assert shape.key(one) == shape.key(copy.deepcopy(one))
    assert list(cedarshape.references({"a": [one], "b": other})) == [
        ("R1::Bucket", "weights-eu"),
        ("R1::Bucket", "weights-us"),
    ]


def test_grouped_buckets_stay_in_the_store_for_the_deployments_naming_them() -> None:
    """Two buckets alike but for their name are one group; a deployment naming the one not asked
    about still finds its entity (and its verdict is the one it gets alone)."""
    registry, context, subjects = _world()
    bucket = next(s for s in subjects if s[0] == "B")
    deployment = next(s for s in subjects if s[0] == "D" and "bucket" in s[4])
    twin_attrs = copy.deepcopy(bucket[4]) | {"name": "twin-bucket"}
    twin = ("B", bucket[1], bucket[2], "twin-bucket", twin_attrs)
    attrs = copy.deepcopy(deployment[4])
    attrs["bucket"] = {"__entity": {"type": f"R1::{bucket[1]}", "id": "twin-bucket"}}
    attrs["bucket_name"] = "twin-bucket"
    made = [bucket, twin, ("D", deployment[1], deployment[2], "names-the-twin", attrs)]
    assert len(cedarbatch._groups(shape_of(registry.policy_trees), made)) == 2
    assert _grouped(registry, context, made) == _alone(registry, context, made)
