"""`r1policy scan TARGET ...`: scan model artifacts, judge them with the R1-ART-* policies."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from r1policy.artifacts import lockcheck, targets, verdict
from r1policy.artifacts.model import DEFAULT_LIMITS, FileFacts, ScanLimits
from r1policy.artifacts.scanner import FileResult, Scanner
from r1policy.core.errors import UsageError
from r1policy.engine.evaluate import ArtifactInput, Evaluator, Notice
from r1policy.engine.hubfacts import HubContext
from r1policy.engine.report import Report
from r1policy.formats.output import pair_outputs, refuse_inputs_as_outputs, write_reports
from r1policy.project.config import Config, ModelSigningConfig, load_config
from r1policy.project.lockfile import (
    DEFAULT_LOCK_NAME,
    Lock,
    LockedSource,
    diff_locks,
    load_lock,
    merge,
    write_lock,
)
from r1policy.rules.registry import load_registry

if TYPE_CHECKING:
    from r1policy.artifacts.malware import MalwareScan


def run_scan(args: argparse.Namespace) -> int:
    pairs = pair_outputs(args.format, args.output)
    config = load_config(args.config, Path.cwd())
    registry = load_registry(args.policies)
    limits = _limits(args)
    lock_path: Path = args.lock or Path(DEFAULT_LOCK_NAME)
    lock = load_lock(lock_path) if lock_path.is_file() else None
    if args.lock is not None and lock is None and not args.write_lock:
        raise UsageError(f"--lock {args.lock}: no such file (use --write-lock to create it)")
    refuse_inputs_as_outputs(
        pairs,
        [("scanned file", Path(t)) for t in args.targets if Path(t).is_file()]
        + [("config file", config.source), ("lock file", lock_path)],
    )
    resolved = [targets.resolve(text) for text in args.targets]
    keys = [lockcheck.source_key(t, lock_path) for t in resolved]
    verify = lock is not None and not args.write_lock
    for target, key in zip(resolved, keys, strict=True):
        locked = lock.get(key) if verify and lock is not None else None
        if locked is not None:
            lockcheck.expect_locked(target, locked, lock_path)

    inputs: list[ArtifactInput] = []
    notices: list[Notice] = []
    signing = _signing(args, config)
    malware = _malware(config, notices)
    scanner = Scanner(limits, workers=args.workers, malware=malware)
    started = time.monotonic()
    progress = (
        _Progress(sum(len(t.files) for t in resolved)) if sys.stderr.isatty() and not args.quiet else None
    )
    all_results: list[FileResult] = []
    new_sources: dict[str, LockedSource] = {}
    for target, key in zip(resolved, keys, strict=True):
        results = scanner.scan_all(target.files, progress.update if progress else None)
        all_results += results
        extra: list[FileFacts] = []
        locked = lock.get(key) if verify and lock is not None else None
        if locked is not None:
            extra = lockcheck.set_problems(target, results, locked, lock_path)
        elif verify:
            notices.append(Notice("not-locked", f"{key} is not in {lock_path}: digests were not verified"))
        signer = None
        if signing is not None:
            from r1policy.artifacts import modelsig

            signed_extra, signer = modelsig.apply(target, results, signing, args.signature)
            extra += signed_extra
        for result in results:
            where = result.source.location
            for facts in result.facts:
                inputs.append(verdict.artifact_input(facts, where, lock_key=key, lock_path=str(lock_path)))
        inputs += [verdict.artifact_input(f, None, lock_key=key, lock_path=str(lock_path)) for f in extra]
        if args.write_lock:
            entry = lockcheck.locked_source(target, results, signer)
            if entry is None:
                notices.append(Notice("lock-not-written", f"{key}: not every file could be read; not locked"))
            else:
                new_sources[key] = entry
    if progress:
        progress.done()
    elapsed = time.monotonic() - started

    evaluator = Evaluator(registry, config, state=None, static=False, hub=HubContext(source=None))
    outcome = evaluator.evaluate_artifacts(inputs)
    report = Report(
        findings=outcome.findings,
        notices=notices + outcome.notices,
        inputs=list(args.targets),
        command="scan",
        rules=registry.rules,
    )
    if args.write_lock and new_sources:
        old = lock or Lock()
        updated = merge(old, Lock(sources=new_sources))
        write_lock(lock_path, updated)
        for line in diff_locks(old, updated) or ["(no change)"]:
            print(f"r1policy: {lock_path}: {line}", file=sys.stderr)
    write_reports(report, pairs, show_passed=args.show_passed, no_color=args.no_color)
    if not args.quiet:
        print(_summary(all_results, elapsed), file=sys.stderr)
    if report.blocked and not args.exit_zero:
        return 1
    return 0


def _signing(args: argparse.Namespace, config: Config) -> ModelSigningConfig | None:
    """R1-ART-011's settings when `model_signing.required`; its trust material is checked up front."""
    signing = config.model_signing if config.model_signing.required else None
    if signing is not None:
        from r1policy.artifacts import modelsig

        modelsig.check_trust_material(signing)
        modelsig.preload()
    if args.signature is not None and (signing is None or len(args.targets) != 1):
        raise UsageError("--signature FILE needs model_signing.required and exactly one TARGET")
    return signing


