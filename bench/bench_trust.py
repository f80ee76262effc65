#!/usr/bin/env python3
"""Benchmark the cost of the trust checks in `r1policy scan` (docs/trust.md), in one run.

Usage (from the repository root):

    .venv/bin/python bench/bench_trust.py                      # 2 x 1 GiB model files
    .venv/bin/python bench/bench_trust.py --mib 256 --repeat 3

The model (N files of pseudo-random bytes, page-cached before measuring) is signed with model-signing
and an EC key made on the spot. Each round runs, back to back as fresh processes:

- `scan --write-lock` (the baseline: hashing, format analysis, rules);
- the same with `model_signing.required` (R1-ART-011: bundle verification against the digests the scan
  already computed, plus importing model-signing and sigstore);
- when clamd is installed: a clamd started with a test signature database, `scan` with `malware_scan`
  on files of at most `--clamd-mib` (ClamAV cannot stream more than its StreamMaxLength), against
  `clamdscan --stream` on the same files (clamd's own time).

Targets (issue 15): signature verification adds <= 10 % to `scan --write-lock`; r1policy's overhead
over clamd's own time <= 15 %. A benchmark, not a test: it reports, it never fails a build.
"""

from __future__ import annotations

import argparse
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


def bench_clamd(root: Path, files: int, size: int, repeat: int) -> None:
    from tests.support.clamd import clamd_binary, run_clamd

    if clamd_binary() is None or shutil.which("clamdscan") is None:
        print("clamd / clamdscan not installed: the malware-scan comparison is skipped")
        return
    small = root / "clamd-model"
    make_model(small, files, size)
    run_dir = Path(tempfile.mkdtemp(prefix="clamd-", dir=root))
    with run_clamd(run_dir, stream_max=f"{size // MIB + 8}M") as server:
        conf = run_dir / "clamd.conf"
        ours, theirs = [], []
        for _ in range(repeat):
            config = f"malware_scan: {{clamd: '{server.address}', stream_max_bytes: {size + 8 * MIB}}}\n"
            (root / "r1policy.yaml").write_text(config)
            shutil.rmtree(root / "cache", ignore_errors=True)
            os.environ["R1POLICY_CACHE_DIR"] = str(root / "cache")
            ours.append(
                timed([str(R1), "scan", "clamd-model", "--format", "json", "--output", "o.json"], root)
            )
            theirs.append(
                timed(["clamdscan", f"--config-file={conf}", "--stream", "--no-summary", str(small)], root)
            )
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"clamdscan --stream            {t:7.2f} s on {files} x {size // MIB} MiB")
    print(f"r1policy scan + malware_scan  {o:7.2f} s: overhead {(o - t) / t * 100:5.1f} % (target <= 15 %)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--files", type=int, default=2)
    parser.add_argument("--mib", type=int, default=1024)
    parser.add_argument("--clamd-mib", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    root = args.dir or Path(tempfile.mkdtemp(prefix="r1policy-bench-trust-"))
    model = root / "model"
    make_model(model, args.files, args.mib * MIB)
    sign(root, model)
    print(
        f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; model {args.files} x {args.mib} MiB"
    )
    bench_signing(root, args.repeat)
    bench_clamd(root, args.files, args.clamd_mib * MIB, args.repeat)


if __name__ == "__main__":
    main()
