"""Rule metadata (rule.yaml beside each rule's Cedar policy), validated when loaded."""

from __future__ import annotations

from dataclasses import field
from pathlib import Path
from typing import Any

from r1policy.core.errors import PolicyLoadError, Position
from r1policy.core.findings import Enforcement, Severity, SubjectType
from r1policy.core.model import SourceKind
from r1policy.core.record import frozen_record
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import load_yaml_documents, read_text

SCHEMA = "rule-metadata.schema.json"
ALL_SOURCES = frozenset(SourceKind)
BUCKET_FACTS = frozenset(
    {
        "bucket.region",
        "bucket.encryption",
        "bucket.public_access_block",
        "bucket.account_public_access_block",
        "bucket.policy",
        "bucket.acl",
        "bucket.versioning",
        "bucket.object_lock",
        "bucket.logging",
        "bucket.writers",
        "bucket.key_policy",
        "bucket.data_events",
    }
)


@frozen_record
class RemediationTemplate:
    """A rule's remediation as written in rule.yaml: Jinja templates filled per finding."""

    summary: str
    steps: tuple[str, ...]
    cli: str | None = None
    terraform: str | None = None
    cloudformation: str | None = None


@frozen_record
class RuleMeta:
    """A rule's checked metadata (policies/<RULE>/rule.yaml, or a loose .cedar file's annotations)."""

    id: str
    title: str
    severity: Severity
    enforcement: Enforcement
    subject: SubjectType
    rationale: str
    messages: dict[str, str]
    remediation: RemediationTemplate
    references: tuple[str, ...]
    sources: frozenset[SourceKind] = ALL_SOURCES
    needs_endpoint: bool = False
    requires: frozenset[str] = frozenset()
    location_fields: tuple[str, ...] = ()
    details: str | None = None
    equivalents: dict[str, tuple[str, ...]] = field(default_factory=dict)
    folder: str | None = None
    builtin: bool = True
    # compliance framework id -> control ids this rule supports (checked against the catalogues)
    compliance: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def on_bucket(self) -> bool:
        return self.subject is SubjectType.BUCKET

    @property
    def on_artifact(self) -> bool:
        """Judged by `r1policy scan` only (a file or archive member), never per deployment."""
        return self.subject is SubjectType.ARTIFACT


def load_metadata(path: Path, *, builtin: bool) -> RuleMeta:
    text = read_text(path)
    docs = list(load_yaml_documents(text, str(path)))
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise PolicyLoadError(Position(str(path)), "rule metadata must be one YAML mapping")
    doc = docs[0]
    validate_document(doc, SCHEMA)
    return _from_mapping(doc.value, path, builtin=builtin)


def _from_mapping(value: dict[str, Any], path: Path, *, builtin: bool) -> RuleMeta:
    if path.parent.name != value["id"]:
        raise PolicyLoadError(
            Position(str(path)), f"rule id {value['id']!r} does not match its folder {path.parent.name!r}"
        )
    rem = value["remediation"]
    meta = RuleMeta(
        id=value["id"],
        title=value["title"].strip(),
        severity=Severity(value["severity"]),
        enforcement=Enforcement(value["enforcement"]),
        subject=SubjectType(value["subject"]),
        rationale=" ".join(value["rationale"].split()),
        messages={k: " ".join(v.split()) for k, v in value["messages"].items()},
        remediation=RemediationTemplate(
            summary=" ".join(rem["summary"].split()),
            steps=tuple(rem["steps"]),
            cli=rem.get("cli"),
            terraform=rem.get("terraform"),
            cloudformation=rem.get("cloudformation"),
        ),
        references=tuple(value["references"]),
        sources=frozenset(SourceKind(s) for s in value.get("sources", [s.value for s in SourceKind])),
        needs_endpoint=bool(value.get("needs_endpoint", False)),
        requires=frozenset(value.get("requires", ())),
        location_fields=tuple(value.get("location", ())),
        details=value.get("details"),
        equivalents={k: tuple(v) for k, v in value.get("equivalents", {}).items()},
        folder=str(path.parent),
        builtin=builtin,
        compliance={k: tuple(v) for k, v in value.get("compliance", {}).items()},
    )
    _check_compliance(meta, path)
    if meta.on_bucket and not meta.requires <= BUCKET_FACTS:
        raise PolicyLoadError(Position(str(path)), "a bucket rule can only require bucket.* facts")
    return meta


def _check_compliance(meta: RuleMeta, path: Path) -> None:
    """Every control a rule names exists in its shipped framework catalogue."""
    if not meta.compliance:
        return
    from r1policy.rules.catalogue import shipped_catalogues

    catalogues = shipped_catalogues()
    for framework, controls in meta.compliance.items():
        known = catalogues[framework].control_ids
        unknown = [c for c in controls if c not in known]
        if unknown:
            raise PolicyLoadError(
                Position(str(path)),
                f"{meta.id}: compliance {framework} names controls its catalogue does not list: "
                + ", ".join(unknown),
            )


def annotation_metadata(rule_id: str, annotations: dict[str, str], path: Path) -> RuleMeta:
    """Metadata for a custom policy file without rule.yaml, from its Cedar annotations."""
    try:
        severity = Severity(annotations.get("severity", "medium"))
        enforcement = Enforcement(annotations.get("enforcement", "block"))
        subject = SubjectType(annotations.get("subject", "deployment"))
    except ValueError as exc:
        raise PolicyLoadError(Position(str(path)), f"{rule_id}: bad annotation value: {exc}") from exc
    if subject not in (
        SubjectType.DEPLOYMENT,
        SubjectType.BUCKET,
        SubjectType.ENDPOINT,
        SubjectType.MODEL,
        SubjectType.ARTIFACT,
    ):
        raise PolicyLoadError(Position(str(path)), f"{rule_id}: unsupported @subject {subject.value!r}")
    title = annotations.get("title", f"Custom rule {rule_id}")
    message = annotations.get("message", f"{title}: violated")
    return RuleMeta(
        id=rule_id,
        title=title,
        severity=severity,
        enforcement=enforcement,
        subject=subject,
        rationale=annotations.get("rationale", "Custom organisation policy."),
        messages={"default": message},
        remediation=RemediationTemplate(
            summary=annotations.get("remediation", "See the policy's owner."),
            steps=(
                annotations.get(
                    "remediation", "Change the deployment so that the custom policy no longer matches."
                ),
            ),
        ),
        references=tuple(filter(None, [annotations.get("reference")])),
        folder=str(path.parent),
        builtin=False,
    )
