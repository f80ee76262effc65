"""Every input is parsed safely (issues 13 and 20): one guarded JSON entry point, YAML tags outside the
core schema refused on any node, finite numbers, no control characters, --output never replaces an
input, waivers that name an unknown rule or every subject refused. Bad input is exit 2 naming the file
and line, never a traceback; an artifact `scan` cannot parse is a located R1-ART-010.
"""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, Result, finding_set, run_cli, write_case

HUGE = "1" * 5000
DEEP = "[" * 5000 + "]" * 5000


def _tool_error(result: Result, file: str, line: int | None = None) -> str:
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith(f"r1policy: error: {file}"), result.stderr
    if line is not None:
        assert re.match(rf"r1policy: error: {re.escape(file)}:{line}\b", result.stderr), result.stderr
    return result.stderr


# -- the JSON entry point ----------------------------------------------------------------------------


def test_no_other_json_load_in_checker() -> None:
    """Every JSON text goes through r1policy.core.jsonsafe; only it may call json.load(s) / JSONDecoder."""
    pattern = re.compile(r"\bjson\.(?:loads?|JSONDecoder)\b|from json import|import json as|\borjson\b")
    offenders = []
    for path in sorted((ROOT / "checker").rglob("*.py")):
        if path.name == "jsonsafe.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


@pytest.mark.parametrize(
    ("text", "what", "line"),
    [
        (f'{{"a": {HUGE}}}', "more than 4,300 digits", 1),
        (f'{{\n"a": 1,\n"b": -{HUGE}}}', "more than 4,300 digits", 3),
        (DEEP, "nested more than", 1),
        ('{"a": NaN}', "non-finite", 1),
        ('{\n"a": -Infinity}', "non-finite", 2),
        ('{"a": 1e999}', "not finite", 1),
        ('{"a": 1.' + "0" * 5000 + "}", "more than 4,300 characters", 1),
    ],
)
def test_bounds_are_json_decode_errors_with_a_line(text: str, what: str, line: int) -> None:
    from r1policy.core import jsonsafe

    with pytest.raises(json.JSONDecodeError) as caught:
        jsonsafe.loads(text)
    assert isinstance(caught.value, jsonsafe.JsonLimitError)
    assert what in caught.value.msg and caught.value.lineno == line, (caught.value.msg, caught.value.lineno)


def test_ordinary_json_is_unchanged() -> None:
    from r1policy.core import jsonsafe

    text = '{"a": [1, 2.5, -3e2, true, null, "x\\"y"], "b": {"c": "[[[[{"}}'
    assert jsonsafe.loads(text) == json.loads(text)
    assert jsonsafe.raw_decode('{"a": 1} trailing') == ({"a": 1}, 8)


@pytest.mark.parametrize(
    "body",
    [
        f'{{"ModelName": "m", "PrimaryContainer": {{"Image": "x", "Environment": {{"N": {HUGE}}}}}}}',
        '{"ModelName": "m", "PrimaryContainer": ' + "[" * 3000 + "]" * 3000 + "}",
        f'{{"apiVersion": "r1policy/v1", "kind": "ModelDeployment", "x": {HUGE}}}',
        '{"apiVersion": "r1policy/v1", "kind": "ModelDeployment", "x": 1e400}',
        '{"resource_changes": [], "format_version": "1.2", "x": [' + "{" * 0 + f"{HUGE}]}}",
    ],
)
def test_check_of_unbounded_json_is_exit_2_with_file(tmp_path: Path, body: str) -> None:
    (tmp_path / "request.json").write_text(body)
    _tool_error(run_cli("check", "--static", "request.json", cwd=tmp_path), "request.json")


def _safetensors(header: str) -> bytes:
    raw = header.encode()
    return struct.pack("<Q", len(raw)) + raw


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("config.json", f'{{"hidden_size": {HUGE}}}'.encode()),
        ("tokenizer_config.json", DEEP.encode()),
        ("generation_config.json", b'{"temperature": NaN}'),
        ("model.safetensors", _safetensors(f'{{"__metadata__": {{"n": {HUGE}}}}}')),
        (
            "model.safetensors",
            _safetensors('{"w": {"dtype": "F32", "shape": [1e999], "data_offsets": [0, 0]}}'),
        ),
        ("model.safetensors", _safetensors(DEEP)),
        ("config.json", ('{"a": [' + HUGE + "]}").encode()),
        ("adapter_config.json", b'{"r": Infinity}'),
        ("special_tokens_map.json", ('{"x": {"y": -' + "9" * 5000 + "}}").encode()),
        ("preprocessor_config.json", b'{"x": 1e999}'),
    ],
)
def test_scan_of_unbounded_json_is_a_located_unscannable_finding(
    tmp_path: Path, name: str, data: bytes
) -> None:
    (tmp_path / name).write_bytes(data)
    result = run_cli("scan", str(tmp_path / name), "--format", "json")
    assert result.code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    blocking = {(rule, subject) for rule, _status, subject in finding_set(result.json, "fail", "error")}
    assert blocking & {("R1-ART-010", str(tmp_path / name)), ("R1-ART-005", str(tmp_path / name))}


