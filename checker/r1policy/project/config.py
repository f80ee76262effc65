"""Configuration (SPEC §6): r1policy.yaml, else [tool.r1policy] in pyproject.toml, else defaults."""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from collections.abc import Iterable
from dataclasses import field
from pathlib import Path
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Enforcement, Severity
from r1policy.core.record import frozen_record
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document, load_yaml_documents, read_text

SCHEMA = "config.schema.json"

DEFAULT_APPROVED_INSTANCE_TYPES = (
    "ml.g5.2xlarge",
    "ml.g5.12xlarge",
    "ml.g6e.12xlarge",
    "ml.p4d.24xlarge",
    "ml.p5e.48xlarge",
)
DEFAULT_TRUSTED_PUBLISHERS = ("deepseek-ai",)
DEFAULT_IMAGE_REGISTRIES = ("763104351884.dkr.ecr.*.amazonaws.com",)


@frozen_record
class RuleOverride:
    """`rules.<RULE-ID>`: a rule's enforcement or severity changed by the configuration."""

    enforcement: Enforcement | None = None
    severity: Severity | None = None


@frozen_record
class Waiver:
    """`waivers[]`: one accepted finding (rule, subject), with its owner, reason and expiry."""

    rule: str
    subject: str
    reason: str
    owner: str
    expires: _dt.date
    ticket: str | None
    position: Position
    # R1-EP-008: the waiver accepts one advisory (GHSA / CVE / PYSEC id), not the whole rule
    advisory: str | None = None


@frozen_record
class MalwareScanConfig:
    """`malware_scan`: the ClamAV daemon `scan` streams model files to, and its limits."""

    clamd: str
    max_file_bytes: int = 4 * 1024**3
    stream_max_bytes: int = 100 * 1024**2
    skip_larger: bool = False
    timeout_seconds: float = 60.0


@frozen_record
class ModelSigningConfig:
    """`model_signing`: whether a model signature is required, and the keys and identities trusted."""

    required: bool = False
    trusted_keys: tuple[Path, ...] = ()
    trusted_certificates: tuple[Path, ...] = ()
    sigstore_identities: tuple[tuple[str, str], ...] = ()
    sigstore_trust_root: Path | None = None


@frozen_record
class AttestationConfig:
    """`attestation`: the key that signs attestations, and what verifies them."""

    signing_key: Path | None = None
    kms: str | None = None
    trusted_keys: tuple[Path, ...] = ()
    envelopes: tuple[Path, ...] = ()


@frozen_record
class LicencePolicy:
    """`licences`: canonical licence ids (r1policy.core.licenceids)."""

    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()


@frozen_record
class Config:
    """The validated configuration (r1policy.yaml or pyproject's [tool.r1policy]); defaults without one."""

    approved_instance_types: tuple[str, ...] = DEFAULT_APPROVED_INSTANCE_TYPES
    trusted_publishers: tuple[str, ...] = DEFAULT_TRUSTED_PUBLISHERS
    approved_buckets: tuple[str, ...] = ()
    approved_image_registries: tuple[str, ...] = DEFAULT_IMAGE_REGISTRIES
    encryption_algorithm: str = "aws:kms"
    customer_managed_key: bool = False
    allow_pickle_weights: bool = False
    capacity_headroom_percent: int = 20
    approved_remote_code: tuple[tuple[str, str], ...] = ()
    # R1-HUB-002 also asks the Hub whether each trusted publisher is a verified organisation.
    require_verified_publisher: bool = False
    # R1-EP-008: advisories at or above this severity fail; digests reviewed although their version is unknown
    vulnerability_threshold: str = "high"
    image_digests_reviewed: tuple[str, ...] = ()
    # R1-S3-009: accounts besides the bucket's own that may write the model bucket
    trusted_writer_accounts: tuple[str, ...] = ()
    # R1-HUB-007: how many days a pinned Hub commit may be behind its branch's head (None: rule skipped)
    max_revision_age_days: int | None = None
    rules: dict[str, RuleOverride] = field(default_factory=dict)
    waivers: tuple[Waiver, ...] = ()
    source: str = "(built-in defaults)"
    malware_scan: MalwareScanConfig | None = None
    model_signing: ModelSigningConfig = ModelSigningConfig()
    attestation: AttestationConfig = AttestationConfig()
    licences: LicencePolicy | None = None  # None: R1-LIC-001 / R1-LIC-002 are skipped
    # custom compliance catalogues (SPEC 8.5), relative to the config file, with where each is named
    compliance: tuple[tuple[Path, Position], ...] = ()

    def enforcement_of(self, rule_id: str, default: Enforcement) -> Enforcement:
        override = self.rules.get(rule_id)
        return override.enforcement if override and override.enforcement else default

    def severity_of(self, rule_id: str, default: Severity) -> Severity:
        override = self.rules.get(rule_id)
        return override.severity if override and override.severity else default


