"""moto gaps for an AWS Organization, patched inside moto's own classes in the server child process
(``tests/support/motoserver.py`` calls ``apply_org_patches()``); the client side still talks real HTTP.

* STS AssumeRole into an account created through Organizations ``CreateAccount`` honours the role's
  trust policy, as AWS does: the role must exist in that account, its trust policy must allow the
  caller's account (``Principal.AWS`` = the account id, ``arn:aws:iam::<id>:root`` or ``*``), and a
  ``StringEquals`` ``sts:ExternalId`` condition must match the ``ExternalId`` sent. Otherwise:
  ``AccessDenied``. ``OrganizationAccountAccessRole`` exists in every such account and trusts the
  management account (AWS creates it with the account), so tests seed member accounts through it.
  moto 5.2 issues credentials for any role ARN, existing or not. Accounts that did not come from
  ``CreateAccount`` keep moto's behaviour (other tests assume roles that were never created).
* Organizations ``ListAccounts`` by an account that is in no organization answers
  ``AWSOrganizationsNotInUseException``, as AWS does (moto 5.2: an empty list).
* Account ``ListRegions`` (moto 5.2: "Not yet implemented"): the regions EC2 knows, the opt-in ones
  (see ``OPT_IN``) ``DISABLED``, the others ``ENABLED_BY_DEFAULT``; ``RegionOptStatusContains`` filters.
"""

from __future__ import annotations

import json
from typing import Any

ORG_ROLE = "OrganizationAccountAccessRole"
OPT_IN = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)
_MEMBERS: set[str] = set()


def _principals(statement: dict[str, Any]) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    if not isinstance(principal, dict):
        return []
    values = principal.get("AWS", [])
    return [values] if isinstance(values, str) else list(values)


def _trusts(document: str, caller: str, external_id: str | None) -> bool:
    policy = json.loads(document)
    statements = policy.get("Statement", [])
    for statement in [statements] if isinstance(statements, dict) else statements:
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        if statement.get("Effect") != "Allow" or not {"sts:AssumeRole", "sts:*", "*"} & set(actions):
            continue
        allowed = {p for p in _principals(statement)}
        if not allowed & {"*", caller, f"arn:aws:iam::{caller}:root"}:
            continue
        wanted = ((statement.get("Condition") or {}).get("StringEquals") or {}).get("sts:ExternalId")
        if wanted is None or external_id in ([wanted] if isinstance(wanted, str) else wanted):
            return True
    return False


def _patch_assume_role() -> None:
    from moto.iam.models import iam_backends
    from moto.sts import models
    from moto.sts.exceptions import STSClientError

    original = models.STSBackend.assume_role

    def assume_role(self: Any, region_name: str, role_session_name: str, role_arn: str, **kw: Any) -> Any:
        target, _, name = role_arn.split(":", 4)[4].partition(":role/")
        if target in _MEMBERS and name.rsplit("/", 1)[-1] != ORG_ROLE:
            roles = {r.name: r for r in iam_backends[target]["global"].get_roles()}
            role = roles.get(name.rsplit("/", 1)[-1])
            if role is None or not _trusts(
                role.assume_role_policy_document, self.account_id, kw.get("external_id")
            ):
                raise STSClientError(
                    "AccessDenied",
                    f"User: arn:aws:iam::{self.account_id}:root is not authorized to perform: "
                    f"sts:AssumeRole on resource: {role_arn}",
                )
        return original(self, region_name, role_session_name, role_arn, **kw)

    models.STSBackend.assume_role = assume_role  # type: ignore[method-assign]


def _patch_create_account() -> None:
    from moto.organizations import models
    from moto.organizations.exceptions import AWSOrganizationsNotInUseException

    original = models.OrganizationsBackend.create_account
    original_list = models.OrganizationsBackend.list_accounts

    def list_accounts(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self.org is None:
            raise AWSOrganizationsNotInUseException
        return original_list(self, *args, **kwargs)

    models.OrganizationsBackend.list_accounts = list_accounts  # type: ignore[method-assign]

    def create_account(self: Any, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = original(self, **kwargs)
        _MEMBERS.add(result["CreateAccountStatus"]["AccountId"])
        return result

    models.OrganizationsBackend.create_account = create_account  # type: ignore[method-assign]


def _patch_list_regions() -> None:
    from moto.account import responses, urls
    from moto.core.responses import ActionResult
    from moto.ec2.models import ec2_backends

    def list_regions(self: Any) -> ActionResult:
        wanted = self._get_param("RegionOptStatusContains") or []
        regions = []
        for region in sorted(r.name for r in ec2_backends[self.current_account]["us-east-1"].regions):
            status = "DISABLED" if region in OPT_IN else "ENABLED_BY_DEFAULT"
            if not wanted or status in wanted:
                regions.append({"RegionName": region, "RegionOptStatus": status})
        return ActionResult({"Regions": regions})

    responses.AccountResponse.list_regions = list_regions  # type: ignore[attr-defined]
    urls.url_paths["{0}/listRegions$"] = responses.AccountResponse.dispatch


def apply_org_patches() -> None:
    _patch_create_account()
    _patch_assume_role()
    _patch_list_regions()
