"""One bucket per name when a template is judged once per combination of allowed parameter values.

A bucket whose facts are the same in every combination is judged as it is; a fact that differs between
combinations (its encryption set from a parameter, say) is recorded as undecided, so that the rules
reading it are `error` — the bucket is one bucket, and some allowed value gives it the other setting.
"""

from __future__ import annotations

from typing import Any

from r1policy.core.model import FileBucket


def merge_buckets(runs: list[list[FileBucket]], varied: list[str]) -> list[FileBucket]:
    by_name: dict[str, list[FileBucket]] = {}
    for buckets in runs:
        for bucket in buckets:
            by_name.setdefault(bucket.name, []).append(bucket)
    out: list[FileBucket] = []
    for name in sorted(by_name):
        versions = by_name[name]
        first = versions[0]
        if all(v.record == first.record for v in versions):
            out.append(first)
            continue
        record: dict[str, Any] = dict(first.record)
        errors: dict[str, str] = dict(record.get("errors") or {})
        differing: set[str] = set()
        for version in versions[1:]:
            for key in set(record) | set(version.record):
                if key != "errors" and first.record.get(key) != version.record.get(key):
                    differing.add(key)
                    record.pop(key, None)
                    errors[key] = (
                        f"bucket {name}'s {key} differs between the allowed values of parameter(s) "
                        f"{', '.join(varied) or '(none)'}: some allowed value gives it another setting"
                    )
            for key, why in (version.record.get("errors") or {}).items():
                errors.setdefault(key, why)
        record["errors"] = errors
        settled = frozenset("bucket.acl" if key == "acl_grants" else f"bucket.{key}" for key in differing)
        out.append(
            FileBucket(name, record, first.origin, first.locations, first.kms_keys, first.accounts, settled)
        )
    return out
