"""`r1policy snapshot`: capture the live AWS state the policies need into one state-v1 JSON file.

With PATHs, it reads what those manifests reference (as `check --live` does); without PATHs, or
with ``--enumerate``, it also lists every SageMaker model, endpoint config and endpoint in
``--regions`` (what `audit --state` needs) and the buckets they load from. Read-only.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from r1policy.formats.output import write_atomic


def run_snapshot(args: argparse.Namespace) -> int:
    from r1policy.aws.collect import collect_state
    from r1policy.aws.live import references
    from r1policy.aws.options import accounts_from_args, regions_from_args, validate_account_options
    from r1policy.sources.discover import discover

    validate_account_options(args)
    deployments = discover(args.paths).deployments if args.paths else []
    accounts = accounts_from_args(args)
    regions = regions_from_args(args, accounts)
    buckets, endpoints, keys = references(deployments, regions[0])
    enumerate_all = args.enumerate or not args.paths
    if enumerate_all:
        regions = list(dict.fromkeys([*regions, *sorted({r for r, _ in endpoints})]))
    doc = collect_state(
        accounts,
        regions=regions,
        buckets=buckets,
        endpoints=endpoints,
        kms_keys=keys,
        sagemaker=enumerate_all,
    )
    write_atomic(args.output, json.dumps(doc, indent=2, sort_keys=False) + "\n")
    print(_summary(args.output, doc), file=sys.stderr)
    return 0


def _summary(path: object, doc: dict[str, Any]) -> str:
    counts = {"models": 0, "endpoint_configs": 0, "endpoints": 0}
    unreadable = 0
    for regions in doc.get("sagemaker", {}).values():
        for entry in regions.values():
            for kind in counts:
                counts[kind] += len(entry.get(kind, []))
            unreadable += len(entry.get("errors", {}))
    for part in ("buckets", "accounts", "kms_keys"):
        unreadable += sum(len(v.get("errors", {})) for v in doc.get(part, {}).values())
    text = (
        f"r1policy: wrote {path}: {len(doc['buckets'])} buckets, {len(doc['kms_keys'])} KMS keys, "
        f"{counts['models']} models, {counts['endpoint_configs']} endpoint configs, "
        f"{counts['endpoints']} endpoints"
    )
    if unreadable:
        text += f"; {unreadable} facts unreadable (under `errors`: the rules needing them report error)"
    return text
