"""BatchImportFindings limits, applied by r1policy itself (a test double such as moto checks none):
at most 100 findings and 6 MB of request body a call, no finding over 240 KB (formats.asff.fit)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from r1policy.formats.asff import MAX_FINDING_BYTES, size

MAX_FINDINGS_PER_CALL = 100
# 6 MB as AWS states it; counted in decimal megabytes, the stricter reading.
MAX_REQUEST_BYTES = 6 * 1000 * 1000
_ENVELOPE = len('{"Findings":[]}')


def batches(
    findings: Iterable[dict[str, Any]],
    *,
    max_count: int = MAX_FINDINGS_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[list[dict[str, Any]]]:
    """Consecutive batches, each as full as both limits allow (the fewest calls for this order).

    A finding over the per-finding limit is a bug upstream (`fit` shortens every finding first):
    it raises instead of being sent and refused, or dropped."""
    batch: list[dict[str, Any]] = []
    used = _ENVELOPE
    for finding in findings:
        n = size(finding)
        if n > MAX_FINDING_BYTES:
            raise ValueError(f"{finding.get('Id')}: {n} bytes, over the 240 KB a finding may have")
        extra = n + (1 if batch else 0)  # the comma between findings
        if batch and (len(batch) >= max_count or used + extra > max_bytes):
            yield batch
            batch, used, extra = [], _ENVELOPE, n
        batch.append(finding)
        used += extra
    if batch:
        yield batch
