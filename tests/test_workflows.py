"""The GitHub Actions examples in docs/workflows/ stay valid: least privilege, actions pinned by commit
SHA, and every r1policy command line parses with the real CLI parser."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import ROOT
from r1policy.cli import build_parser
from r1policy.formats import Format
from r1policy.formats.output import pair_outputs

WORKFLOWS = ROOT / "docs" / "workflows"
PINNED = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)\s*(#.*)?$")
# The least each workflow needs, and nothing more.
EXPECTED_PERMISSIONS = {
    "r1policy-pr.yml": {"contents": "read", "id-token": "write", "security-events": "write"},
    "r1policy-nightly.yml": {"contents": "read", "id-token": "write"},
}


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def r1policy_commands(workflow: dict[str, Any]) -> list[list[str]]:
    """Every `r1policy ...` command line in the run steps, as argv."""
    found = []
    for step in steps(workflow):
        script = step.get("run", "")
        for line in re.split(r"\n(?![ \t])|&&|;", script.replace("\\\n", " ")):
            words = shlex.split(line, comments=True)
            if words and words[0] == "r1policy":
                found.append(words)
    return found


def parse(argv: list[str]) -> Any:
    return build_parser().parse_args(argv[1:])


@pytest.mark.parametrize("name", sorted(EXPECTED_PERMISSIONS))
def test_permissions_are_least_privilege(name: str) -> None:
    workflow = load(name)
    assert workflow["permissions"] == {}, "top level grants nothing; jobs ask for what they use"
    for job in workflow["jobs"].values():
        assert job["permissions"] == EXPECTED_PERMISSIONS[name]
        assert "write-all" not in str(job["permissions"]) and "read-all" not in str(job["permissions"])


@pytest.mark.parametrize("name", sorted(EXPECTED_PERMISSIONS))
def test_every_action_is_pinned_to_a_commit_with_a_version_comment(name: str) -> None:
    workflow = load(name)
    uses = [step["uses"] for step in steps(workflow) if "uses" in step]
    assert uses
    assert [u for u in uses if not PINNED.match(u)] == []
    lines = [
        m for m in map(USES_LINE.match, (WORKFLOWS / name).read_text(encoding="utf-8").splitlines()) if m
    ]
    assert len(lines) == len(uses)
    for match in lines:
        assert match.group(2) and re.match(r"#\s*v\d+\.\d+\.\d+", match.group(2)), match.group(0)
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"]["persist-credentials"] is False for s in checkouts)


@pytest.mark.parametrize("name", sorted(EXPECTED_PERMISSIONS))
def test_credentials_come_from_oidc_not_stored_keys(name: str) -> None:
    text = (WORKFLOWS / name).read_text(encoding="utf-8")
    assert "aws-access-key-id" not in text and "secrets.AWS" not in text
    (aws,) = [
        s for s in steps(load(name)) if s.get("uses", "").startswith("aws-actions/configure-aws-credentials@")
    ]
    assert aws["with"]["role-to-assume"].startswith("${{ vars.")


def test_pr_workflow_checks_live_and_uploads_sarif_and_summary() -> None:
    workflow = load("r1policy-pr.yml")
    assert "pull_request" in workflow["on"]
    (command,) = r1policy_commands(workflow)
    args = parse(command)
    assert args.command == "check" and args.live and not args.static
    pairs = dict((fmt, out) for fmt, out in pair_outputs(args.format, args.output))
    assert set(pairs) == {Format.SARIF, Format.GITHUB}
    assert pairs[Format.GITHUB] is None, "the github format goes to stdout (annotations + job summary)"
    sarif_file = pairs[Format.SARIF]
    assert sarif_file is not None
    (upload,) = [
        s for s in steps(workflow) if s.get("uses", "").startswith("github/codeql-action/upload-sarif@")
    ]
    assert Path(upload["with"]["sarif_file"]) == sarif_file
    assert "always()" in upload["if"], "a blocking finding must not stop the SARIF upload"


def test_nightly_workflow_audits_and_keeps_the_report() -> None:
    workflow = load("r1policy-nightly.yml")
    assert workflow["on"]["schedule"][0]["cron"]
    (command,) = r1policy_commands(workflow)
    args = parse(command)
    assert args.command == "audit"
    (upload,) = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert Path(upload["with"]["path"]) == Path(getattr(args, "report_dir", "reports"))
    assert "always()" in upload["if"]
