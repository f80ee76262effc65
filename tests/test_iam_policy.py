"""The IAM policy evaluator behind R1-IAM-001 and the audit's "Who can change the weights" (no AWS)."""

from __future__ import annotations

from typing import Any

import pytest

from r1policy.audit.weights import weights_access
from r1policy.core.model import Deployment, ModelSource, SourceKind
from r1policy.facts import iamactions
from r1policy.facts.iampolicy import IamPolicyError, Scope, known_operator, may_allow, parse_policy
from r1policy.facts.iamrole import describe, judge_role
from r1policy.project.state import StateSnapshot

ROLE = "arn:aws:iam::111122223333:role/r"
MODEL = "s3://acme-llm-weights/deepseek-r1/"
KEY = "arn:aws:kms:us-east-1:111122223333:key/k1"
PREFIX = Scope("arn:aws:s3:::acme-llm-weights/deepseek-r1/", prefix=True)


def _statements(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _writes(*statements: dict[str, Any]) -> set[str]:
    parsed = parse_policy(_statements(*statements), "p")
    return {g.action for g in may_allow(parsed, iamactions.write_actions(), PREFIX)}


def test_the_action_sets_come_from_the_database() -> None:
    writes = iamactions.write_actions()
    assert {"s3:putobject", "s3:putobjectacl", "s3:putobjectversionacl"} <= writes
    assert "s3:getobject" not in writes
    assert {"s3:deleteobject", "s3:deleteobjectversion"} <= iamactions.delete_actions()
    assert iamactions.decrypt_actions() == {"kms:decrypt"}
    assert len(iamactions.all_actions()) > 15000


@pytest.mark.parametrize(
    ("resource", "writes"),
    [
        ("*", True),
        ("arn:aws:s3:::acme-llm-weights/*", True),
        ("arn:aws:s3:::acme-llm-weights/deepseek-r1/model-0000?-of-00163.safetensors", True),
        ("arn:aws:s3:::acme-*", True),
        ("arn:aws:s3:::*sagemaker*", True),  # a key under the prefix may contain the word
        ("arn:aws:s3:::acme-llm-weights/${aws:username}/*", True),  # a variable may be anything
        ("arn:aws:s3:::acme-llm-weights/capture/*", False),
        ("arn:aws:s3:::acme-llm-weights", False),  # the bucket, not its objects
        ("arn:aws:s3:::other-bucket/*", False),
        ("arn:aws:s3:::Acme-llm-weights/*", False),  # resources are case-sensitive
    ],
)
def test_resource_patterns_against_the_model_prefix(resource: str, writes: bool) -> None:
    found = _writes({"Effect": "Allow", "Action": "s3:PutObject", "Resource": resource})
    assert (found == {"s3:putobject"}) is writes


@pytest.mark.parametrize(
    ("deny", "subtracts"),
    [
        ({"Resource": "arn:aws:s3:::acme-llm-weights/*"}, True),
        ({"Resource": "*"}, True),
        ({"Resource": "arn:aws:s3:::acme-llm-weights/deepseek-r1/*"}, True),
        ({"Resource": "arn:aws:s3:::acme-llm-weights/deepseek-r1/*.json"}, False),  # part of the prefix
        ({"Resource": "arn:aws:s3:::acme-llm-weights/${aws:username}/*"}, False),
        ({"NotResource": "arn:aws:s3:::other/*"}, True),
        ({"NotResource": "arn:aws:s3:::acme-llm-weights/deepseek-r1/a"}, False),
        ({"Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}, False),
    ],
)
def test_explicit_deny_subtracts_only_when_it_covers_everything(
    deny: dict[str, Any], subtracts: bool
) -> None:
    allow = {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*"}
    found = _writes(allow, {"Effect": "Deny", "Action": "s3:Put*", **deny})
    assert (found == set()) is subtracts


def test_not_action_deny_and_case_of_actions() -> None:
    allow = {"Effect": "Allow", "Action": "S3:PUTOBJECT*", "Resource": "*"}
    assert _writes(allow) >= {"s3:putobject", "s3:putobjectacl"}
    deny = {"Effect": "Deny", "NotAction": "s3:PutObjectAcl", "Resource": "*"}
    assert _writes(allow, deny) == {"s3:putobjectacl"}


def test_conditional_allow_is_reported_as_conditional() -> None:
    parsed = parse_policy(
        _statements(
            {
                "Effect": "Allow",
                "Action": "s3:PutObject",
                "Resource": "*",
                "Condition": {"ForAnyValue:StringLikeIfExists": {"aws:TagKeys": "x*"}},
            }
        ),
        "p",
    )
    [grant] = may_allow(parsed, iamactions.write_actions(), PREFIX)
    assert grant.conditional
    assert describe([grant]) == "s3:PutObject (conditional) through p"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ("{not json", "document"),
        ([], "document"),
        ({"Version": "2012-10-17"}, "Statement"),
        ({"Statement": [], "Principal": "*"}, "Principal"),
        ({"Version": "2020-01-01", "Statement": []}, "Version"),
        ({"Statement": ["x"]}, "Statement[0]"),
        ({"Statement": [{"Effect": "allow", "Action": "*", "Resource": "*"}]}, "Statement[0].Effect"),
        ({"Statement": [{"Effect": "Allow", "Resource": "*"}]}, "Statement[0].Action"),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}]},
            "Statement[0].Action",
        ),
        ({"Statement": [{"Effect": "Allow", "Action": "*"}]}, "Statement[0].Resource"),
        ({"Statement": [{"Effect": "Allow", "Action": [1], "Resource": "*"}]}, "Statement[0].Action"),
        ({"Statement": [{"Effect": "Allow", "Action": [], "Resource": "*"}]}, "Statement[0].Action"),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}]},
            "Statement[0].Principal",
        ),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Actions": "*"}]},
            "Statement[0].Actions",
        ),
        (
            {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": "x"}]},
            "Statement[0].Condition",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"StringEqualz": {}}}
                ]
            },
            "Statement[0].Condition.StringEqualz",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"NullIfExists": {}}}
                ]
            },
            "Statement[0].Condition.NullIfExists",
        ),
        (
            {
                "Statement": [
                    {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"Bool": "true"}}
                ]
            },
            "Statement[0].Condition.Bool",
        ),
    ],
)
def test_bad_documents_name_the_field(document: Any, field: str) -> None:
    with pytest.raises(IamPolicyError) as caught:
        parse_policy(document, "inline-x")
    assert caught.value.field == field
    assert str(caught.value).startswith(f"policy inline-x, {field}: ")


