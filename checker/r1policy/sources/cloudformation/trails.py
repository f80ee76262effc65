"""AWS::CloudTrail::Trail resources of a template → trail records (R1-S3-010), CloudTrail's own shapes.

A trail of the same stack is in the stack's region. Values the template does not decide stay as the
template writes them (`arn:aws:s3:::${WeightsBucket}/` names the template's generated bucket); an
undecided IsLogging is recorded under the trail's `errors`. When no trail of the template records the
bucket's writes, the template does not decide the rule (a trail may exist elsewhere in the account): the
bucket record says so under `errors["trails"]` (`error`, or skipped with --static).
"""

from __future__ import annotations

from typing import Any

from r1policy.facts.trails import TrailError, recorders
from r1policy.sources.cloudformation.resolve import Template
from r1policy.sources.cloudformation.values import display, iter_unknowns, with_displays

TRAIL = "AWS::CloudTrail::Trail"
STACK_REGION = "(the stack's region)"


def file_trails(template: Template, live: set[str]) -> list[dict[str, Any]]:
    trails = []
    for logical in sorted(live):
        if template.type_of(logical) != TRAIL:
            continue
        props = template.resolve(template.properties(logical), ("Resources", logical, "Properties"))
        record: dict[str, Any] = {
            "name": display(props.get("TrailName", logical)),
            "home_region": template.pseudo.get("AWS::Region", STACK_REGION),
            "multi_region": props.get("IsMultiRegionTrail") is True
            or str(props.get("IsMultiRegionTrail")).lower() == "true",
            "event_selectors": with_displays(props.get("EventSelectors")),
            "advanced_event_selectors": with_displays(props.get("AdvancedEventSelectors")),
        }
        logging = props.get("IsLogging")
        unknown = list(iter_unknowns(logging))
        if unknown:
            record["errors"] = {"logging": f"IsLogging is not decided by the template: {unknown[0].why}"}
        else:
            record["logging"] = logging is True or str(logging).lower() == "true"
        trails.append(record)
    return trails


def attach(
    record: dict[str, Any],
    errors: dict[str, str],
    name: str,
    trails: list[dict[str, Any]],
    where: str = "template",
    default_region: str = STACK_REGION,
) -> None:
    """Put the file's trails on the bucket record when one of them records the bucket's writes."""
    region = record.get("region", default_region)
    try:
        found, undecided = recorders(trails, name, region)
    except TrailError as exc:
        errors["trails"] = f"a CloudTrail trail of the {where} cannot be read: {exc}"
        return
    if found:
        record["trails"] = trails
        return
    names = ", ".join(t["name"] for t in trails) or "none"
    errors["trails"] = (
        f"no CloudTrail trail of the {where} records the object writes of bucket {name} (trails: {names}"
        + (f"; {undecided}" if undecided else "")
        + f"); a trail outside the {where} may: check with --state or --live"
    )
