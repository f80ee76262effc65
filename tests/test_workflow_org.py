"""docs/workflows/r1policy-org-matrix.yml: a matrix of `audit --organization --accounts` shards and a merge
job; least privilege, pinned actions, OIDC credentials, and every r1policy command parses."""

from __future__ import annotations

import re

from test_workflows import PINNED, USES_LINE, WORKFLOWS, load, parse, r1policy_commands, steps

NAME = "r1policy-org-matrix.yml"


def test_org_matrix_workflow_shards_by_account_and_merges() -> None:
    workflow = load(NAME)
    assert workflow["permissions"] == {}
    shard, merge = workflow["jobs"]["shard"], workflow["jobs"]["merge"]
    assert shard["permissions"] == {"contents": "read", "id-token": "write"}
    assert merge["permissions"] == {} and merge["needs"] == "shard"
    lists = [s["accounts"].split(",") for s in shard["strategy"]["matrix"]["shard"]]
    flat = [a for accounts in lists for a in accounts]
    assert len(flat) == len(set(flat)), "shards must be disjoint"
    audit, merged = r1policy_commands(workflow)
    args = parse(audit)
    assert args.organization and args.exit_zero and args.regions == ["all"] and args.accounts
    args = parse(merged)
    assert args.report_command == "merge" and args.output and args.report_dir


def test_org_matrix_workflow_pins_actions_and_uses_oidc() -> None:
    workflow = load(NAME)
    uses = [step["uses"] for step in steps(workflow) if "uses" in step]
    assert uses and [u for u in uses if not PINNED.match(u)] == []
    text = (WORKFLOWS / NAME).read_text(encoding="utf-8")
    for match in filter(None, map(USES_LINE.match, text.splitlines())):
        assert match.group(2) and re.match(r"#\s*v\d+\.\d+\.\d+", match.group(2))
    assert "aws-access-key-id" not in text and "secrets.AWS" not in text
    checkouts = [s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@")]
    assert all(s["with"]["persist-credentials"] is False for s in checkouts)
