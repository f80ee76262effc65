"""Which CloudTrail trails record every object write of a bucket (R1-S3-010).

A trail record (state-v1 bucket record, `trails`) keeps CloudTrail's own shapes:
`{"name", "home_region", "multi_region", "logging", "event_selectors", "advanced_event_selectors"}`, the
selectors as DescribeTrails / GetEventSelectors return them. A trail records the bucket's writes when it is
logging, covers the bucket's region (multi-region, or its home region is the bucket's), and

- basic event selectors: a selector with ReadWriteType `All` or `WriteOnly` has a data resource of type
  `AWS::S3::Object` whose value is `arn:aws:s3` / `arn:aws:s3:::` (every bucket) or
  `arn:aws:s3:::<bucket>/` (the whole bucket; a narrower prefix records only part of it);
- advanced event selectors: a selector whose every field selector matches every write event on any object
  of the bucket (`eventCategory` = Data, `resources.type` = AWS::S3::Object, `readOnly` not `true`,
  `resources.ARN` / `eventName` / `eventSource` conditions that exclude no write). A field r1policy does not
  know narrows the selector in a way it cannot judge: the selector does not count.

Conservative for an obligation: only what is proven to record every write counts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# The object writes a trail must record (a sample of S3's object-level write API: each is a data event).
WRITE_EVENTS = (
    "PutObject",
    "CopyObject",
    "CompleteMultipartUpload",
    "DeleteObject",
    "DeleteObjects",
    "PutObjectAcl",
    "RestoreObject",
)
_EVERY_BUCKET = ("arn:aws:s3", "arn:aws:s3:::")
# An object key r1policy may not foresee: it must be matched by every condition on resources.ARN.
_ANY_KEY = "\x00any-key"
_OPERATORS = ("Equals", "StartsWith", "EndsWith", "NotEquals", "NotStartsWith", "NotEndsWith")


class TrailError(ValueError):
    """A trail record r1policy cannot read."""


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TrailError(f"{what} must be a list")
    return value


def _basic(selectors: Any, bucket: str) -> bool:
    whole = f"arn:aws:s3:::{bucket}/"
    for selector in _list(selectors, "EventSelectors"):
        if not isinstance(selector, dict):
            raise TrailError("an event selector must be an object")
        if selector.get("ReadWriteType", "All") not in ("All", "WriteOnly"):
            continue
        for resource in _list(selector.get("DataResources"), "DataResources"):
            if not isinstance(resource, dict):
                raise TrailError("a data resource must be an object")
            if resource.get("Type") != "AWS::S3::Object":
                continue
            values = [str(v) for v in _list(resource.get("Values"), "DataResources.Values")]
            if any(v in _EVERY_BUCKET or v in (whole, whole[:-1]) for v in values):
                return True
    return False


def _op(name: str, values: list[str]) -> Callable[[str], bool]:
    """Whether a value satisfies one operator of a field selector (`_ANY_KEY`: an unforeseen object key)."""

    def one(value: str, v: str) -> bool:
        if _ANY_KEY in value:  # the ARN of an arbitrary object: `prefix` + any key
            prefix = value.split(_ANY_KEY)[0]
            if name == "StartsWith":
                return prefix.startswith(v)
            if name == "NotStartsWith":
                return not prefix.startswith(v) and not v.startswith(prefix)
            if name == "NotEquals":
                return not v.startswith(prefix)
            return False  # an exact ARN or a suffix only ever matches some keys, and excludes some
        if name.endswith("Equals"):
            hit = value == v
        else:
            hit = value.startswith(v) if name.endswith("StartsWith") else value.endswith(v)
        return not hit if name.startswith("Not") else hit

    if name.startswith("Not"):
        return lambda value: all(one(value, v) for v in values)
    return lambda value: any(one(value, v) for v in values)


def _field_matches(field: dict[str, Any], events: list[dict[str, str]]) -> bool:
    name = field.get("Field")
    if not isinstance(name, str):
        raise TrailError("a field selector has no Field")
    unknown = set(field) - {"Field", *_OPERATORS}
    if unknown:
        raise TrailError(f"field selector {name} has operators r1policy does not know: {sorted(unknown)}")
    checks = [_op(op, [str(v) for v in _list(field[op], f"{name}.{op}")]) for op in _OPERATORS if op in field]
    return all(check(event[name]) for event in events for check in checks) if name in events[0] else False


def _advanced(selectors: Any, bucket: str) -> bool:
    events = [
        {
            "eventCategory": "Data",
            "resources.type": "AWS::S3::Object",
            "readOnly": "false",
            "eventName": event,
            "eventSource": "s3.amazonaws.com",
            "resources.ARN": f"arn:aws:s3:::{bucket}/{_ANY_KEY}",
        }
        for event in WRITE_EVENTS
    ]
    for selector in _list(selectors, "AdvancedEventSelectors"):
        if not isinstance(selector, dict):
            raise TrailError("an advanced event selector must be an object")
        fields = _list(selector.get("FieldSelectors"), "FieldSelectors")
        if not all(isinstance(f, dict) for f in fields):
            raise TrailError("a field selector must be an object")
        category = [f for f in fields if f.get("Field") == "eventCategory"]
        if category and all(_field_matches(f, events) for f in fields):
            return True
    return False


def records_writes(trail: dict[str, Any], bucket: str) -> bool:
    """Whether the trail's selectors record every object write of the bucket (region and logging aside)."""
    if trail.get("advanced_event_selectors"):
        return _advanced(trail["advanced_event_selectors"], bucket)
    return _basic(trail.get("event_selectors"), bucket)


def recorders(trails: Any, bucket: str, region: str | None) -> tuple[list[str], str]:
    """The trails that record every write of the bucket; and, when none does, why that is undecided
    ("" when it is decided that none does)."""
    found: list[str] = []
    undecided = ""
    for trail in _list(trails, "trails"):
        if not isinstance(trail, dict) or not isinstance(trail.get("name"), str):
            raise TrailError("a trail record must be an object with a name")
        if "errors" in trail:
            why = "; ".join(f"{k}: {v}" for k, v in sorted(trail["errors"].items()))
            undecided = f"trail {trail['name']} could not be read ({why})"
            continue
        if not trail.get("logging") or not records_writes(trail, bucket):
            continue
        if trail.get("multi_region"):
            found.append(trail["name"])
        elif region is None:
            undecided = f"single-region trail {trail['name']} records the bucket only if it is in its region"
        elif trail.get("home_region") == region:
            found.append(trail["name"])
    return sorted(found), undecided
