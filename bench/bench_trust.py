#!/usr/bin/env python3
"""Benchmark the cost of the trust checks in `r1policy scan` (docs/trust.md), in one run.

Usage (from the repository root):

    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_trust.py      # everything, median of 5
    env -u PYTHONDONTWRITEBYTECODE .venv/bin/python bench/bench_trust.py --only clamd   # 4 x 256 MiB
    .venv/bin/python bench/bench_trust.py --mib 256 --repeat 3

The model (N files of pseudo-random bytes, page-cached before measuring) is signed with model-signing
and an EC key made on the spot. Each round runs, back to back as fresh processes:

- `scan --write-lock` (the baseline: hashing, format analysis, rules);
- the same with `model_signing.required` (R1-ART-011: bundle verification against the digests the scan
  already computed, plus importing model-signing and sigstore);
- when clamd is installed: a clamd started with a test signature database, its clean-file cache off
  and its size limits above the file size (see `bench_clamd`), `scan` with `malware_scan` on
  `--clamd-files` x `--clamd-mib` (default 4 x 256 MiB = 1 GiB), against clamd's own client on the
  same files and daemon: `clamdscan --stream`, one file after another, and `clamdscan --stream
  --multiscan` (one IDSESSION, streams pipelined); the faster of the two is clamd's own time. Every
  run prints its wall time, the CPU clamd used during it (the same work for every client) and the
  load average.

Targets (issue 15): signature verification adds <= 10 % to `scan --write-lock`; r1policy's overhead
over clamd's own time <= 15 %. A benchmark, not a test: it reports, it never fails a build.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
R1 = ROOT / ".venv" / "bin" / "r1policy"
MIB = 1024 * 1024
sys.path.insert(0, str(ROOT))


def make_model(folder: Path, files: int, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        path = folder / f"weights-{i:05d}.bin"
        if not path.exists() or path.stat().st_size != size:
            with path.open("wb") as handle:
                left = size
                while left:
                    chunk = min(left, 64 * MIB)
                    handle.write(os.urandom(chunk))
                    left -= chunk
        path.read_bytes()  # page cache
    (folder / "config.json").write_text('{"model_type": "llama"}\n')


def sign(root: Path, model: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from model_signing import hashing, signing

    key = ec.generate_private_key(ec.SECP256R1())
    pem = serialization.PrivateFormat.PKCS8
    (root / "k.key").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, pem, serialization.NoEncryption())
    )
    (root / "k.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    (model / "model.sig").unlink(missing_ok=True)
    config = signing.Config().use_elliptic_key_signer(private_key=root / "k.key")
    config.set_hashing_config(hashing.Config().set_ignored_paths(paths=["model.sig"])).sign(
        model, model / "model.sig"
    )


def timed(args: list[str], cwd: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run(args, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode()[-400:]}")
    return elapsed


def scan_variant(root: Path, config: str, extra: list[str]) -> float:
    (root / "r1policy.yaml").write_text(config)
    (root / "r1policy.lock").unlink(missing_ok=True)
    env_cache = root / "cache"
    shutil.rmtree(env_cache, ignore_errors=True)
    os.environ["R1POLICY_CACHE_DIR"] = str(env_cache)
    return timed([str(R1), "scan", "model", "--format", "json", "--output", "out.json", *extra], root)


def bench_signing(root: Path, repeat: int) -> None:
    base, signed = [], []
    for _ in range(repeat):
        base.append(scan_variant(root, "allow_pickle_weights: false\n", ["--write-lock"]))
        signed.append(
            scan_variant(root, "model_signing: {required: true, trusted_keys: [k.pub]}\n", ["--write-lock"])
        )
    b, s = statistics.median(base), statistics.median(signed)
    print(f"scan --write-lock            {b:7.2f} s (median of {repeat})")
    print(f"  + model signature (R1-ART-011) {s:7.2f} s: +{(s - b) / b * 100:5.1f} % (target <= 10 %)")


def clamd_cpu(pid: int) -> float:
    """CPU seconds (user + system, every thread) the clamd process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def clamd_run(args: list[str], root: Path, pid: int) -> tuple[float, float, float]:
    """Wall seconds, clamd's CPU seconds during the run, load average at its start."""
    load = os.getloadavg()[0]
    before = clamd_cpu(pid)
    wall = timed(args, root)
    return wall, clamd_cpu(pid) - before, load


def r1_clamd_verdicts(report: Path, files: int) -> None:
    """Every weight file must have passed R1-ART-012: a fast error would not be a measurement."""
    findings = json.loads(report.read_text())["findings"]
    passed = {f["subject"]["id"] for f in findings if f["rule_id"] == "R1-ART-012" and f["status"] == "pass"}
    weights = {f"clamd-model/weights-{i:05d}.bin" for i in range(files)}
    if not weights <= passed:
        ours = [f for f in findings if f["rule_id"] == "R1-ART-012"]
        bad = [(f["subject"]["id"], f["status"], f["message"]) for f in ours]
        raise SystemExit(f"R1-ART-012 did not pass on every weight file: {bad}")