def _malware(config: Config, notices: list[Notice]) -> MalwareScan | None:
    """R1-ART-012's clamd client, when `malware_scan` is configured (asks the daemon its VERSION)."""
    settings = config.malware_scan
    if settings is None:
        return None
    from r1policy.artifacts.clamd import ClamdSettings
    from r1policy.artifacts.malware import MalwareScan
    from r1policy.hub.cache import default_cache_dir

    malware = MalwareScan(
        ClamdSettings(
            address=settings.clamd,
            max_file_bytes=settings.max_file_bytes,
            stream_max_bytes=settings.stream_max_bytes,
            skip_larger=settings.skip_larger,
            timeout=settings.timeout_seconds,
        ),
        default_cache_dir(),
    )
    if malware.unreachable:
        notices.append(Notice("clamd-unreachable", f"R1-ART-012 cannot be evaluated: {malware.unreachable}"))
    return malware


def _limits(args: argparse.Namespace) -> ScanLimits:
    changes = {
        "max_depth": args.max_depth,
        "max_ratio": args.max_ratio,
        "max_expanded_bytes": args.max_expanded_bytes,
    }
    for name, value in changes.items():
        if value is not None and value < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1")
    return dataclasses.replace(DEFAULT_LIMITS, **{k: v for k, v in changes.items() if v is not None})


def _summary(results: list[FileResult], elapsed: float) -> str:
    files = len(results)
    members = sum(len(r.facts) - 1 for r in results)
    size = sum(r.top.size or 0 for r in results)
    unscannable = sum(1 for r in results for f in r.facts if f.unscannable)
    rate = size / elapsed / 1e6 if elapsed > 0 else 0.0
    return (
        f"scanned {files} files ({members} archive members), {size:,} bytes in {elapsed:.1f} s "
        f"({rate:,.0f} MB/s); {unscannable} unscannable"
    )


class _Progress:
    """One self-overwriting status line on a terminal's stderr."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.count = 0
        self.bytes = 0
        self.started = time.monotonic()

    def update(self, result: FileResult) -> None:
        self.count += 1
        self.bytes += result.top.size or 0
        rate = self.bytes / max(time.monotonic() - self.started, 1e-6) / 1e6
        sys.stderr.write(
            f"\rscanning {self.count}/{self.total} files, {self.bytes / 1e9:.2f} GB, {rate:,.0f} MB/s "
        )
        sys.stderr.flush()

    def done(self) -> None:
        sys.stderr.write("\r" + " " * 72 + "\r")
        sys.stderr.flush()
