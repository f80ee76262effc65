"""Bad input never crashes `r1policy check`: exit 2, one stderr line naming file and line, empty stdout.

Every fixture is written into tmp_path by the test itself and kept small, so each case is handled well
under a second (nothing here asserts on time; the alias bomb is the one input that could hang).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, Result, run_cli, validate_report
from r1policy.core import yamldoc

# A compliant-looking native manifest whose line numbers the tests rely on (see the comments).
IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
    "huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04"
)
KMS = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
MANIFEST = f"""\
apiVersion: r1policy/v1
kind: ModelDeployment
metadata:
  name: bad-input-test
  owner: ml-platform
spec:
  model:
    s3: {{uri: s3://acme-llm-weights/deepseek-r1-distill-llama-8b/}}
    parameters: 8.03e9
    dtype: bfloat16
  container:
    image: {IMAGE}
  endpoint:
    name: bad-input-test
    region: us-east-1
    instance_type: ml.g5.2xlarge
    instance_count: 1
    network_isolation: true
    vpc: {{subnets: [subnet-0a1b2c3d], security_groups: [sg-0c2d3e4f]}}
    kms_key: {KMS}
"""
LINE_APIVERSION = 1
LINE_KIND = 2
LINE_METADATA = 3
LINE_METADATA_NAME = 4
LINE_DTYPE = 10
LINE_INSTANCE_TYPE = 16
LINE_INSTANCE_COUNT = 17

WAIVER_CONFIG = """\
approved_buckets: [acme-llm-weights]
waivers:
  - rule: R1-EP-003
    subject: bad-input-test
    reason: dev sandbox without network isolation
    owner: ml-platform
    expires: {expires}
"""
LINE_WAIVER_EXPIRES = 7

_ERROR = re.compile(r"^r1policy: error: (?P<file>.+?)(?::(?P<line>\d+)(?::(?P<col>\d+))?)?: (?P<what>.+)$")


def _patched(old: str, new: str) -> str:
    assert MANIFEST.count(old) == 1, old
    return MANIFEST.replace(old, new)


def _write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def check(tmp_path: Path, *args: str) -> Result:
    """`r1policy check --static ARGS` in-process, from tmp_path (so no stray config is picked up)."""
    return run_cli("check", "--static", *args, cwd=tmp_path)


def assert_tool_error(result: Result, *, file: str | None, line: int | None) -> str:
    """Exit 2, nothing on stdout, no traceback, exactly one stderr line `r1policy: error: FILE:LINE[:COL]: …`.

    `file=None` for errors about arguments (no file to name); `line=None` when no line applies (a path
    that does not exist, a file refused by size before it is read, an output file). Returns the `<what>`.
    """
    assert result.code == 2, (result.code, result.stdout, result.stderr)
    assert result.stdout == "", result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.endswith("\n") and result.stderr.count("\n") == 1, repr(result.stderr)
    message = result.stderr.rstrip("\n")
    assert message.startswith("r1policy: error: "), message
    if file is None:
        return message.removeprefix("r1policy: error: ")
    match = _ERROR.match(message)
    assert match, message
    assert match["file"] == file, message
    if line is not None:
        assert match["line"] is not None and int(match["line"]) == line, message
    return match["what"]


def test_fixture_manifest_is_accepted(tmp_path: Path) -> None:
    """Guard: the baseline fixture itself loads cleanly, so every failure below comes from the patch."""
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "r1policy.yaml", "approved_buckets: [acme-llm-weights]\n")
    result = check(tmp_path, "m.yaml")
    assert result.code in (0, 1), result.stderr
    assert result.stderr == ""


# --- YAML syntax and encoding -------------------------------------------------------------------------


def test_malformed_yaml_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("    dtype: bfloat16\n", "    dtype: bfloat16: oops\n"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_DTYPE)
    assert "invalid YAML" in what


def test_malformed_json_exits_2_with_line(tmp_path: Path) -> None:
    # A missing comma: JSON parsers and YAML both stop at the next member, line 4.
    text = '{\n  "apiVersion": "r1policy/v1",\n  "kind": "ModelDeployment"\n  "spec": {}\n}\n'
    _write(tmp_path, "m.json", text)
    what = assert_tool_error(check(tmp_path, "m.json"), file="m.json", line=4)
    assert "invalid YAML" in what or "JSON" in what


def test_yaml_alias_bomb_exits_2_quickly(tmp_path: Path) -> None:
    # Billion laughs: 9 levels of 9 aliases each expand to 9**9 (387 million) strings.
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * 9) + "]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    _write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n")
    what = assert_tool_error(check(tmp_path, "bomb.yaml"), file="bomb.yaml", line=None)
    assert "alias" in what or "expands" in what


def test_non_utf8_bytes_exit_2_with_line_of_bad_byte(tmp_path: Path) -> None:
    data = MANIFEST.encode().replace(b"  owner: ml-platform", b"  owner: ml-plat\xe9form")
    _write(tmp_path, "m.yaml", data)
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=5)
    assert "UTF-8" in what


def test_duplicate_yaml_key_exits_2_with_line_of_second_key(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("  owner: ml-platform\n", "  owner: ml-platform\n  name: again\n"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=6)
    assert "duplicate key 'name'" in what


RECURSIVE_ALIASES = {
    "sequence": "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: &a [*a]\n",
    "merge-key": "apiVersion: r1policy/v1\nkind: ModelDeployment\nmetadata: &a {name: x, <<: *a}\n",
}


@pytest.mark.parametrize("text", RECURSIVE_ALIASES.values(), ids=RECURSIVE_ALIASES.keys())
def test_recursive_alias_exits_2_without_traceback(tmp_path: Path, text: str) -> None:
    _write(tmp_path, "m.yaml", text)
    result = check(tmp_path, "m.yaml")
    assert result.code == 2 and result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("r1policy: error: m.yaml") and result.stderr.count("\n") == 1


@pytest.mark.parametrize("text", RECURSIVE_ALIASES.values(), ids=RECURSIVE_ALIASES.keys())
def test_recursive_alias_error_names_line_and_alias(tmp_path: Path, text: str) -> None:
    _write(tmp_path, "m.yaml", text)
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=3)
    assert "alias" in what or "recursive" in what


# --- manifest structure -------------------------------------------------------------------------------


def test_unknown_api_version_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("apiVersion: r1policy/v1", "apiVersion: r1policy/v2"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_APIVERSION)
    assert "r1policy/v2" in what and "r1policy/v1" in what


def test_unknown_kind_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("kind: ModelDeployment", "kind: Deployment"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_KIND)
    assert "Deployment" in what and "ModelDeployment" in what


def test_misspelled_optional_field_exits_2_suggesting_the_field(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("    instance_count: 1", "    instance_coutn: 1"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_INSTANCE_COUNT)
    assert "instance_coutn" in what and "did you mean 'instance_count'" in what


def test_misspelled_required_field_exits_2_suggesting_the_field(tmp_path: Path) -> None:
    _write(
        tmp_path, "m.yaml", _patched("    instance_type: ml.g5.2xlarge", "    instance_typ: ml.g5.2xlarge")
    )
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_INSTANCE_TYPE)
    assert "did you mean 'instance_type'" in what


def test_misspelled_required_field_still_exits_2_naming_the_field(tmp_path: Path) -> None:
    """Whatever the ordering, the misspelling is refused and the message names the expected key."""
    _write(
        tmp_path, "m.yaml", _patched("    instance_type: ml.g5.2xlarge", "    instance_typ: ml.g5.2xlarge")
    )
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=None)
    assert "instance_type" in what


def test_wrong_type_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("    instance_count: 1", '    instance_count: "two"'))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_INSTANCE_COUNT)
    assert "instance_count" in what and "integer" in what


def test_missing_required_field_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("metadata:\n  name: bad-input-test\n", "metadata:\n"))
    what = assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=LINE_METADATA)
    assert "metadata" in what and "'name'" in what and "required" in what


def test_unquoted_impossible_date_in_manifest_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("  owner: ml-platform", "  owner: 2026-13-45"))
    assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=5)


def test_impossible_date_as_key_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("  owner: ml-platform", "  2026-13-45: ml-platform"))
    assert_tool_error(check(tmp_path, "m.yaml"), file="m.yaml", line=5)


# --- file sets and paths ------------------------------------------------------------------------------


def test_duplicate_deployment_names_across_files_exit_2_naming_both(tmp_path: Path) -> None:
    _write(tmp_path, "deploy/a.yaml", MANIFEST)
    _write(tmp_path, "deploy/b.yaml", MANIFEST)
    what = assert_tool_error(check(tmp_path, "deploy"), file="deploy/b.yaml", line=1)
    assert "bad-input-test" in what and "deploy/a.yaml:1" in what


def test_file_over_size_limit_exits_2_before_reading(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as handle:  # sparse: costs no disk and is refused by its size alone
        handle.truncate(yamldoc.MAX_FILE_BYTES + 1)
    what = assert_tool_error(check(tmp_path, "big.yaml"), file="big.yaml", line=None)
    assert "limit" in what


def test_explicit_file_that_is_not_a_manifest_exits_2(tmp_path: Path) -> None:
    _write(tmp_path, "notes.yaml", "title: release notes\nitems: [a, b]\n")
    what = assert_tool_error(check(tmp_path, "notes.yaml"), file="notes.yaml", line=1)
    assert "not a recognised deployment manifest" in what


def test_missing_path_exits_2_naming_it(tmp_path: Path) -> None:
    what = assert_tool_error(check(tmp_path, "nowhere.yaml"), file="nowhere.yaml", line=None)
    assert "no such file" in what


# --- configuration (--config) -------------------------------------------------------------------------


def test_config_unknown_key_exits_2_naming_config_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(
        tmp_path,
        "cfg.yaml",
        "approved_buckets: [acme-llm-weights]\napproved_instance_type: [ml.g5.2xlarge]\n",
    )
    what = assert_tool_error(check(tmp_path, "--config", "cfg.yaml", "m.yaml"), file="cfg.yaml", line=2)
    assert "approved_instance_type" in what and "did you mean 'approved_instance_types'" in what


def test_config_wrong_type_exits_2_naming_config_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "cfg.yaml", 'approved_buckets: [acme-llm-weights]\nallow_pickle_weights: "no"\n')
    what = assert_tool_error(check(tmp_path, "--config", "cfg.yaml", "m.yaml"), file="cfg.yaml", line=2)
    assert "allow_pickle_weights" in what and "boolean" in what


def test_config_bad_waiver_date_exits_2_naming_config_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "cfg.yaml", WAIVER_CONFIG.format(expires='"2026-02-30"'))
    what = assert_tool_error(
        check(tmp_path, "--config", "cfg.yaml", "m.yaml"), file="cfg.yaml", line=LINE_WAIVER_EXPIRES
    )
    assert "expires" in what and "2026-02-30" in what


def test_config_non_date_waiver_expiry_exits_2_naming_config_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "cfg.yaml", WAIVER_CONFIG.format(expires="next-quarter"))
    what = assert_tool_error(
        check(tmp_path, "--config", "cfg.yaml", "m.yaml"), file="cfg.yaml", line=LINE_WAIVER_EXPIRES
    )
    assert "expires" in what


def test_config_unquoted_impossible_waiver_date_exits_2_naming_config_and_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "cfg.yaml", WAIVER_CONFIG.format(expires="2026-13-45"))
    assert_tool_error(
        check(tmp_path, "--config", "cfg.yaml", "m.yaml"), file="cfg.yaml", line=LINE_WAIVER_EXPIRES
    )


def test_default_config_file_errors_name_it_too(tmp_path: Path) -> None:
    """./r1policy.yaml is found without --config, and its errors are reported the same way."""
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(
        tmp_path,
        "r1policy.yaml",
        "approved_buckets: [acme-llm-weights]\nrules:\n  R1-EP-004: {enforce: warn}\n",
    )
    what = assert_tool_error(check(tmp_path, "m.yaml"), file=str(tmp_path / "r1policy.yaml"), line=3)
    assert "enforce" in what


# --- state (--state) ----------------------------------------------------------------------------------


def test_state_with_wrong_schema_version_exits_2_with_line(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(
        tmp_path,
        "state.yaml",
        'kind: r1policy-state\ncaptured_at: "2026-11-01T00:00:00Z"\nschema_version: 2\nbuckets: {}\n',
    )
    result = run_cli("check", "--state", "state.yaml", "m.yaml", cwd=tmp_path)
    what = assert_tool_error(result, file="state.yaml", line=3)
    assert "schema_version" in what and "2" in what


def test_base_state_is_accepted(tmp_path: Path) -> None:
    """Guard for the state test above: the snapshot from policies/cases-base.yaml loads."""
    base = yaml.safe_load((ROOT / "policies" / "cases-base.yaml").read_text())
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "state.yaml", yaml.safe_dump(base["state"]))
    _write(tmp_path, "r1policy.yaml", yaml.safe_dump(base["config"]))
    result = run_cli("check", "--state", "state.yaml", "m.yaml", cwd=tmp_path)
    assert result.code in (0, 1), result.stderr
    assert "Traceback" not in result.stderr


# --- formats and outputs ------------------------------------------------------------------------------


def test_unknown_format_exits_2_listing_valid_formats(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    what = assert_tool_error(check(tmp_path, "--format", "nope", "m.yaml"), file=None, line=None)
    assert "nope" in what and "table" in what and "json" in what


def test_two_formats_to_same_output_exit_2(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    result = check(
        tmp_path,
        "--format",
        "json",
        "--output",
        "r.out",
        "--format",
        "table",
        "--output",
        "./r.out",
        "m.yaml",
    )
    what = assert_tool_error(result, file=None, line=None)
    assert "same" in what
    assert not (tmp_path / "r.out").exists()


def test_output_into_missing_directory_is_created(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    _write(tmp_path, "r1policy.yaml", "approved_buckets: [acme-llm-weights]\n")
    target = tmp_path / "reports" / "deep" / "r.json"
    result = check(tmp_path, "--format", "json", "--output", "reports/deep/r.json", "m.yaml")
    assert result.stdout == "" and result.stderr == ""
    data = json.loads(target.read_text())
    validate_report(data)
    assert result.code == (1 if data["decision"] == "block" else 0)


def test_output_into_missing_directory_keeps_blocking_exit_code(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", _patched("instance_type: ml.g5.2xlarge", "instance_type: ml.t3.medium"))
    _write(tmp_path, "r1policy.yaml", "approved_buckets: [acme-llm-weights]\n")
    result = check(tmp_path, "--format", "json", "--output", "new/r.json", "m.yaml")
    assert result.code == 1, result.stderr
    assert (tmp_path / "new" / "r.json").is_file()


def test_output_under_a_regular_file_exits_2_writing_nothing(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    blocker = _write(tmp_path, "blocker.txt", "keep me\n")
    before = sorted(p.name for p in tmp_path.iterdir())
    result = check(tmp_path, "--format", "json", "--output", "blocker.txt/r.json", "m.yaml")
    what = assert_tool_error(result, file="blocker.txt/r.json", line=None)
    assert "cannot write" in what
    assert blocker.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_output_onto_a_directory_exits_2_leaving_no_temp_file(tmp_path: Path) -> None:
    _write(tmp_path, "m.yaml", MANIFEST)
    (tmp_path / "out").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())
    result = check(tmp_path, "--format", "json", "--output", "out", "m.yaml")
    what = assert_tool_error(result, file="out", line=None)
    assert "cannot write" in what
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert list((tmp_path / "out").iterdir()) == []
