"""`check --attest FILE` (sign the gate decision) and `r1policy verify-attestation FILE`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from r1policy.core.errors import UsageError
from r1policy.core.model import Deployment
from r1policy.engine.report import Report
from r1policy.project.config import Config, load_config
from r1policy.project.lockfile import Lock
from r1policy.rules.registry import RuleRegistry


def write_attestation(
    path: Path,
    report: Report,
    deployments: list[Deployment],
    manifests: list[str],
    lock: Lock | None,
    config: Config,
    registry: RuleRegistry,
) -> None:
    from r1policy.attest import envelope, keys, statement

    signer = keys.load_signer(config.attestation.signing_key, config.attestation.kms)
    subjects, unlocked = statement.subjects(deployments, manifests, lock)
    for name in unlocked:
        print(
            f"r1policy: --attest: the model files of {name} are not in r1policy.lock; "
            "the attestation covers only its manifest (run `r1policy lock`)",
            file=sys.stderr,
        )
    if not subjects:
        raise UsageError(f"--attest {path}: nothing to attest (no manifest and no locked model files)")
    signed = envelope.sign(statement.statement(report, subjects, registry, config.source), signer)
    envelope.write(path, signed)
    print(
        f"r1policy: wrote {path}: decision {report.decision}, {len(subjects)} subjects, "
        f"signed by key {signer.public_key.keyid[:16]}",
        file=sys.stderr,
    )


def run_verify_attestation(args: argparse.Namespace) -> int:
    from r1policy.attest import envelope, keys, statement

    config = load_config(args.config, Path.cwd())
    key_files = list(args.trusted_key) or list(config.attestation.trusted_keys)
    if not key_files:
        raise UsageError(
            "no trusted keys: set attestation.trusted_keys in the configuration or pass --trusted-key"
        )
    trusted = [keys.load_public_key(p) for p in key_files]
    result = envelope.verify(args.file, trusted)
    digests = result.digests() if result.valid else {}
    for subject in args.subject:
        if not subject.is_file():
            raise UsageError(f"--subject {subject}: no such file")
        sha = statement.file_sha256(subject)
        if sha not in digests:
            result.problems.append(f"{subject} (sha256 {sha}) is not a subject of the attestation")
    if not result.valid:
        for problem in result.problems:
            print(f"r1policy: {args.file}: invalid: {problem}", file=sys.stderr)
        return 1
    print(
        f"{args.file}: valid in-toto attestation, decision {result.decision}, {len(digests)} subjects, "
        f"signed by {', '.join(k[:16] for k in result.signers)}"
    )
    for subject in args.subject:
        print(f"  subject {subject}: matches")
    return 0
