#!/usr/bin/env python3
"""Count the machine instructions a whole `r1policy check` executes (valgrind's cachegrind), to compare
two versions of the code on a shared machine where wall-clock and CPU times move by ±25 % from one
minute to the next while the instruction count moves by less than 0.01 %.

Usage (from the repository root):

    .venv/bin/python bench/bench_instructions.py                      # this tree, 300 manifests
    .venv/bin/python bench/bench_instructions.py --tree /path/to/other/checkout --manifests 2000

The manifests, config and state are bench/bench_check.py's (the same generator). Each count is one
process under `valgrind --tool=cachegrind --cache-sim=no`, after one run outside valgrind that fills
the derived-data cache (a folder of its own per tree, so two trees do not rebuild each other's cache),
with PYTHONHASHSEED=0 and the tree's bytecode compiled first (a module recompiled at import would be
counted). The fixed part is the same command on one manifest; the rest divided by the number of
manifests is the cost per manifest. A change that saves instructions saves time at this machine's
rate (2,000 manifests: about 10.3 billion instructions in 2.3 s on a quiet machine); this is a
benchmark, not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_check

ROOT = Path(__file__).resolve().parent.parent
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")


def instructions(tree: Path, folder: Path, cwd: Path, cache: Path) -> int:
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "PYTHONPATH": str(tree / "checker"),
        "R1POLICY_DERIVED_CACHE_DIR": str(cache),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = cwd / "report.json"
    cmd = [sys.executable, "-m", "r1policy", "check", "--static", "--format", "json", "--output", str(out)]
    subprocess.run([*cmd, str(folder)], cwd=cwd, env=env, capture_output=True, check=False)  # warm cache
    grind = ["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null"]
    done = subprocess.run([*grind, *cmd, str(folder)], cwd=cwd, env=env, capture_output=True, text=True)
    found = _REFS.search(done.stderr)
    if found is None:
        raise SystemExit(f"valgrind printed no instruction count:\n{done.stderr[-2000:]}")
    return int(found.group(1).replace(",", ""))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--tree", type=Path, default=ROOT, help="the checkout to count (default: this one)")
    parser.add_argument("--manifests", type=int, default=300)
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: nothing to count", file=sys.stderr)
        return 0
    tree = args.tree.resolve()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "checker")], env=env, check=True)
    base = bench_check.load_base()
    with tempfile.TemporaryDirectory(prefix="r1policy-bench-ir-") as tmp:
        work = Path(tmp)
        (work / "r1policy.yaml").write_text(yaml.safe_dump(base["config"], sort_keys=False))
        many = bench_check.write_inputs(work, base, args.manifests)
        one = bench_check.write_inputs(work, base, 1)
        cache = work / "derived-cache"
        fixed = instructions(tree, one, work, cache)
        total = instructions(tree, many, work, cache)
    per = (total - fixed) / max(args.manifests - 1, 1)
    print(f"tree {tree}")
    print(f"  check --static of 1 manifest: {fixed:,} instructions (start-up and fixed costs)")
    print(f"  check --static of {args.manifests:,} manifests: {total:,} instructions")
    print(f"  per manifest beyond the first: {per:,.0f} instructions")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
