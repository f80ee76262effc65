#!/usr/bin/env python3
"""Issue 23's scale figures in one table, from one run: r1policy against the fastest or best-known tool
for each job, each as a ratio, with the command that reproduces it, the target and met/missed.

Usage (from the repository root):

    .venv/bin/python bench/bench_table.py            # small files: a few minutes
    .venv/bin/python bench/bench_table.py --full     # 1 GiB files, as issue 23's targets state them
    .venv/bin/python bench/bench_table.py --write    # also replace the table in docs/benchmarks.md

Rows:

- scan, per format (safetensors, torch zip, GGUF, tar.gz), against `openssl dgst -sha256` on the same
  bytes: one file against single-core openssl, and a model of at least as many shards as cores against
  cores x that (bench_scan_formats.py does the writing and the timing: r1policy timed around
  `Scanner.scan_all` in a fresh process, start-up excluded); the peak RSS of those scans;
- scan against ModelAudit and modelscan on the same single file, each a whole CLI process (start-up
  included on both sides: `r1policy scan FILE` against `modelaudit scan FILE` / `modelscan -p FILE`),
  from their own virtualenvs under /work/benchenv (a tool that is absent is skipped and said so);
- cold `r1policy check --static` against cold `checkov -f` on bench_cfn_vs_checkov.py's template;
- `r1policy audit` against Prowler's S3 and SageMaker checks on bench_audit.py's moto world, only when
  Prowler is installed (/work/benchenv/prowler/.ready).

Every figure is the median of --repeat runs (>= 5), with the 1-minute load average beside it. The
machine may be shared: both sides of a ratio run back to back, under the same load. A benchmark, not a
test: it never fails a build. Run `env -u PYTHONDONTWRITEBYTECODE .venv/bin/python -m compileall -q
checker` first where PYTHONDONTWRITEBYTECODE is set (users' installs have bytecode).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_cfn_vs_checkov as cfn
import bench_scan_formats as fmts

ROOT = fmts.ROOT
DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- bench-table:begin -->", "<!-- bench-table:end -->"
BENCHENV = Path("/work/benchenv")
R1 = ROOT / ".venv" / "bin" / "r1policy"
MIB = fmts.MIB
Row = dict[str, str]


def _load() -> float:
    return os.getloadavg()[0]


def _median_timed(run: Callable[[], float], repeat: int) -> tuple[float, list[float]]:
    """(median seconds, the load average after each run)."""
    times, loads = [], []
    for _ in range(repeat):
        times.append(run())
        loads.append(_load())
    return statistics.median(times), loads


def _loads(loads: list[float]) -> str:
    return f"{statistics.median(loads):.1f} ({min(loads):.1f}-{max(loads):.1f})"


def _mark(ratio: float, target: float | None) -> str:
    if target is None:
        return "reported"
    return f">= {target:g}: " + ("met" if ratio >= target else "**missed**")


Files = dict[str, tuple[Path, Path]]  # format -> (the single file, the folder of shards)


def scan_rows(files: Files, folder: Path, repeat: int, cores: int, label: str) -> list[Row]:
    rows: list[Row] = []
    peak = 0.0
    warm = fmts._warmup(folder)
    for fmt, (single, sharded) in files.items():
        size = single.stat().st_size
        shards = sum(1 for p in sharded.iterdir() if p.is_file())
        res = fmts.bench_format(fmt, single, sharded, repeat, cores, warm, others=False)
        rounds: list[dict[str, float]] = res["rounds"]  # type: ignore[assignment]
        loads = [r["load"] for r in rounds] + [r["load_end"] for r in rounds]
        rss = max(r["rss"] for r in rounds)
        peak = max(peak, rss)
        targeted = fmt in fmts.TARGETED
        one, many = float(res["ratio_one"]), float(res["ratio_many"])  # type: ignore[arg-type]
        med: dict[str, float] = res["median"]  # type: ignore[assignment]
        cmd = f"bench/bench_scan_formats.py {label} --formats {fmt}"
        rows.append(
            _row(
                f"scan {fmt}, 1 file of {size / MIB:,.0f} MiB",
                f"openssl dgst -sha256 ({med['openssl'] / MIB:,.0f} MiB/s)",
                f"{med['scan_one'] / MIB:,.0f} MiB/s (peak RSS {rss / 1e6:,.0f} MB)",
                f"{one:.0%} of openssl",
                _mark(one, 0.95 if targeted else None).replace(">= 0.95", ">= 95 %"),
                loads,
                cmd,
            )
        )
        rows.append(
            _row(
                f"scan {fmt}, {shards} shards",
                f"{cores} x openssl, 1 file ({cores * med['openssl'] / MIB:,.0f} MiB/s; openssl as "
                f"{cores} processes at once over the shards: {med['openssl_parallel'] / MIB:,.0f} MiB/s)",
                f"{med['scan_many'] / MIB:,.0f} MiB/s",
                f"{many:.0%} of {cores} x openssl",
                _mark(many, 0.95 if targeted else None).replace(">= 0.95", ">= 95 %"),
                loads,
                cmd,
            )
        )
    rows.append(
        _row(
            "scan, peak RSS of the scanning process (imports included), all formats",
            "100 MB",
            f"{peak / 1e6:,.0f} MB",
            f"{peak / 1e8:.0%} of 100 MB",
            "<= 100 %: " + ("met" if peak <= 1e8 else "**missed**"),
            [_load()],
            f"bench/bench_scan_formats.py {label}",
        )
    )
    return rows


def _row(what: str, other: str, ours: str, ratio: str, target: str, loads: list[float], cmd: str) -> Row:
    return {
        "what": what,
        "other": other,
        "ours": ours,
        "ratio": ratio,
        "target": target,
        "load": _loads(loads),
        "cmd": cmd,
    }


def _exe(venv: str, name: str) -> Path | None:
    exe = BENCHENV / venv / "bin" / name
    return exe if exe.is_file() else None


def _proc(cmd: list[str], env: dict[str, str] | None = None) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, capture_output=True, check=False, env=env)
    return time.perf_counter() - started


def _faster(ratio: float) -> str:
    return f"{ratio:.1f}x faster" if ratio >= 1 else f"{1 / ratio:.1f}x slower"


def scanner_rows(files: Files, repeat: int, label: str) -> tuple[list[Row], list[str]]:
    """r1policy scan against ModelAudit and modelscan, whole processes, on the same single files."""
    rows, notes = [], []
    tools = {
        "ModelAudit": (_exe("modelaudit", "modelaudit"), ["scan"]),
        "modelscan": (_exe("modelscan", "modelscan"), ["-p"]),
    }
    for tool, (exe, args) in tools.items():
        if exe is None:
            notes.append(f"{tool}: not installed under {BENCHENV}; not measured.")
            continue
        for fmt, (single, _) in files.items():
            size = single.stat().st_size
            ours = [str(R1), "scan", str(single), "--format", "json", "--exit-zero"]
            theirs = [str(exe), *args, str(single)]
            _proc(ours)  # warm-up: page cache, bytecode
            said = subprocess.run(theirs, capture_output=True, text=True, check=False).stdout
            skipped = re.search(r"Total skipped: (\d+)", said)  # modelscan: files or members not read
            caveat = (
                f"; it skipped {skipped.group(1)} file(s)/member(s): not the same bytes" if skipped else ""
            )
            r1, loads = _median_timed(functools.partial(_proc, ours), repeat)
            other, more = _median_timed(functools.partial(_proc, theirs), repeat)
            rows.append(
                _row(
                    f"scan {fmt}, 1 file of {size / MIB:,.0f} MiB, whole process",
                    f"`{exe.name} {' '.join(args)} FILE` ({other:.2f} s{caveat}), vs `r1policy scan FILE`",
                    f"{r1:.2f} s",
                    _faster(other / r1),
                    "reported",
                    loads + more,
                    f"bench/bench_table.py {label} --only tools",
                )
            )
    return rows, notes


def checkov_row(repeat: int) -> tuple[list[Row], list[str]]:
    exe = _exe("checkov", "checkov")
    if exe is None:
        return [], [f"Checkov: not installed under {BENCHENV}; not measured."]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="r1-bench-table-") as tmp:
        template = Path(tmp) / "r1-endpoints.yaml"
        template.write_text(cfn.TEMPLATE.replace("{image}", cfn.IMAGE))
        config = str(ROOT / "examples" / "r1policy.yaml")
        ours = [str(R1), "check", "--static", str(template), "--config", config, "--format", "json"]
        theirs = [str(exe), "-f", str(template), "--compact", "--quiet", "--skip-download", "-o", "json"]
        _proc(ours, env), _proc(theirs, env)  # warm-up: page cache, bytecode
        r1, loads = _median_timed(lambda: _proc(ours, env), repeat)
        other, more = _median_timed(lambda: _proc(theirs, env), repeat)
    ratio = other / r1
    row = _row(
        "check, cold, the benchmark CloudFormation template",
        f"`checkov -f TEMPLATE` cold ({other:.2f} s)",
        f"{r1:.2f} s",
        _faster(ratio),
        ">= 10x: " + ("met" if ratio >= 10 else "**missed**"),
        loads + more,
        "bench/bench_table.py --only checkov",
    )
    return [row], []


def prowler_row(buckets: int, endpoints: int, repeat: int) -> tuple[list[Row], list[str]]:
    exe = _exe("prowler", "prowler")
    if exe is None or not (BENCHENV / "prowler" / ".ready").is_file():
        return [], [f"Prowler: not ready under {BENCHENV / 'prowler'}; the audit row is not measured."]
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "bench_audit.py"),
        "--buckets",
        str(buckets),
        "--endpoints",
        str(endpoints),
        "--runs",
        str(repeat),
        "--prowler",
        str(exe),
    ]
    load = _load()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        return [], [f"Prowler: bench_audit.py failed: {proc.stderr.strip().splitlines()[-1:]}"]
    data = json.loads(proc.stdout)
    r1, other = float(data["audit"]["wall_s"]), float(data["prowler"]["wall_s"])
    ratio = other / r1
    row = _row(
        f"audit, moto world of {buckets} buckets and {endpoints} endpoints, 2 regions",
        f"Prowler, S3 + SageMaker checks ({other:.1f} s, median of {len(data['prowler']['runs'])} runs)",
        f"{r1:.2f} s",
        _faster(ratio),
        ">= 10x: " + ("met" if ratio >= 10 else "**missed**"),
        [load, *data["audit"]["load_avg_1min"]],
        " ".join(["bench/bench_audit.py", *cmd[2:-1], str(exe)]),
    )
    return [row], []


def render(rows: list[Row], notes: list[str], label: str, cores: int, repeat: int) -> str:
    lines = [
        f"Measured with `.venv/bin/python bench/bench_table.py {label}` at "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}: {cores} cores, Python "
        f"{sys.version.split()[0]}; median of {repeat} runs, load average (1 min) beside each row.",
        "",
        "| what | against | r1policy | ratio | target | load avg (median, range) | reproduce |",
        "|---|---|---:|---:|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['what']} | {r['other']} | {r['ours']} | {r['ratio']} | {r['target']} | {r['load']} "
            f"| `{r['cmd']}` |"
        )
    lines.append("")
    lines.extend(f"- {note}" for note in notes)
    return "\n".join(lines)


def write(table: str) -> None:
    text = DOC.read_text()
    block = f"{BEGIN}\n{table}\n{END}"
    if BEGIN in text:
        head, _, rest = text.partition(BEGIN)
        text = head + block + rest.partition(END)[2]
    else:
        section = "\n## Issue 23: every scale figure in one table\n\n```sh\n"
        section += ".venv/bin/python bench/bench_table.py --full --write\n```\n\n"
        text = text.rstrip("\n") + "\n" + section + block + "\n"
    DOC.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="1 GiB files, 2 x cores shards")
    parser.add_argument("--mib", type=int, default=64, help="file size without --full (default 64)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="scan,tools,checkov,prowler", help="which groups of rows")
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "r1policy-bench-table")
    parser.add_argument("--write", action="store_true", help=f"replace the table in {DOC.name}")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    size = fmts.GIB if args.full else args.mib * MIB
    shards = 2 * cores if args.full else cores
    label = "--full" if args.full else f"--mib {args.mib}"
    scan_label = f"--gib 1 --shards {shards}" if args.full else f"--gib {size / fmts.GIB:g} --shards {shards}"
    only = set(args.only.split(","))
    rows: list[Row] = []
    notes: list[str] = []
    folder = args.dir / f"{size}"
    files: Files = {}
    if only & {"scan", "tools"}:
        files = {fmt: fmts.make(folder, fmt, size, shards) for fmt in fmts.FORMATS}
    if "scan" in only:
        rows += scan_rows(files, folder, args.repeat, cores, f"{scan_label} --repeat {args.repeat}")
        print("scan: done", file=sys.stderr)
    for group, measure in (
        ("tools", lambda: scanner_rows(files, args.repeat, label)),
        ("checkov", lambda: checkov_row(args.repeat)),
        ("prowler", lambda: prowler_row(24, 12, args.repeat)),
    ):
        if group in only:
            more, why = measure()
            rows, notes = rows + more, notes + why
            print(f"{group}: done", file=sys.stderr)
    table = render(rows, notes, label, cores, args.repeat)
    print(table)
    if args.write:
        write(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
