"""aws_cloudtrail resources of a Terraform plan → trail records (R1-S3-010), in CloudTrail's own shapes.

`enable_logging` defaults to true, `is_multi_region_trail` to false (the provider's defaults); a trail
without a `region` argument is in the provider's region. A value known only after apply stays as its
placeholder (it never matches a bucket, so it never proves a record). See cloudformation/trails.py for
how the records are put on a bucket.
"""

from __future__ import annotations

from typing import Any

from r1policy.sources.cloudformation.values import Unknown, with_displays
from r1policy.sources.terraform.plan import Plan, Resource

_OPERATORS = {
    "equals": "Equals",
    "starts_with": "StartsWith",
    "ends_with": "EndsWith",
    "not_equals": "NotEquals",
    "not_starts_with": "NotStartsWith",
    "not_ends_with": "NotEndsWith",
}


def _selectors(res: Resource) -> tuple[list[dict[str, Any]] | None, list[dict[str, Any]] | None]:
    basic = [
        {
            "ReadWriteType": s.get("read_write_type") or "All",
            "DataResources": [
                {"Type": d.get("type"), "Values": d.get("values") or []} for d in s.get("data_resource") or []
            ],
        }
        for s in with_displays(res.value("event_selector")) or []
        if isinstance(s, dict)
    ]
    advanced = [
        {
            "Name": s.get("name") or "",
            "FieldSelectors": [
                {"Field": f.get("field"), **{ours: f[tf] for tf, ours in _OPERATORS.items() if f.get(tf)}}
                for f in s.get("field_selector") or []
                if isinstance(f, dict)
            ],
        }
        for s in with_displays(res.value("advanced_event_selector")) or []
        if isinstance(s, dict)
    ]
    return basic or None, advanced or None


def plan_trails(plan: Plan) -> list[dict[str, Any]]:
    trails = []
    for res in plan.resources:
        if res.type != "aws_cloudtrail":
            continue
        logging = res.value("enable_logging")
        basic, advanced = _selectors(res)
        record: dict[str, Any] = {
            "name": str(with_displays(res.value("name")) or res.address),
            "home_region": str(
                with_displays(res.value("region")) or plan.region(res) or "(the provider's region)"
            ),
            "multi_region": res.value("is_multi_region_trail") is True,
            "event_selectors": basic,
            "advanced_event_selectors": advanced,
        }
        if isinstance(logging, Unknown):
            record["errors"] = {"logging": logging.why}
        else:
            record["logging"] = logging is not False
        trails.append(record)
    return trails
