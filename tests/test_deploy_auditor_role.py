"""deploy/auditor-role: the CloudFormation (StackSet) template and the Terraform module that create the
read-only auditor role in member accounts. Both grant exactly policies/iam/r1policy-auditor.json and
trust only the audit account (with the ExternalId when one is set), plus the optional region listing of
`--regions all`; cfn-lint and python-hcl2 accept
them, and the CloudFormation template deployed into a moto member account is assumable by the audit."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.support.motoserver import MotoServer
from tests.support.orgworld import Organization

from conftest import ROOT
from r1policy.aws.orgrun import OrgRequest, audit_organization

DEPLOY = ROOT / "deploy" / "auditor-role"
STACKSET = DEPLOY / "r1policy-auditor-stackset.yaml"
MODULE = DEPLOY / "terraform"
POLICY = json.loads((ROOT / "policies" / "iam" / "r1policy-auditor.json").read_text())


def _template() -> dict[str, Any]:
    from cfnlint.decode import cfn_yaml

    template: dict[str, Any] = cfn_yaml.loads(STACKSET.read_text(), str(STACKSET))
    return template


def test_stackset_template_passes_cfn_lint() -> None:
    lint = Path(sys.executable).with_name("cfn-lint")
    result = subprocess.run([str(lint), str(STACKSET)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_stackset_template_grants_exactly_the_auditor_policy_and_trusts_the_audit_account() -> None:
    role = _template()["Resources"]["AuditorRole"]["Properties"]
    base, regions = role["Policies"]
    assert base["PolicyName"] == "r1policy-auditor"
    assert json.loads(json.dumps(base["PolicyDocument"])) == POLICY
    condition, listing, absent = regions["Fn::If"]
    assert (condition, absent) == ("ListsRegions", {"Ref": "AWS::NoValue"})
    assert listing["PolicyDocument"]["Statement"][0]["Action"] == [
        "account:ListRegions",
        "ec2:DescribeRegions",
    ]
    [trust] = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Action"] == "sts:AssumeRole" and trust["Effect"] == "Allow"
    assert trust["Principal"] == {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AuditAccountId}:root"}}
    assert trust["Condition"]["Fn::If"][0] == "HasExternalId"
    assert trust["Condition"]["Fn::If"][1] == {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}}
    assert "ManagedPolicyArns" not in role


def test_terraform_module_grants_exactly_the_auditor_policy_and_trusts_the_audit_account() -> None:
    import hcl2

    assert json.loads((MODULE / "r1policy-auditor.json").read_text()) == POLICY
    main = hcl2.loads((MODULE / "main.tf").read_text())
    resources = {
        name: body for block in main["resource"] for kind in block.values() for name, body in kind.items()
    }
    assert set(resources) == {"auditor", "regions"}
    kinds = {kind for block in main["resource"] for kind in block}
    assert kinds == {"aws_iam_role", "aws_iam_role_policy"}
    policies = {name for block in main["resource"] for name in block.get("aws_iam_role_policy", {})}
    assert policies == {"auditor", "regions"}
    assert '["account:ListRegions", "ec2:DescribeRegions"]' in (MODULE / "main.tf").read_text()
    text = (MODULE / "main.tf").read_text()
    assert 'policy = file("${path.module}/r1policy-auditor.json")' in text
    [trust] = [d["aws_iam_policy_document"]["trust"] for d in main["data"] if "aws_iam_policy_document" in d]
    [statement] = trust["statement"]
    assert statement["actions"] == ["sts:AssumeRole"]
    assert statement["principals"][0]["identifiers"] == [
        "arn:${data.aws_partition.current.partition}:iam::${var.audit_account_id}:root"
    ]
    variables = {k for block in hcl2.loads((MODULE / "variables.tf").read_text())["variable"] for k in block}
    assert variables == {"audit_account_id", "role_name", "external_id", "allow_region_listing", "tags"}


@pytest.mark.skipif(shutil.which("terraform") is None, reason="terraform is not installed")
def test_terraform_module_is_formatted() -> None:
    result = subprocess.run(
        ["terraform", "fmt", "-check", "-diff", str(MODULE)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stackset_template_deployed_in_a_member_account_lets_the_audit_in(moto_env: MotoServer) -> None:
    org = Organization.create(["workload"], auditor=False)
    member = org.members[0]
    member.world.client("cloudformation").create_stack(
        StackName="r1policy-auditor",
        TemplateBody=STACKSET.read_text(),
        Parameters=[
            {"ParameterKey": "AuditAccountId", "ParameterValue": org.management},
            {"ParameterKey": "ExternalId", "ParameterValue": "r1-nightly"},
        ],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    request = OrgRequest(
        role_name="r1policy-auditor", accounts=(member.account_id,), external_id="r1-nightly"
    )
    right = audit_organization(request)
    assert right.organization["accounts"][0]["status"] == "audited"
    wrong = audit_organization(OrgRequest(role_name="r1policy-auditor", accounts=(member.account_id,)))
    assert wrong.organization["accounts"][0]["status"] == "failed"
