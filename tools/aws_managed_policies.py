"""Regenerate policies/data/aws-managed-policies.json: AWS managed policies, for judging roles in files.

A role in a CloudFormation template or Terraform configuration attaches AWS managed policies by ARN; their
documents are not in the files. The table keeps, for every AWS managed policy AWS published at the time,
either its document (when it may allow an S3 object write / delete or kms:Decrypt on some resource) or
only its name (when it allows none of them on any resource, judged by r1policy's own evaluator with the
resource left open). The documents come from the copy of AWS's published managed-policy documents that moto
ships (moto.iam.aws_managed_policies), so the table says which moto release it was taken from.

    .venv/bin/python tools/aws_managed_policies.py
"""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import moto
from moto.iam import aws_managed_policies

from r1policy.facts import iamactions
from r1policy.facts.iampolicy import IamPolicyError, Scope, may_allow, parse_policy

OUT = Path(__file__).resolve().parents[1] / "policies" / "data" / "aws-managed-policies.json"


def main() -> None:
    data = json.loads(aws_managed_policies.aws_managed_policies_data)
    questions = iamactions.write_actions() | iamactions.delete_actions() | iamactions.decrypt_actions()
    anything = Scope("", prefix=True)  # every resource
    documents: dict[str, object] = {}
    harmless: list[str] = []
    for name, entry in sorted(data.items()):
        try:
            statements = parse_policy(entry["Document"], name)
        except IamPolicyError:
            documents[name] = entry["Document"]  # r1policy will report it when a role attaches it
            continue
        if may_allow(statements, frozenset(questions), anything):
            documents[name] = entry["Document"]
        else:
            harmless.append(name)
    table = {
        "as_of": _dt.date.today().isoformat(),
        "description": (
            "AWS managed policies for roles judged from files (R1-IAM-001). `documents`: the policies "
            "that may allow an S3 object write or delete (s3:PutObject*, s3:DeleteObject*) or "
            "kms:Decrypt on some resource, with their documents; `harmless`: the names of all others. "
            "A name in neither is unknown: the rule is an error for a role that attaches it "
            "(judge the live role instead). "
            "Regenerate with tools/aws_managed_policies.py."
        ),
        "sources": [
            f"moto {moto.__version__}, moto/iam/aws_managed_policies.py "
            "(AWS's published managed policy documents)",
            "https://docs.aws.amazon.com/aws-managed-policy/latest/reference/policy-list.html",
        ],
        "documents": documents,
        "harmless": harmless,
    }
    OUT.write_text(json.dumps(table, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(documents)} documents, {len(harmless)} harmless names")


if __name__ == "__main__":
    main()