def test_terraform_bucket_policy_with_a_huge_number_is_not_a_crash(tmp_path: Path) -> None:
    plan = json.loads((ROOT / "examples" / "terraform" / "r1-endpoints.plan.json").read_text())
    text = json.dumps(plan)
    policy = json.dumps(json.dumps({"Version": "2012-10-17", "Statement": [], "X": 1})).replace(
        "1}", HUGE + "}"
    )
    if '"policy": ' not in text:
        pytest.skip("the example plan defines no bucket policy")
    text = re.sub(r'"policy": "(?:[^"\\]|\\.)*"', f'"policy": {policy}', text, count=1)
    (tmp_path / "plan.json").write_text(text)
    result = run_cli("check", "--static", "plan.json", "--format", "json", cwd=tmp_path)
    assert "Traceback" not in result.stderr and result.code in (1, 2), result.stderr


# -- YAML tags ---------------------------------------------------------------------------------------

MANIFEST_HEAD = "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata:\n  name: t\n"


@pytest.mark.parametrize(
    ("text", "tag", "line"),
    [
        (MANIFEST_HEAD + "spec: !!python/object:os.system {a: 1}\n", "!!python/object:os.system", 5),
        (MANIFEST_HEAD + "spec:\n  model: !!python/tuple [1, 2]\n", "!!python/tuple", 6),  # a sequence
        (MANIFEST_HEAD + "spec:\n  x: !foo [1]\n", "!foo", 6),
        (MANIFEST_HEAD + "spec:\n  x: !!set {a, b}\n", "!!set", 6),
        (MANIFEST_HEAD + "spec:\n  x: !!omap [{a: 1}]\n", "!!omap", 6),
        (MANIFEST_HEAD + "spec:\n  x: !Ref Foo\n", "!Ref", 6),  # CloudFormation tags outside a template
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: !!python/tuple [a]\n",
            "!!python/tuple",
            5,
        ),
        (MANIFEST_HEAD + "spec:\n  <<: !!python/object {a: 1}\n", "!!python/object", 6),
    ],
)
def test_a_tag_outside_the_core_schema_is_exit_2_naming_it(
    tmp_path: Path, text: str, tag: str, line: int
) -> None:
    (tmp_path / "m.yaml").write_text(text)
    message = _tool_error(run_cli("check", "--static", "m.yaml", cwd=tmp_path), "m.yaml", line)
    assert repr(tag) in message


def test_cloudformation_short_forms_stay_accepted(tmp_path: Path) -> None:
    result = run_cli(
        "check", "--static", ROOT / "examples" / "cloudformation" / "r1-distill-stack.yaml", cwd=tmp_path
    )
    assert result.code in (0, 1), result.stderr


# -- native manifests: numbers and characters --------------------------------------------------------


@pytest.mark.parametrize("value", [".nan", ".inf", "-.inf", ".NaN", "1e400", "1" + "0" * 400])
def test_non_finite_parameters_are_exit_2_with_line(tmp_path: Path, value: str) -> None:
    paths = write_case(tmp_path)
    text = paths["manifest"].read_text()
    text = re.sub(r"parameters: .*", f"parameters: {value}", text, count=1)
    paths["manifest"].write_text(text)
    line = next(n for n, row in enumerate(text.splitlines(), 1) if row.strip().startswith("parameters:"))
    message = _tool_error(
        run_cli("check", "--static", paths["manifest"].name, cwd=tmp_path), paths["manifest"].name, line
    )
    assert "finite" in message


