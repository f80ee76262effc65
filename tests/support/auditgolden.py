"""The audit golden world: the demo world plus a two-region world of buckets and endpoints that covers
every S3 fact variant, seeded on a moto server; and the normalisation of an audit report for the
golden comparison (timing fields and moto's random KMS key ids removed).

Record the golden report (only when the findings are meant to change, with the diff reviewed)::

    .venv/bin/python tests/support/auditgolden.py tests/golden/audit-world.json
"""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
REGIONS = ("us-east-1", "eu-west-1")
GOLDEN = ROOT / "tests" / "golden" / "audit-world.json"
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VOLATILE = ("run_id", "started_at", "finished_at", "baseline")


def _bucket(i: int) -> Any:
    from tests.support.awsworld import Bucket

    region = REGIONS[i % 2]
    name = f"golden-weights-{i:02d}"
    if i % 2 == 0:
        return Bucket(name, region=region)
    return Bucket(
        name,
        region=region,
        encryption=("AES256", "aws-kms", None)[i % 3],
        block_public_access=i % 5 != 1,
        policy="public" if i % 7 == 1 else None,
        public_acl=i == 5,
        versioning=i % 4 != 1,
        object_lock=i == 9,
        logging=False,
    )


def seed_golden_world(buckets: int = 12, endpoints: int = 8) -> None:
    """The demo world (us-east-1) and ``buckets`` buckets / ``endpoints`` endpoints over two regions."""
    import importlib.util

    from tests.support.awsworld import Endpoint, World

    spec = importlib.util.spec_from_file_location("seed_world", ROOT / "examples/aws-demo/seed_world.py")
    assert spec is not None and spec.loader is not None
    seed_world = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(seed_world)
    seed_world.seed()
    world = World()
    world.account_block_public_access()
    specs = [world.seed_bucket(_bucket(i)) for i in range(buckets)]
    for j in range(endpoints):
        target = specs[j % buckets]
        world.seed_endpoint(
            Endpoint(
                f"golden-endpoint-{j:02d}",
                target.name,
                region=target.region,
                network_isolation=j % 3 != 1,
                vpc=j % 4 != 1,
                instance_type=("ml.g5.2xlarge", "ml.p4d.24xlarge", "ml.g4dn.xlarge")[j % 3],
                kms_key="auto" if j % 2 else None,
                model_exists=j != 5,
                role=f"golden-execution-{j % 2}",  # the demo world owns `sagemaker-execution`
            )
        )


def audit_args(report_dir: Path) -> list[str]:
    config = ROOT / "examples" / "aws-demo" / "r1policy.yaml"
    return ["audit", "--regions", ",".join(REGIONS), "--report-dir", str(report_dir), "--config", str(config)]


def normalise(doc: dict[str, Any]) -> Any:
    """The report without its timing fields, moto's random key ids replaced by ``<uuid>``."""
    audit = dict(doc.get("audit") or {})
    for key in _VOLATILE:
        audit.pop(key, None)
    audit["trend"] = [
        {k: v for k, v in point.items() if k not in _VOLATILE} for point in audit.get("trend") or ()
    ]
    doc = json.loads(_UUID.sub("<uuid>", json.dumps({**doc, "audit": audit}, sort_keys=True)))
    # The order of two findings of one rule on one subject is not part of the contract.
    doc["findings"] = sorted(doc["findings"], key=_canonical)
    for key, changes in (doc["audit"].get("diff") or {}).items():
        if isinstance(changes, list):
            doc["audit"]["diff"][key] = sorted(changes, key=_canonical)
    return doc


def _canonical(item: Any) -> str:
    return json.dumps(item, sort_keys=True)


def run_golden_audit(report_dir: Path) -> Any:
    """Run the audit in this process (the CLI's ``main``) and return the normalised audit.json."""
    from r1policy.audit.history import run_folders
    from r1policy.cli import main

    code = main(audit_args(report_dir))
    if code not in (0, 1):
        raise RuntimeError(f"audit exited {code}")
    return normalise(json.loads((run_folders(report_dir)[-1] / "audit.json").read_text()))


def _record(out: Path) -> int:
    import tempfile

    from tests.support.motoserver import moto_server

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGIONS[0],
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        HF_HUB_OFFLINE="1",
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        os.environ.pop(name, None)
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp:
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        os.environ["R1POLICY_CACHE_DIR"] = str(Path(tmp) / "cache")
        seed_golden_world()
        doc = run_golden_audit(Path(tmp) / "reports")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"recorded {out}: {len(doc['findings'])} findings")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(_record(Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN))
