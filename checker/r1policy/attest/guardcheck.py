"""The deploy guard's attestation check: with `attestation.trusted_keys` set, a CreateModel goes through
only when every file of its model data (digests from r1policy.lock) is a subject of a valid `allow`
attestation signed by a trusted key. Attestations come from `attestation.envelopes` and the
R1POLICY_ATTESTATIONS variable (files or folders of *.json, separated by the OS path separator)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from r1policy.attest import ENV_ATTESTATIONS
from r1policy.core.errors import InputError
from r1policy.core.model import Deployment
from r1policy.project.config import Config
from r1policy.project.lockfile import DEFAULT_LOCK_NAME, Lock, load_lock
from r1policy.sources.sagemaker.api import ApiProblem

_LISTED = 5


def _envelope_files(config: Config, environ: Mapping[str, str]) -> list[Path]:
    roots = list(config.attestation.envelopes)
    roots += [Path(p) for p in environ.get(ENV_ATTESTATIONS, "").split(os.pathsep) if p]
    files: list[Path] = []
    for root in roots:
        files.extend(sorted(root.glob("*.json")) if root.is_dir() else [root])
    return files


def _lock(config: Config) -> tuple[Lock | None, str]:

    config_dir = Path(config.source).parent if Path(config.source).is_file() else None
    for folder in (config_dir, Path.cwd()):
        if folder is not None and (folder / DEFAULT_LOCK_NAME).is_file():
            return load_lock(folder / DEFAULT_LOCK_NAME), str(folder / DEFAULT_LOCK_NAME)
    return None, DEFAULT_LOCK_NAME


def attestation_problems(
    config: Config, deployments: list[Deployment], environ: Mapping[str, str] | None = None
) -> list[ApiProblem]:
    """What keeps these models from being deployed under `attestation.trusted_keys` (empty: allowed)."""
    if not config.attestation.trusted_keys:
        return []
    from r1policy.attest import envelope, keys, statement

    try:
        lock, lock_path = _lock(config)
        trusted = [keys.load_public_key(p) for p in config.attestation.trusted_keys]
    except InputError as exc:
        return [ApiProblem("attestation", f"cannot check attestations: {exc}")]
    allowed: dict[str, str] = {}
    refused: list[str] = []
    for path in _envelope_files(config, os.environ if environ is None else environ):
        try:
            result = envelope.verify(path, trusted)
        except InputError as exc:
            refused.append(str(exc))
            continue
        if not result.valid:
            refused.append(f"{path}: " + "; ".join(result.problems))
        elif result.decision != "allow":
            refused.append(f"{path}: decision is {result.decision}, not allow")
        else:
            allowed.update(result.digests())
    problems = []
    for dep in deployments:
        found = statement.locked_source(lock, dep) if lock is not None else None
        subject = f"Model {dep.name}"
        if found is None:
            problems.append(
                ApiProblem(
                    subject,
                    f"model data {dep.model.uri or '(none)'} is not in {lock_path}: its digests are unknown, "
                    "so no attestation can cover it (attestation.trusted_keys is set)",
                )
            )
            continue
        missing = [s for s in statement.model_subjects(*found) if s["digest"]["sha256"] not in allowed]
        if missing:
            named = "; ".join(f"{s['name']} (sha256 {s['digest']['sha256']})" for s in missing[:_LISTED])
            more = f"; and {len(missing) - _LISTED} more" if len(missing) > _LISTED else ""
            why = f" (attestations refused: {'; '.join(refused)})" if refused else ""
            problems.append(ApiProblem(subject, f"no valid `allow` attestation covers {named}{more}{why}"))
    return problems