def load_config(explicit: Path | None, cwd: Path) -> Config:
    if explicit is not None:
        if not explicit.is_file():
            raise InputError(Position(str(explicit)), "config file not found")
        return _from_yaml(explicit)
    candidate = cwd / "r1policy.yaml"
    if candidate.is_file():
        return _from_yaml(candidate)
    pyproject = cwd / "pyproject.toml"
    if pyproject.is_file():
        text = read_text(pyproject)
        import tomllib  # only for a pyproject.toml config: its parser compiles a dozen regexes

        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            line = _toml_line(str(exc))
            raise InputError(Position(str(pyproject), line), f"invalid TOML: {exc}") from exc
        section = data.get("tool", {}).get("r1policy")
        if section is not None:
            doc = Document(path=str(pyproject), value=_toml_plain(section))
            _toml_positions(doc, text)
            return from_document(doc)
    return Config()


def _from_yaml(path: Path) -> Config:
    text = read_text(path)
    docs = list(load_yaml_documents(text, str(path)))
    if len(docs) != 1:
        raise InputError(Position(str(path)), "a config file holds exactly one YAML document")
    doc = docs[0]
    if doc.value is None:
        doc.value = {}
    return from_document(doc)


def from_document(doc: Document) -> Config:
    value = _validated(doc)
    encryption = value.get("encryption", {})
    rules = _rule_overrides(value)
    waivers = [_waiver(doc, i, raw) for i, raw in enumerate(value.get("waivers", []))]
    return Config(
        approved_instance_types=tuple(value.get("approved_instance_types", DEFAULT_APPROVED_INSTANCE_TYPES)),
        trusted_publishers=tuple(value.get("trusted_publishers", DEFAULT_TRUSTED_PUBLISHERS)),
        approved_buckets=tuple(value.get("approved_buckets", ())),
        approved_image_registries=tuple(value.get("approved_image_registries", DEFAULT_IMAGE_REGISTRIES)),
        encryption_algorithm=encryption.get("algorithm", "aws:kms"),
        customer_managed_key=bool(encryption.get("customer_managed_key", False)),
        allow_pickle_weights=bool(value.get("allow_pickle_weights", False)),
        capacity_headroom_percent=int(value.get("capacity_headroom_percent", 20)),
        approved_remote_code=tuple((e["repo"], e["revision"]) for e in value.get("approved_remote_code", [])),
        require_verified_publisher=bool(value.get("require_verified_publisher", False)),
        vulnerability_threshold=value.get("vulnerability_threshold", "high"),
        image_digests_reviewed=tuple(value.get("image_digests_reviewed", ())),
        trusted_writer_accounts=tuple(value.get("trusted_writer_accounts", ())),
        max_revision_age_days=_optional_int(value.get("max_revision_age_days")),
        rules=rules,
        waivers=tuple(waivers),
        source=doc.path,
        licences=_licences(doc) if "licences" in value else None,
        compliance=tuple(
            (Path(doc.path).parent / item, doc.position(("compliance", i)))
            for i, item in enumerate(value.get("compliance", []))
        ),
        **_trust(value, Path(doc.path).parent),
    )


def _validated(doc: Document) -> dict[str, Any]:
    """The document's mapping, checked against the config schema (exit 2 naming file and line)."""
    if not isinstance(doc.value, dict):
        raise InputError(doc.position(()), "the configuration must be a mapping")
    value: dict[str, Any] = dict(doc.value)
    # YAML turns an unquoted date into a date; the schema expects ISO text.
    for waiver in value.get("waivers") or []:
        if isinstance(waiver, dict) and isinstance(waiver.get("expires"), _dt.date):
            waiver["expires"] = waiver["expires"].isoformat()
    doc.value = value
    validate_document(doc, SCHEMA)
    return value


def _rule_overrides(value: dict[str, Any]) -> dict[str, RuleOverride]:
    return {
        rule_id: RuleOverride(
            enforcement=Enforcement(spec["enforcement"]) if "enforcement" in spec else None,
            severity=Severity(spec["severity"]) if "severity" in spec else None,
        )
        for rule_id, spec in value.get("rules", {}).items()
    }


def _waiver(doc: Document, i: int, raw: dict[str, Any]) -> Waiver:
    """The i-th waiver (schema-valid): its date parsed, its advisory and subject checked."""
    try:
        expires = _dt.date.fromisoformat(raw["expires"])
    except ValueError as exc:
        raise InputError(doc.position(("waivers", i, "expires")), f"bad date {raw['expires']!r}") from exc
    if raw.get("advisory") and raw["rule"] != "R1-EP-008":
        raise InputError(
            doc.position(("waivers", i, "advisory")),
            f"a waiver naming an advisory applies to R1-EP-008 only, not {raw['rule']}",
        )
    _check_waiver_subject(raw["subject"], doc.position(("waivers", i, "subject")))
    return Waiver(
        rule=raw["rule"],
        subject=raw["subject"],
        reason=raw["reason"],
        owner=raw["owner"],
        expires=expires,
        ticket=raw.get("ticket"),
        position=doc.position(("waivers", i)),
        advisory=raw.get("advisory"),
    )


