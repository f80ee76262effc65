"""`r1policy scan TARGET ...`: scan model artifacts, judge them with the R1-ART-* policies."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from r1policy.artifacts import lockcheck, s3tasks, targets, verdict
from r1policy.artifacts.model import DEFAULT_LIMITS, FileFacts, ScanLimits
from r1policy.artifacts.scanner import FileResult, Scanner
from r1policy.commands.progress import TerminalProgress
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
    from r1policy.aws.executors import ExecutorSpec


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
    run = _Run(args, lock_path, lock if not args.write_lock else None)
    asked = _parse_executor(args.executor)
    resolved = [targets.resolve(text) for text in args.targets]
    keys = [lockcheck.source_key(t, lock_path) for t in resolved]
    for target, key in zip(resolved, keys, strict=True):
        locked = run.locked(key)
        if locked is not None:
            lockcheck.expect_locked(target, locked, lock_path)
    signing = _signing(args, config)
    scanner = Scanner(limits, workers=args.workers, malware=_malware(config, run.notices))
    elapsed = _scan_targets(run, list(zip(resolved, keys, strict=True)), scanner, asked, signing)

    evaluator = Evaluator(registry, config, state=None, static=False, hub=HubContext(source=None))
    outcome = evaluator.evaluate_artifacts(run.inputs)
    report = Report(
        findings=outcome.findings,
        notices=run.notices + outcome.notices,
        inputs=list(args.targets),
        command="scan",
        rules=registry.rules,
    )
    if args.write_lock and run.new_sources:
        old = lock or Lock()
        new_sources = lockcheck.with_verdicts(run.new_sources, run.subjects, outcome.findings)
        updated = merge(old, Lock(sources=new_sources))
        write_lock(lock_path, updated)
        for line in diff_locks(old, updated) or ["(no change)"]:
            print(f"r1policy: {lock_path}: {line}", file=sys.stderr)
    write_reports(report, pairs, show_passed=args.show_passed, no_color=args.no_color)
    if not args.quiet:
        print(_summary(run.results, elapsed), file=sys.stderr)
    if report.blocked and not args.exit_zero:
        return 1
    return 0


@dataclass
class _Run:
    """What one `scan` collects target by target: the rules' inputs, notices and new lock entries."""

    args: argparse.Namespace
    lock_path: Path
    verify: Lock | None  # the lock to verify against (None: nothing to verify, or --write-lock)
    inputs: list[ArtifactInput] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    results: list[FileResult] = field(default_factory=list)
    new_sources: dict[str, LockedSource] = field(default_factory=dict)
    # per source key: its artifact subjects (the scan verdict recorded in the lock)
    subjects: dict[str, set[str]] = field(default_factory=dict)

    def locked(self, key: str) -> LockedSource | None:
        return self.verify.get(key) if self.verify is not None else None

    def target(
        self, target: targets.Target, key: str, results: list[FileResult], signing: ModelSigningConfig | None
    ) -> None:
        """Lock and signature checks of one scanned target, then its facts as the rules' inputs."""
        self.results += results
        extra: list[FileFacts] = []
        locked = self.locked(key)
        if locked is not None:
            extra = lockcheck.set_problems(target, results, locked, self.lock_path)
        elif self.verify is not None:
            self.notices.append(
                Notice("not-locked", f"{key} is not in {self.lock_path}: digests were not verified")
            )
        signer = None
        if signing is not None:
            from r1policy.artifacts import modelsig

            signed_extra, signer = modelsig.apply(target, results, signing, self.args.signature)
            extra += signed_extra
        where = {"lock_key": key, "lock_path": str(self.lock_path)}
        before = len(self.inputs)
        for result in results:
            for facts in result.facts:
                self.inputs.append(verdict.artifact_input(facts, result.source.location, **where))
        self.inputs += [verdict.artifact_input(f, None, **where) for f in extra]
        self.subjects[key] = {item.path for item in self.inputs[before:]}
        if self.args.write_lock:
            entry = lockcheck.locked_source(target, results, signer)
            if entry is None:
                self.notices.append(
                    Notice("lock-not-written", f"{key}: not every file could be read; not locked")
                )
            else:
                self.new_sources[key] = entry


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
    from r1policy.core.cachedir import default_cache_dir

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


def _scan_targets(
    run: _Run,
    targets_keys: list[tuple[targets.Target, str]],
    scanner: Scanner,
    asked: ExecutorSpec | None,
    signing: ModelSigningConfig | None,
) -> float:
    """Scan every target (s3:// objects as executor tasks); the seconds it took."""
    # only s3:// targets need an executor (importing it imports botocore)
    s3 = any(target.kind == "s3" for target, _ in targets_keys)
    executor = _executor(asked, scanner) if s3 else None
    ranging = s3tasks.Ranging.default(enabled=signing is None)  # a signature covers whole files
    started = time.monotonic()
    with TerminalProgress(quiet=run.args.quiet, no_color=run.args.no_color) as progress:
        for target, key in targets_keys:
            phase = f"scan {key}"
            results = (
                s3tasks.scan_target(target, scanner, executor, ranging, progress, phase)
                if executor is not None and target.kind == "s3"
                else scanner.scan_all(target.files, progress, phase=phase)
            )
            run.target(target, key, results, signing)
    return time.monotonic() - started


def _parse_executor(value: str | None) -> ExecutorSpec | None:
    if value is None:
        return None
    from r1policy.aws.executors import parse_executor  # imports botocore: only when asked

    return parse_executor(value)


def _executor(spec: ExecutorSpec | None, scanner: Scanner) -> ExecutorSpec:
    """Where s3:// objects are hashed: `--executor`, else as many threads as `--workers`."""
    from r1policy.aws.executors import ExecutorSpec

    if spec is None:
        return ExecutorSpec("local", scanner.workers)
    if spec.kind == "dask" and scanner.malware is not None:
        raise UsageError(
            "--executor dask:// cannot stream objects to clamd (malware_scan is configured): use local[N]"
        )
    return spec


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
