"""Import ASFF findings into one account's Security Hub in one region, and archive what was resolved.

The account's earlier r1policy findings are read with GetFindings (filtered by GeneratorId prefix
`r1policy/`, ACTIVE, this account and product; the filter is applied again here, as a test double may
ignore it). Those of the audited regions that the new report no longer has are re-imported with
`RecordState: ARCHIVED`; those it still has keep their `CreatedAt`. Throttling is retried by botocore
(adaptive mode, with backoff); each call's retries are counted from its response metadata.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions

from r1policy.aws.errors import CALL_ERRORS, classify, error_code
from r1policy.formats.asff import GENERATOR_PREFIX
from r1policy.securityhub.batches import batches

NOT_ENABLED = frozenset({"InvalidAccessException"})


@dataclass
class Outcome:
    """What one publish did: counts, and every finding not imported with its reason."""

    imported: int = 0
    archived: int = 0
    calls: int = 0
    retries: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (finding id, reason)

    def merge(self, other: Outcome) -> None:
        self.imported += other.imported
        self.archived += other.archived
        self.calls += other.calls
        self.retries += other.retries
        self.failed += other.failed


def _reason(exc: Exception, account: str, region: str) -> str:
    if isinstance(exc, botocore.exceptions.ClientError) and error_code(exc) in NOT_ENABLED:
        return f"Security Hub is not enabled in account {account}, {region} ({classify(exc)})"
    return f"{classify(exc)} (account {account}, {region})"


def _retries(response: dict[str, Any]) -> int:
    return int(response.get("ResponseMetadata", {}).get("RetryAttempts", 0))


def previous_findings(client: Any, account: str, product: str, outcome: Outcome) -> dict[str, dict[str, Any]]:
    """The account's ACTIVE r1policy findings of this product, by Id."""
    filters = {
        "GeneratorId": [{"Value": GENERATOR_PREFIX, "Comparison": "PREFIX"}],
        "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
        "AwsAccountId": [{"Value": account, "Comparison": "EQUALS"}],
        "ProductArn": [{"Value": product, "Comparison": "EQUALS"}],
    }
    found: dict[str, dict[str, Any]] = {}
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"Filters": filters, "MaxResults": 100}
        if token:
            kwargs["NextToken"] = token
        response = client.get_findings(**kwargs)
        outcome.calls += 1
        outcome.retries += _retries(response)
        for f in response.get("Findings", []):
            if (
                str(f.get("GeneratorId", "")).startswith(GENERATOR_PREFIX)
                and f.get("RecordState", "ACTIVE") == "ACTIVE"
                and f.get("AwsAccountId") == account
                and f.get("ProductArn") == product
            ):
                found[f["Id"]] = f
        token = response.get("NextToken")
        if not token:
            return found


def _archived(previous: dict[str, Any], now: str) -> dict[str, Any]:
    return dict(previous) | {"RecordState": "ARCHIVED", "UpdatedAt": now}


def import_findings(
    client: Any,
    findings: list[dict[str, Any]],
    *,
    account: str,
    region: str,
    product: str,
    scope_regions: Iterable[str],
    now: str,
) -> Outcome:
    """Import `findings` (all of this account and import region) and archive resolved earlier ones."""
    outcome = Outcome()
    try:
        previous = previous_findings(client, account, product, outcome)
    except CALL_ERRORS as exc:
        reason = _reason(exc, account, region)
        outcome.failed += [(f["Id"], reason) for f in findings]
        return outcome
    current = {f["Id"] for f in findings}
    scope = set(scope_regions)
    for f in findings:
        earlier = previous.get(f["Id"])
        if earlier is not None and earlier.get("CreatedAt"):
            f["CreatedAt"] = earlier["CreatedAt"]
    resolved = [
        _archived(p, now)
        for pid, p in sorted(previous.items())
        if pid not in current and (not scope or p.get("Region", region) in scope)
    ]
    for batch in batches([*findings, *resolved]):
        _send(client, batch, account, region, outcome)
    return outcome


def _send(client: Any, batch: list[dict[str, Any]], account: str, region: str, outcome: Outcome) -> None:
    try:
        response = client.batch_import_findings(Findings=batch)
    except CALL_ERRORS as exc:
        outcome.calls += 1
        if isinstance(exc, botocore.exceptions.ClientError):
            outcome.retries += _retries(exc.response)
        reason = _reason(exc, account, region)
        outcome.failed += [(f["Id"], reason) for f in batch]
        return
    outcome.calls += 1
    outcome.retries += _retries(response)
    failed = {
        str(item.get("Id", "")): f"{item.get('ErrorCode', 'Failed')}: {item.get('ErrorMessage', '')}".rstrip(
            ": "
        )
        for item in response.get("FailedFindings", [])
    }
    outcome.failed += [(fid, reason) for fid, reason in failed.items()]
    for f in batch:
        if f["Id"] in failed:
            continue
        if f.get("RecordState") == "ARCHIVED":
            outcome.archived += 1
        else:
            outcome.imported += 1