def _licences(doc: Document) -> LicencePolicy:
    """Each id must be an SPDX id, a Hub licence id or `other:<name>` (exit 2 naming the field)."""
    from r1policy.core.licenceids import canonical

    section = doc.value["licences"]
    lists: dict[str, tuple[str, ...]] = {}
    for name in ("allowed", "denied"):
        out = []
        for i, raw in enumerate(section.get(name, [])):
            found = canonical(raw)
            if found is None:
                raise InputError(
                    doc.position(("licences", name, i)),
                    f"licences.{name}[{i}]: {raw!r} is neither an SPDX licence id (MIT, Apache-2.0, ...) "
                    "nor a Hugging Face Hub licence id (llama3.1, llama3.3, ...) nor other:<license_name>",
                )
            out.append(found)
        lists[name] = tuple(out)
    both = sorted(set(lists["allowed"]) & set(lists["denied"]))
    if both:
        raise InputError(doc.position(("licences",)), f"licences: {', '.join(both)} both allowed and denied")
    return LicencePolicy(allowed=lists["allowed"], denied=lists["denied"])


def _check_waiver_subject(subject: str, where: Position) -> None:
    """A waiver names what it waives: a subject pattern of wildcards alone (`*`, `**`, `?*`) would
    waive the rule for every subject, and is refused."""
    if not subject.strip() or not subject.strip("*?[]!"):
        raise InputError(
            where,
            f"waiver subject {subject!r} matches every subject: name the deployment, endpoint, bucket "
            "or artifact it waives (a pattern such as 'staging-*' is fine)",
        )


def check_waiver_rules(config: Config, rule_ids: Iterable[str]) -> None:
    """Every waiver's rule (a glob) names at least one rule of the run's registry; a waiver for an
    unknown rule (a typo, a removed rule) is bad configuration (exit 2), never silently inert."""
    known = sorted(rule_ids)
    for waiver in config.waivers:
        if not any(fnmatch.fnmatchcase(rule, waiver.rule) for rule in known):
            import difflib  # only for an unknown rule id's suggestion

            close = difflib.get_close_matches(waiver.rule, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InputError(waiver.position, f"waiver names unknown rule {waiver.rule!r}{hint}")


def _trust(value: dict[str, Any], base: Path) -> dict[str, Any]:
    """model_signing / malware_scan / attestation (SPEC 8.3); file paths are relative to the config."""
    out: dict[str, Any] = {}

    def paths(items: list[str]) -> tuple[Path, ...]:
        return tuple(base / p for p in items)

    if "malware_scan" in value:
        m = value["malware_scan"]
        out["malware_scan"] = MalwareScanConfig(
            clamd=m["clamd"],
            max_file_bytes=int(m.get("max_file_bytes", 4 * 1024**3)),
            stream_max_bytes=int(m.get("stream_max_bytes", 100 * 1024**2)),
            skip_larger=bool(m.get("skip_larger", False)),
            timeout_seconds=float(m.get("timeout_seconds", 60.0)),
        )
    if "model_signing" in value:
        s = value["model_signing"]
        root = s.get("sigstore_trust_root")
        out["model_signing"] = ModelSigningConfig(
            required=bool(s.get("required", False)),
            trusted_keys=paths(s.get("trusted_keys", [])),
            trusted_certificates=paths(s.get("trusted_certificates", [])),
            sigstore_identities=tuple((i["identity"], i["issuer"]) for i in s.get("sigstore_identities", [])),
            sigstore_trust_root=base / root if root else None,
        )
    if "attestation" in value:
        a = value["attestation"]
        out["attestation"] = AttestationConfig(
            signing_key=base / a["signing_key"] if "signing_key" in a else None,
            kms=a.get("kms"),
            trusted_keys=paths(a.get("trusted_keys", [])),
            envelopes=paths(a.get("envelopes", [])),
        )
    return out


def _toml_plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _toml_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_plain(v) for v in value]
    return value


def _toml_line(message: str) -> int | None:
    match = re.search(r"line (\d+)", message)
    return int(match.group(1)) if match else None


def _toml_positions(doc: Document, text: str) -> None:
    """tomllib keeps no positions: find each top-level key of [tool.r1policy] by its text."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip() == "[tool.r1policy]"), None)
    if start is None:
        return
    doc.positions[()] = (start + 1, 1)
    for key in doc.value if isinstance(doc.value, dict) else ():
        for i in range(start + 1, len(lines)):
            stripped = lines[i].lstrip()
            if stripped.startswith("[") and not stripped.startswith("[tool.r1policy"):
                break
            if re.match(rf"^\s*(\[tool\.r1policy\.)?{re.escape(key)}\b", lines[i]):
                doc.positions[(key,)] = (i + 1, lines[i].index(key[0]) + 1)
                doc.key_positions[(key,)] = doc.positions[(key,)]
                break


def _optional_int(value: Any) -> int | None:
    """JSON Schema's `integer` also admits `90.0`; the key holds a whole number either way."""
    return int(value) if value is not None else None