def bench_clamd(root: Path, files: int, size: int, repeat: int, cache: bool = False) -> None:
    """r1policy `scan` with `malware_scan` against clamd's own client on the same files and daemon.

    Like with like: the daemon runs with `DisableCache yes`. clamd keeps a cache of the MD5 of every
    clean file it scanned (until its database reloads); with it on, whichever client streams a file
    second gets a cache lookup instead of a scan (measured: 2 x 64 MiB, clamd CPU 2.4-3.6 s for the
    first client, 0.7-0.8 s for the second, whichever it was). r1policy keeps its own verdict cache,
    cleared before every run here. Its size limits (StreamMaxLength, MaxFileSize, MaxScanSize) are
    raised above the file size, so clamd scans every byte for both clients instead of skipping.
    """
    from tests.support.clamd import clamd_binary, run_clamd

    if clamd_binary() is None or shutil.which("clamdscan") is None:
        print("clamd / clamdscan not installed: the malware-scan comparison is skipped")
        return
    small = root / "clamd-model"
    make_model(small, files, size)
    limit = f"{size // MIB + 8}M"
    extra = f"DisableCache {'no' if cache else 'yes'}\nMaxFileSize {limit}\nMaxScanSize {limit}\n"
    run_dir = Path(tempfile.mkdtemp(prefix="clamd-", dir=root))
    (root / "r1policy.yaml").write_text(
        f"malware_scan: {{clamd: 'unix://{run_dir}/clamd.sock', stream_max_bytes: {size + 8 * MIB}}}\n"
    )
    os.environ["R1POLICY_CACHE_DIR"] = str(root / "cache")
    r1 = [str(R1), "scan", "clamd-model", "--format", "json", "--show-passed", "--output", "o.json"]
    variants: dict[str, list[str]] = {
        "r1policy scan + malware_scan": r1,
        "clamdscan --stream": ["clamdscan", "--stream", "--no-summary", str(small)],
        "clamdscan --stream --multiscan": ["clamdscan", "--stream", "-m", "--no-summary", str(small)],
    }
    runs: dict[str, list[tuple[float, float, float]]] = {name: [] for name in variants}
    with run_clamd(run_dir, stream_max=limit, extra_config=extra) as server:
        for name in variants:
            if name.startswith("clamdscan"):
                variants[name].insert(1, f"--config-file={server.conf}")
        for round_ in range(repeat):
            alternate = round_ % 2 == 1 and not cache  # with the cache on: the old, fixed order
            names = list(reversed(variants)) if alternate else list(variants)
            for name in names:
                shutil.rmtree(root / "cache", ignore_errors=True)
                runs[name].append(clamd_run(variants[name], root, server.pid))
                wall, cpu, load = runs[name][-1]
                print(
                    f"  round {round_ + 1}: {name}: {wall:.2f} s, clamd CPU {cpu:.2f} s, load {load:.1f}",
                    flush=True,
                )
                if name.startswith("r1policy"):
                    r1_clamd_verdicts(root / "o.json", files)
    how = "clean-file cache ON: not like with like" if cache else "DisableCache"
    print(f"malware scan of {files} x {size // MIB} MiB (clamd {how}, limits {limit}); each run:")
    medians = {}
    for name, got in runs.items():
        walls = ", ".join(f"{w:.2f} s (clamd CPU {c:.2f} s, load {ld:.1f})" for w, c, ld in got)
        medians[name] = statistics.median(w for w, _, _ in got)
        print(f"  {name:32s} median {medians[name]:7.2f} s: {walls}")
    ours = medians.pop("r1policy scan + malware_scan")
    base_name, base = min(medians.items(), key=lambda item: item[1])
    overhead = (ours - base) / base * 100
    verdict = "met" if overhead <= 15 else "MISSED"
    print(
        f"r1policy over clamd's own time ({base_name}, the faster client): {overhead:+.1f} % "
        f"(target <= 15 %): {verdict}; load {os.getloadavg()[0]:.1f} at the end"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--clamd-files", type=int, default=4)
    parser.add_argument("--clamd-mib", type=int, default=256, help="size of each file streamed to clamd")
    parser.add_argument("--only", choices=["signing", "clamd"], default=None)
    parser.add_argument(
        "--clamd-cache",
        action="store_true",
        help="keep clamd's clean-file cache on (shows why the comparison needs it off)",
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="r1policy-bench-trust-"))
    print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    if args.only != "clamd":
        model = root / "model"
        make_model(model, args.files, args.mib * MIB)
        sign(root, model)
        print(f"model {args.files} x {args.mib} MiB, signed")
        bench_signing(root, args.repeat)
    if args.only != "signing":
        bench_clamd(root, args.clamd_files, args.clamd_mib * MIB, args.repeat, args.clamd_cache)


if __name__ == "__main__":
    main()
