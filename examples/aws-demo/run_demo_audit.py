"""`make demo`, part 2: `r1policy audit` against an embedded AWS world — no AWS account, no network.

Starts a moto server on 127.0.0.1 (tests/support/motoserver.py, in its own process), seeds it with
seed_world.py (a compliant and a non-compliant bucket and endpoint, and an endpoint whose model was
deleted), runs the real CLI twice against it — before and after the bad endpoint is repaired — and prints
where the HTML report is. The audit reads AWS through boto3 over HTTP, exactly as against AWS.

    .venv/bin/python examples/aws-demo/run_demo_audit.py [--report-dir reports/demo]

Exit 0 when both audits decided as expected (exit 1: blocking findings remain, the orphaned endpoint),
1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))  # tests.support.motoserver
sys.path.insert(0, str(HERE))  # seed_world

import seed_world  # noqa: E402
from tests.support.motoserver import moto_server  # noqa: E402


def _audit(env: dict[str, str], report_dir: Path) -> tuple[int, dict[str, object], Path]:
    command = [
        sys.executable,
        "-m",
        "r1policy",
        "audit",
        "--regions",
        seed_world.REGION,
        "--report-dir",
        str(report_dir),
        "--config",
        str(seed_world.CONFIG),
        "--format",
        "table",
    ]
    print("$ r1policy " + " ".join(command[3:]), flush=True)
    code = subprocess.run(command, env=env, check=False).returncode
    runs = sorted(p for p in report_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    latest = runs[-1]
    return code, json.loads((latest / "audit.json").read_text()), latest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports" / "demo")
    args = parser.parse_args()
    report_dir = args.report_dir.resolve()
    with moto_server() as server:
        env = {
            **os.environ,
            "AWS_ENDPOINT_URL": server.endpoint_url,
            "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo",
            "AWS_DEFAULT_REGION": seed_world.REGION,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_COLOR": "1",
        }
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
            env.pop(name, None)
        os.environ.update(
            {k: env[k] for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
        )
        os.environ["AWS_DEFAULT_REGION"] = seed_world.REGION
        print(f"== moto server on {server.endpoint_url}: seeding the demo world", flush=True)
        seed_world.seed()
        print("\n== audit 1: the world as seeded (expect: block, exit 1)", flush=True)
        code1, first, _ = _audit(env, report_dir)

        print(
            "\n== repairing endpoint r1-scratch (weights to the approved bucket, isolation, VPC, g5)",
            flush=True,
        )
        server.reset()
        seed_world.seed(fixed=True)
        print(
            "\n== audit 2: after the repair (expect: its findings resolved; the orphan still blocks)",
            flush=True,
        )
        code2, second, folder = _audit(env, report_dir)

    diff = second["audit"]["diff"]  # type: ignore[index]
    ok = (
        code1 == 1
        and code2 == 1
        and first["summary"]["blocking"] > second["summary"]["blocking"]  # type: ignore[index]
        and len(diff["resolved"]) > 0
        # the repaired endpoint runs the approved TGI DLC, which R1-EP-009 warns is past its PyTorch end
        # of patch: the only new finding, and a warning
        and all(c["rule_id"] == "R1-EP-009" for c in diff["new"])
    )
    print()
    print(f"audit report (HTML): {folder / 'audit.html'}")
    print(f"             (JSON): {folder / 'audit.json'}")
    print(f"         (Markdown): {folder / 'audit.md'}")
    print(
        f"diff against the first audit: {len(diff['new'])} new, {len(diff['resolved'])} resolved, "
        f"{len(diff['persisting'])} persisting"
    )
    if not ok:
        print(f"demo: the audits did not decide as expected (exit codes {code1}, {code2})", file=sys.stderr)
        return 1
    print("demo: the audit found the non-compliant resources, and saw the repair as resolved findings.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