@pytest.mark.parametrize(
    "operator",
    [
        "StringEquals",
        "stringlike",
        "ForAllValues:StringEquals",
        "ArnLikeIfExists",
        "Null",
        "DateGreaterThanEquals",
    ],
)
def test_known_operators(operator: str) -> None:
    assert known_operator(operator)


def test_weights_access_lists_writers_deleters_decrypters_and_the_unjudged() -> None:
    read = {"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"], "Resource": "*"}]}
    delete = {"Statement": [{"Effect": "Allow", "Action": "s3:DeleteObject*", "Resource": "*"}]}
    state = StateSnapshot(
        path="s.json",
        captured_at="",
        buckets={
            "acme-llm-weights": {
                "encryption": {"algorithm": "aws:kms", "kms_key": KEY},
                "policy": _statements(
                    {
                        "Effect": "Allow",
                        "Principal": {"AWS": "444455556666"},
                        "Action": "s3:PutObject",
                        "Resource": "*",
                    }
                ),
            }
        },
        iam_roles={
            f"{ROLE}-read": {"inline_policies": {"read": read}},
            f"{ROLE}-delete": {"inline_policies": {"delete": delete}},
            f"{ROLE}-broken": {"errors": {"role": "AccessDenied on GetRole"}},
        },
    )

    def dep(name: str, role: str | None) -> Deployment:
        return Deployment(name, ModelSource(SourceKind.S3, s3_uri=MODEL), None, None, execution_role=role)

    rows = weights_access(
        [
            dep("a", f"{ROLE}-read"),
            dep("b", f"{ROLE}-delete"),
            dep("c", f"{ROLE}-broken"),
            dep("d", f"{ROLE}-missing"),
            dep("e", None),
        ],
        state,
    )
    assert rows == [
        {
            "bucket": "acme-llm-weights",
            "writers": ["bucket policy: 444455556666"],
            "deleters": [f"{ROLE}-delete"],
            "decrypters": [f"{ROLE}-read"],
            "unknown": [
                f"{ROLE}-broken: role of role {ROLE}-broken could not be read: AccessDenied on GetRole",
                f"{ROLE}-missing: not read",
                "e: no execution role",
            ],
        }
    ]


def test_judge_role_kms_key_scope() -> None:
    record = {
        "inline_policies": {"k": {"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": KEY}]}}
    }
    assert [g.action for g in judge_role(record, ROLE, None, KEY).decrypts] == ["kms:decrypt"]
    assert judge_role(record, ROLE, None, KEY + "-other").decrypts == []
