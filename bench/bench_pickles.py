#!/usr/bin/env python3
"""Benchmark the pickle analyser against picklescan and modelscan, side by side in one run.

Usage (from the repository root):

    python3 -m venv /work/benchenv/picklescan
    /work/benchenv/picklescan/bin/pip install picklescan modelscan
    .venv/bin/python bench/bench_pickles.py            # print the Markdown section
    .venv/bin/python bench/bench_pickles.py --write    # also update docs/benchmarks.md

Workloads: every sample of the labelled picklescan corpus (../shared/corpora/picklescan, analysed,
never loaded), and a generated benign pickle of about 25 MB and 5 million opcodes (a state-dict-like
OrderedDict of plain data, pickled from our own values with protocol 4). Each tool runs in its own
process (the peers in their benchmark venv, r1policy in .venv); inside it the workload is timed with
perf_counter, median of --repeat runs after one warm-up. A corpus sample counts as flagged when the
tool reports an unsafe import or a scan error for it (the fail-closed reading). This is a benchmark,
not a test: it prints figures and never fails a build.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import pickle
import pickletools
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "picklescan"
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-pickles:begin -->", "<!-- bench-pickles:end -->"

# Each driver: argv = [workload json], prints one JSON line {"corpus": {...}, "times": {...}}.
_COMMON = r"""
import json, statistics, sys, time
spec = json.loads(sys.argv[1])
def timed(fn, repeat):
    fn()  # warm-up
    walls, cpus = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return {"wall": statistics.median(walls), "cpu": statistics.median(cpus)}
"""

DRIVERS = {
    "r1policy": _COMMON
    + r"""
import io, zipfile
from r1policy.artifacts.pickles import PickleKind, analyse, sniff
import r1policy
VERSION = r1policy.__version__
class Peeked:  # the head already read, then the rest of the file
    def __init__(self, head, rest):
        self.head, self.rest = head, rest
    def read(self, n):
        if self.head:
            out, self.head = self.head[:n], self.head[n:]
            return out
        return self.rest.read(n)
def scan_zip(path):
    try:
        with zipfile.ZipFile(path) as z:
            torch = any(n.endswith("data.pkl") for n in z.namelist())
            bad = False
            for info in z.infolist():
                with z.open(info) as m:
                    kind = sniff(m.read(65536))
                if kind is None:
                    continue
                if kind is PickleKind.PICKLE and torch:
                    kind = PickleKind.TORCH_ZIP
                with z.open(info) as m:
                    bad = bad or bool(analyse(m, kind).problems)
            return bad
    except (RuntimeError, NotImplementedError, zipfile.BadZipFile):
        return True  # encrypted / CRC / name mismatch: refused
def scan(path):
    with open(path, "rb") as f:
        head = f.read(65536)
        if head[:4] == b"PK\x03\x04":
            return scan_zip(path)
        kind = sniff(head)
        if kind is None:
            return True  # not pickle-based: the scanner reports an unknown format (R1-ART-010)
        return bool(analyse(Peeked(head, f), kind).problems)  # one open, one pass, as the scanner does
""",
    "picklescan": _COMMON
    + r"""
import logging
logging.disable(logging.CRITICAL)
from importlib.metadata import version
from picklescan.scanner import scan_file_path
VERSION = version("picklescan")
def scan(path):
    result = scan_file_path(path)
    return bool(result.issues_count or result.scan_err)
""",
    "modelscan": _COMMON
    + r"""
import logging
logging.disable(logging.CRITICAL)
from importlib.metadata import version
from modelscan.modelscan import ModelScan
VERSION = version("modelscan")
def scan(path):
    report = ModelScan().scan(path)
    return bool(report.get("issues") or report.get("errors"))
""",
}

_MAIN = r"""
files = spec["files"]
flags = {}
def corpus():
    for rel in files:
        try:
            flags[rel] = scan(spec["root"] + "/" + rel)
        except Exception:  # the tool gave up on this file: that is a (fail-closed) flag
            flags[rel] = True
corpus_s = timed(corpus, spec["repeat"])
big = {}
def one_big():
    big["flagged"] = scan(spec["big"])
big_s = timed(one_big, spec["repeat"])
print("RESULT " + json.dumps({"version": VERSION, "flags": flags, "corpus_s": corpus_s, "big_s": big_s,
                              "big_flagged": big["flagged"]}))
