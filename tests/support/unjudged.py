"""Assertions for inputs r1policy cannot see into (custom resources, macros, remote nested stacks, deferred
Terraform resources, ...): each stands as one deployment whose every rule is `error` at one line."""

from __future__ import annotations

from typing import Any

# Rules that every such deployment must have as `error` (new deployment rules only add to them).
UNJUDGED_RULES = {"R1-EP-001", "R1-EP-003", "R1-EP-004", "R1-EP-005", "R1-EP-007", "R1-HUB-001", "R1-S3-008"}


def unjudged(data: dict[str, Any]) -> dict[str, set[tuple[str, int]]]:
    """Deployment name -> the (status, line) of its errors, for deployments that could not be judged."""
    out: dict[str, set[tuple[str, int]]] = {}
    for f in data["findings"]:
        if f["status"] == "error" and f.get("deployment") and _is_unjudged(data, f["deployment"]):
            out.setdefault(f["deployment"], set()).add((f["status"], f["location"]["line"]))
    return out


def _is_unjudged(data: dict[str, Any], name: str) -> bool:
    statuses = {f["status"] for f in data["findings"] if f.get("deployment") == name}
    rules = {f["rule_id"] for f in data["findings"] if f.get("deployment") == name and f["status"] == "error"}
    return statuses <= {"error", "skipped"} and rules >= UNJUDGED_RULES


def assert_unjudged(data: dict[str, Any], name: str, line: int, *words: str) -> None:
    """`name` is one unjudged deployment: only errors (never a pass), at `line`, saying `words`."""
    found = [f for f in data["findings"] if f.get("deployment") == name]
    assert found, f"no findings for {name}"
    assert {f["status"] for f in found} <= {"error", "skipped"}
    assert {f["rule_id"] for f in found if f["status"] == "error"} >= UNJUDGED_RULES
    assert unjudged(data)[name] == {("error", line)}
    message = next(f["message"] for f in found if f["status"] == "error")
    for word in words:
        assert word in message, message
