#!/usr/bin/env python3
"""`r1policy scan` against `openssl dgst -sha256`, per format, on one file and on a sharded model.

Usage (from the repository root):

    .venv/bin/python bench/bench_scan_formats.py                       # 1 GiB, 5 rounds, all formats
    .venv/bin/python bench/bench_scan_formats.py --gib 1 --repeat 7 --formats safetensors,torch-zip

Formats: safetensors (one BF16 tensor), torch-zip (torch.save's layout: stored members, data.pkl and
64 MiB storages under data/), gguf (v3, one F32 tensor) and tar.gz (a SageMaker model.tar.gz holding
one safetensors file of random bytes; gzip cannot shrink it). Each format is written once as one file
of --gib GiB and as a sharded model of --shards files (default 2 x cores) of --gib / shards GiB each,
into --dir, and read once before measuring, so every figure is page-cached.

Start-up is excluded: r1policy is timed in a fresh process around `Scanner.scan_all` alone (what
`r1policy scan` spends reading, hashing and analysing; interpreter start, imports, rules and the report
are outside), with `--workers` = cores as the CLI uses. openssl is timed as a process (its start-up is
about a millisecond). Each round runs, back to back, for one format:

- `openssl dgst -sha256 FILE` on the single file: single-core SHA-256 throughput T;
- r1policy on the single file: target >= 95 % of T (safetensors, torch-zip);
- r1policy on the sharded model: target >= 95 % of cores x T (safetensors, torch-zip);
- `openssl dgst -sha256` as `cores` processes at once over the shards, for reference.

Every figure is the median of --repeat rounds (>= 5), with the 1-minute load average at that round;
the machine is shared, so rerun when the load is low. ModelAudit and modelscan are run on the same
files only if already installed (their own virtualenvs under /work/benchenv or on PATH); this script
never installs anything. A benchmark, not a test: it never fails a build.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import shutil
import statistics
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = ROOT / ".venv" / "bin" / "python"
GIB = 1024**3
MIB = 1024**2
FORMATS = ("safetensors", "torch-zip", "gguf", "tar.gz")
TARGETED = ("safetensors", "torch-zip")
_BLOCK = os.urandom(64 * MIB)

SCAN = r"""
import json, sys, time
from r1policy.artifacts.scanner import Scanner
from r1policy.artifacts.targets import resolve
files = resolve(sys.argv[1]).files
scanner = Scanner(workers=int(sys.argv[2]))
scanner.scan_all(resolve(sys.argv[3]).files)  # warm-up: lazy imports (pickle allow-list, schemas)
wall, cpu = time.perf_counter(), time.process_time()
results = scanner.scan_all(files)
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
bad = [f.path for r in results for f in r.facts if f.unreadable or f.archive_problems]
# VmHWM, not ru_maxrss: ru_maxrss survives exec, so it counts the forked copy of this benchmark's
# parent (its 64 MiB block of random bytes) and reported about 95 MiB for every scan.
import re
from pathlib import Path
rss = int(re.search(r"VmHWM:\s+(\d+) kB", Path("/proc/self/status").read_text()).group(1)) * 1024
total = sum(r.top.size or 0 for r in results)
print(json.dumps({"wall": wall, "cpu": cpu, "bytes": total, "bad": bad, "rss": rss}))
"""


def _fill(handle: io.BufferedWriter | io.BufferedRandom, size: int) -> None:
    while size:
        chunk = _BLOCK[: min(size, len(_BLOCK))]
        handle.write(chunk)
        size -= len(chunk)


def _safetensors(path: Path, size: int) -> None:
    elements = size // 2 // 4096 * 4096
    header = json.dumps(
        {"w": {"dtype": "BF16", "shape": [elements // 4096, 4096], "data_offsets": [0, elements * 2]}}
    ).encode()
    header += b" " * (-len(header) % 8)
    with path.open("wb") as handle:
        handle.write(struct.pack("<Q", len(header)) + header)
        _fill(handle, elements * 2)


def _torch_zip(path: Path, size: int) -> None:
    storage = 64 * MIB
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"layers": list(range(16))}, protocol=2))
        archive.writestr("archive/byteorder", "little")
        index = 0
        while size > 0:
            with archive.open(f"archive/data/{index}", "w", force_zip64=True) as member:
                _fill(member, min(size, storage))  # type: ignore[arg-type]
            size -= storage
            index += 1
        archive.writestr("archive/version", "3\n")


def _gguf(path: Path, size: int) -> None:
    def string(text: str) -> bytes:
        raw = text.encode()
        return struct.pack("<Q", len(raw)) + raw

    count = size // 4 // 4096 * 4096
    out = b"GGUF" + struct.pack("<IQQ", 3, 1, 1)
    out += string("general.architecture") + struct.pack("<I", 8) + string("llama")
    out += (
        string("token_embd.weight") + struct.pack("<IQQ", 2, 4096, count // 4096) + struct.pack("<IQ", 0, 0)
    )
    out += bytes(-len(out) % 32)
    with path.open("wb") as handle:
        handle.write(out)
        _fill(handle, count * 4)


def _tar_gz(path: Path, size: int) -> None:
    inner = path.parent / (path.name + ".part.safetensors")
    _safetensors(inner, size)
    with tarfile.open(path, "w:gz", compresslevel=1) as archive:
        archive.add(inner, "model.safetensors")
    inner.unlink()


MAKERS: dict[str, tuple[str, Callable[[Path, int], None]]] = {
    "safetensors": ("safetensors", _safetensors),
    "torch-zip": ("bin", _torch_zip),
    "gguf": ("gguf", _gguf),
    "tar.gz": ("tar.gz", _tar_gz),
}


def make(folder: Path, fmt: str, size: int, shards: int) -> tuple[Path, Path]:
    """(the single file, the folder of shards), written unless already there."""
    suffix, maker = MAKERS[fmt]
    single = folder / fmt / f"model.{suffix}"
    sharded = folder / f"{fmt}-sharded"
    wanted = [single] + [sharded / f"model-{i + 1:05d}-of-{shards:05d}.{suffix}" for i in range(shards)]
    stamp = folder / f"{fmt}.{size}.{shards}.done"
    if not stamp.is_file():
        shutil.rmtree(single.parent, ignore_errors=True)
        shutil.rmtree(sharded, ignore_errors=True)
        single.parent.mkdir(parents=True)
        sharded.mkdir(parents=True)
        maker(single, size)
        for path in wanted[1:]:
            maker(path, size // shards)
        stamp.write_text("ok\n")
    for path in wanted:  # page cache
        with path.open("rb", buffering=0) as handle:
            while handle.read(16 * MIB):
                pass
    return single, sharded


def _openssl(paths: list[Path], procs: int) -> float:
    started = time.perf_counter()
    running = [
        subprocess.Popen(
            ["openssl", "dgst", "-sha256", *map(str, paths[i::procs])], stdout=subprocess.DEVNULL
        )
        for i in range(min(procs, len(paths)))
    ]
    for proc in running:
        proc.wait()
    return time.perf_counter() - started


def _warmup(folder: Path) -> Path:
    """Tiny files of every format: scanned first, so lazy imports are not counted as reading time."""
    warm = folder / "warm-up"
    if not warm.is_dir():
        warm.mkdir(parents=True)
        for fmt, (suffix, maker) in MAKERS.items():
            maker(warm / f"{fmt}.{suffix}", 4 * MIB)
    return warm


def _scan(target: Path, workers: int, warm: Path) -> dict[str, float]:
    out = subprocess.run(
        [str(PY), "-c", SCAN, str(target), str(workers), str(warm)],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    if result["bad"]:
        raise SystemExit(f"{target}: the scan reported problems: {result['bad'][:3]}")
    return result


def _others(target: Path) -> list[tuple[str, float]]:
    """ModelAudit / modelscan on the same file, when already installed (never installed here)."""
    found = []
    for name, args in (("modelaudit", ["scan"]), ("modelscan", ["-p"])):
        exe = shutil.which(name) or next(
            (str(p) for p in Path("/work/benchenv").glob(f"*/bin/{name}") if p.is_file()), None
        )
        if exe is None:
            continue
        started = time.perf_counter()
        subprocess.run([exe, *args, str(target)], capture_output=True, check=False)
        found.append((name, time.perf_counter() - started))
    return found


def bench_format(
    fmt: str, single: Path, sharded: Path, repeat: int, cores: int, warm: Path, others: bool = True
) -> dict[str, object]:
    size = single.stat().st_size
    shards = sorted(p for p in sharded.iterdir() if p.is_file())
    total = sum(p.stat().st_size for p in shards)
    rounds = []
    for _ in range(repeat):
        load = os.getloadavg()[0]
        openssl_one = size / _openssl([single], 1)
        scan_one = _scan(single, cores, warm)
        scan_many = _scan(sharded, cores, warm)
        openssl_many = total / _openssl(shards, cores)
        rounds.append(
            {
                "load": load,
                "openssl": openssl_one,
                "openssl_parallel": openssl_many,
                "scan_one": scan_one["bytes"] / scan_one["wall"],
                "scan_one_cpu": scan_one["cpu"],
                "rss": max(scan_one["rss"], scan_many["rss"]),
                "scan_many": scan_many["bytes"] / scan_many["wall"],
                "load_end": os.getloadavg()[0],
            }
        )
    med = {k: statistics.median(float(r[k]) for r in rounds) for k in rounds[0]}
    return {
        "format": fmt,
        "size": size,
        "shards": len(shards),
        "total": total,
        "rounds": rounds,
        "median": med,
        "ratio_one": statistics.median(r["scan_one"] / r["openssl"] for r in rounds),
        "ratio_many": statistics.median(r["scan_many"] / (cores * r["openssl"]) for r in rounds),
        "others": _others(single) if others else [],
    }


def render(results: list[dict[str, object]], cores: int, repeat: int) -> str:
    lines = [
        f"Machine: {cores} cores (shared with other jobs), Python {sys.version.split()[0]}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; median of {repeat} rounds.",
        "",
        "| format | openssl, 1 file | r1policy, 1 file | ratio (target) | shards | r1policy, sharded "
        "| ratio to cores x openssl (target) | openssl x cores at once | peak RSS "
        "| load avg (median, range) |",
        "|---|---:|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for res in results:
        med: dict[str, float] = res["median"]  # type: ignore[assignment]
        rounds: list[dict[str, float]] = res["rounds"]  # type: ignore[assignment]
        targeted = res["format"] in TARGETED
        one, many = float(res["ratio_one"]), float(res["ratio_many"])  # type: ignore[arg-type]
        mark_one = ("met" if one >= 0.95 else "**missed**") if targeted else "reported"
        mark_many = ("met" if many >= 0.95 else "**missed**") if targeted else "reported"
        loads = [r["load"] for r in rounds] + [r["load_end"] for r in rounds]
        shard = int(res["total"]) // int(res["shards"])  # type: ignore[call-overload]
        lines.append(
            f"| {res['format']} | {med['openssl'] / MIB:,.0f} MiB/s | {med['scan_one'] / MIB:,.0f} MiB/s "
            f"| {one:.0%} (>= 95 %: {mark_one}) | {res['shards']} x {shard / MIB:,.0f} MiB "
            f"| {med['scan_many'] / MIB:,.0f} MiB/s | {many:.0%} (>= 95 %: {mark_many}) "
            f"| {med['openssl_parallel'] / MIB:,.0f} MiB/s | {max(r['rss'] for r in rounds) / MIB:,.0f} MiB "
            f"| {statistics.median(loads):.1f} ({min(loads):.1f}-{max(loads):.1f}) |"
        )
    lines.append("")
    for res in results:
        for name, seconds in res["others"]:  # type: ignore[attr-defined]
            lines.append(
                f"- {name} on the single {res['format']} file: {res['size'] / seconds / MIB:,.0f} MiB/s"
            )
    if not any(res["others"] for res in results):
        lines.append("- ModelAudit / modelscan: not installed on this machine; not measured.")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--gib", type=float, default=1.0)
    parser.add_argument("--shards", type=int, default=0, help="default: 2 x cores")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--formats", default=",".join(FORMATS))
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "r1policy-bench-formats")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw rounds here")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    shards = args.shards or 2 * cores
    results = []
    for fmt in args.formats.split(","):
        single, sharded = make(args.dir, fmt, int(args.gib * GIB), shards)
        results.append(bench_format(fmt, single, sharded, args.repeat, cores, _warmup(args.dir)))
        print(f"{fmt}: done", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))
    print(render(results, cores, args.repeat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
