"""Copy policies/iam/r1policy-auditor.json into the StackSet template and the Terraform module.

    python deploy/auditor-role/sync.py          # rewrite both copies
    python deploy/auditor-role/sync.py --check  # exit 1 when a copy differs (tests/test_deploy_auditor_role.py)

The auditor policy is the one source of truth; a new collector adds its actions there and runs this.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
POLICY = HERE.parent.parent / "policies" / "iam" / "r1policy-auditor.json"
STACKSET = HERE / "r1policy-auditor-stackset.yaml"
TERRAFORM = HERE / "terraform" / "r1policy-auditor.json"
_START = "        - PolicyName: r1policy-auditor\n          PolicyDocument:\n"
_END = "        - !If\n"


def _yaml(value: Any, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list):
                lines.append(f"{pad}{key}:")
                lines += _yaml(item, indent + 2)
            else:
                lines.append(f"{pad}{key}: {json.dumps(item)}")
    else:
        for item in value:
            sub = _yaml(item, indent + 2) if isinstance(item, dict | list) else [f"{pad}  {json.dumps(item)}"]
            lines.append(f"{pad}- {sub[0].strip()}")
            lines += sub[1:]
    return lines


def rendered() -> tuple[str, str]:
    policy = json.loads(POLICY.read_text(encoding="utf-8"))
    text = STACKSET.read_text(encoding="utf-8")
    head, rest = text.split(_START, 1)
    _, tail = rest.split(_END, 1)
    block = "\n".join(_yaml(policy, 12)) + "\n"
    return head + _START + block + _END + tail, json.dumps(policy, indent=2) + "\n"


def main(argv: list[str]) -> int:
    stackset, terraform = rendered()
    if "--check" in argv:
        stale = [
            str(p) for p, want in ((STACKSET, stackset), (TERRAFORM, terraform)) if p.read_text(encoding="utf-8") != want
        ]
        if stale:
            print("stale copies of the auditor policy (run deploy/auditor-role/sync.py): " + ", ".join(stale))
            return 1
        return 0
    STACKSET.write_text(stackset, encoding="utf-8")
    TERRAFORM.write_text(terraform, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