"""


def make_big(path: Path, target_mb: float) -> tuple[int, int]:
    """A benign state-dict-like pickle of plain data; returns (bytes, opcodes)."""
    rng = random.Random(1)
    per = 2000
    layers = int(target_mb * 1e6 / 24_200)
    sd: OrderedDict[str, object] = OrderedDict()
    for i in range(layers):
        sd[f"model.layers.{i}.weight"] = {
            "shape": (per,),
            "ints": [rng.randrange(1 << 30) for _ in range(per + 400)],
            "small": [rng.randrange(256) for _ in range(per - 400)],
            "floats": [rng.random() for _ in range(per // 2)],
            "name": f"w{i}",
        }
    data = pickle.dumps(sd, protocol=4)  # our own plain values: nothing to execute
    path.write_bytes(data)
    return len(data), sum(1 for _ in pickletools.genops(data))


def run_tool(name: str, python: str, spec: dict[str, object]) -> dict[str, object]:
    env = dict(os.environ)
    t = time.perf_counter()
    proc = subprocess.run(
        [python, "-c", DRIVERS[name] + _MAIN, json.dumps(spec)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=False,
        timeout=3600,
    )
    wall = time.perf_counter() - t
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if line is None:
        return {
            "error": (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"],
            "wall": wall,
        }
    result: dict[str, object] = json.loads(line[len("RESULT ") :])
    result["wall"] = wall
    return result


def labels(corpus: Path) -> list[tuple[str, str]]:
    with (corpus / "LABELS.tsv").open(newline="") as handle:
        return [(row["path"], row["label"]) for row in csv.DictReader(handle, delimiter="\t")]


def render(
    results: dict[str, dict[str, object]], lab: list[tuple[str, str]], big: tuple[int, int], repeat: int
) -> str:
    totals = {k: sum(1 for _, lb in lab if lb == k) for k in ("malicious", "unscannable", "benign")}
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    out = [
        f"Measured {when} on {cpu}, {os.cpu_count()} CPUs (shared with 7 other engineers' jobs, so "
        f"expect noise), CPython {platform.python_version()}; median of {repeat} runs after a warm-up.",
        f"Big pickle: {big[0] / 1e6:.1f} MB, {big[1]:,} opcodes (benign, protocol 4).",
        "",
        "| tool | version | malicious flagged | unscannable flagged | benign flagged (false +) "
        "| corpus wall / CPU (s) | 25 MB pickle wall / CPU (s) | opcodes per CPU s | big pickle flagged "
        "| whole process wall (s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|---:|",
    ]
    for name, res in results.items():
        if "error" in res:
            out.append(f"| {name} | failed: {res['error']} | | | | | | | | {res['wall']:.1f} |")
            continue
        flags = res["flags"]
        assert isinstance(flags, dict)
        got = {k: sum(1 for rel, lb in lab if lb == k and flags.get(rel)) for k in totals}
        corpus_t, big_t = res["corpus_s"], res["big_s"]
        assert isinstance(corpus_t, dict) and isinstance(big_t, dict)
        out.append(
            f"| {name} | {res['version']} | {got['malicious']}/{totals['malicious']} "
            f"| {got['unscannable']}/{totals['unscannable']} | {got['benign']}/{totals['benign']} "
            f"| {corpus_t['wall']:.3f} / {corpus_t['cpu']:.3f} | {big_t['wall']:.2f} / {big_t['cpu']:.2f} "
            f"| {big[1] / big_t['cpu'] / 1e6:.2f} M | {'yes' if res['big_flagged'] else 'no'} "
            f"| {res['wall']:.1f} |"
        )
    missed = {}
    for name, res in results.items():
        flags = res.get("flags")
        if isinstance(flags, dict):
            missed[name] = [rel for rel, lb in lab if lb != "benign" and not flags.get(rel)]
    out.append("")
    for name, rels in missed.items():
        shown = ", ".join(f"`{Path(r).name}`" for r in rels[:12]) + (" …" if len(rels) > 12 else "")
        out.append(f"- {name} misses {len(rels)}: {shown or 'none'}")
    return "\n".join(out)


def write_doc(section: str, command: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{BEGIN}\n{section}\n{END}"
    if BEGIN in text and END in text:
        text = re.sub(re.escape(BEGIN) + r".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + HEADER.format(command=command) + "\n" + block + "\n"
    tmp = DOC.with_suffix(".md.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(DOC)


HEADER = """## Pickle analysis vs picklescan and modelscan

How fast the static pickle analyser (`r1policy.artifacts.pickles`, R1-ART-001) is, and what it
detects, next to the two common open-source pickle scanners, on the same files in one run.

```sh
{command}
```

Every tool runs in its own process; the peers are installed only in `/work/benchenv/picklescan`
(`pip install picklescan modelscan`), never as project dependencies. The corpus is every sample of
`../shared/corpora/picklescan` (109 files: malicious, unscannable and benign, per `LABELS.tsv`); a
sample counts as flagged when the tool reports an unsafe import or a scan error for it. r1policy
opens zips read-only with `zipfile` here (the scanner's archive layer does it in `r1policy scan`),
counts a file that is not pickle-based as flagged (the scanner reports it as unknown, R1-ART-010)
and a member whose zip entry is encrypted, has a bad CRC or mismatched names as refused. The big
pickle is a generated, benign state-dict-like `OrderedDict` of plain lists (ints, floats, strings).
Target: faster than both peers on both workloads, with full detection and no false positive.
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--big-mb", type=float, default=25.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--peers-python", default="/work/benchenv/picklescan/bin/python")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if not (args.corpus / "LABELS.tsv").is_file():
        print(f"corpus not found at {args.corpus}", file=sys.stderr)
        return 2
    lab = labels(args.corpus)
    with tempfile.TemporaryDirectory(prefix="r1-bench-pickles-") as tmp:
        big_path = Path(tmp) / "big_benign.pkl"
        big = make_big(big_path, args.big_mb)
        spec = {
            "root": str(args.corpus),
            "files": [rel for rel, _ in lab],
            "big": str(big_path),
            "repeat": args.repeat,
        }
        results = {"r1policy": run_tool("r1policy", sys.executable, spec)}
        for peer in ("picklescan", "modelscan"):
            results[peer] = run_tool(peer, args.peers_python, spec)
    section = render(results, lab, big, args.repeat)
    print(section)
    if args.write:
        write_doc(section, ".venv/bin/python bench/bench_pickles.py --write")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