@pytest.mark.parametrize(
    ("patch", "char"),
    [
        ({"metadata": {"owner": "ml\x00platform"}}, "\x00"),
        ({"metadata": {"stage": "prod\x1b[2K"}}, "\x1b"),
        ({"metadata": {"owner": "ml\nplatform"}}, "\n"),
        ({"spec": {"container": {"image": "public.ecr.aws/x/y:1.0\u202e"}}}, "\u202e"),
        ({"spec": {"endpoint": {"kms_key": "arn:aws:kms:us-east-1:111122223333:key/\u2066x"}}}, "\u2066"),
        ({"spec": {"model": {"s3": {"uri": "s3://acme-llm-weights/r1\u202a/"}}}}, "\u202a"),
        ({"spec": {"container": {"env": {"SM_NUM_GPUS": "1\x85"}}}}, "\x85"),
        ({"spec": {"container": {"env": {"X\u2067": "1"}}}}, "\u2067"),
        ({"spec": {"container": {"env": {"SM_NUM_GPUS": "1\x7f"}}}}, "\x7f"),
    ],
)
def test_control_characters_in_a_native_string_are_exit_2(
    tmp_path: Path, patch: dict[str, object], char: str
) -> None:
    paths = write_case(tmp_path, manifest=patch)
    text = json.dumps(yaml.safe_load(paths["manifest"].read_text()), indent=1)
    paths["manifest"].write_text(text)  # JSON keeps every character as written
    escaped = json.dumps(char)[1:-1]
    line = next(n for n, row in enumerate(text.splitlines(), 1) if escaped in row or char in row)
    message = _tool_error(
        run_cli("check", "--static", paths["manifest"].name, cwd=tmp_path), paths["manifest"].name, line
    )
    assert f"U+{ord(char):04X}" in message


def test_tabs_and_newlines_in_env_values_stay_allowed(tmp_path: Path) -> None:
    paths = write_case(tmp_path, manifest={"spec": {"container": {"env": {"EXTRA": "a\tb\nc"}}}})
    result = run_cli(
        "check", "--static", paths["manifest"].name, "--config", paths["config"].name, cwd=tmp_path
    )
    assert result.code in (0, 1), result.stderr


# -- --output never replaces an input ----------------------------------------------------------------


@pytest.mark.parametrize("which", ["manifest", "config", "state", "in-folder", "lock", "symlink"])
def test_output_naming_an_input_is_refused(tmp_path: Path, which: str) -> None:
    paths = write_case(tmp_path)
    (tmp_path / "r1policy.lock").write_text("kind: r1policy-lock\nschema_version: 1\nsources: {}\n")
    (tmp_path / "link.yaml").symlink_to(paths["manifest"])
    target = {
        "manifest": paths["manifest"].name,
        "config": paths["config"].name,
        "state": paths["state"].name,
        "in-folder": f"./{paths['manifest'].name}",
        "lock": "r1policy.lock",
        "symlink": "link.yaml",
    }[which]
    before = {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    args = [".", "--config", paths["config"].name, "--state", paths["state"].name]
    result = run_cli("check", *args, "--format", "json", "--output", target, cwd=tmp_path)
    assert result.code == 2, (result.stdout, result.stderr)
    assert "the report would replace it" in result.stderr
    assert {p: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()} == before


def test_scan_output_naming_the_scanned_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    result = run_cli("scan", "config.json", "--format", "json", "--output", "config.json", cwd=tmp_path)
    assert result.code == 2 and (tmp_path / "config.json").read_text() == "{}"


# -- waivers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "subject", "expected"),
    [
        ("R1-EP-999", "case", "unknown rule 'R1-EP-999'"),
        ("R1-EP003", "case", "did you mean"),
        ("R1-XX-001", "case", "unknown rule"),
        ("R1-EP-0003", "case", "did you mean 'R1-EP-003'"),
        ("R1-EP-003", "*", "matches every subject"),
        ("R1-EP-003", "**", "matches every subject"),
        ("R1-EP-003", "?*", "matches every subject"),
        ("R1-EP-003", " ", "matches every subject"),
    ],
)
def test_a_waiver_for_an_unknown_rule_or_every_subject_is_exit_2(
    tmp_path: Path, rule: str, subject: str, expected: str
) -> None:
    waiver = {
        "rule": rule,
        "subject": subject,
        "reason": "sandbox",
        "owner": "ml-platform",
        "expires": "2099-01-01",
    }
    paths = write_case(tmp_path, config={"waivers": [waiver]})
    result = run_cli(
        "check", "--static", paths["manifest"].name, "--config", paths["config"].name, cwd=tmp_path
    )
    message = _tool_error(result, paths["config"].name)
    assert expected in message


def test_a_waiver_for_a_known_rule_and_a_subject_pattern_still_works(tmp_path: Path) -> None:
    waiver = {
        "rule": "R1-EP-003",
        "subject": "ca*",
        "reason": "sandbox",
        "owner": "ml-platform",
        "expires": "2099-01-01",
    }
    paths = write_case(tmp_path, config={"waivers": [waiver]})
    result = run_cli(
        "check", "--static", paths["manifest"].name, "--config", paths["config"].name, cwd=tmp_path
    )
    assert result.code in (0, 1), result.stderr
