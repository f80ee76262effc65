"""Compliance framework catalogues: the shipped ones (policies/compliance/<framework>.yaml, mapped from
each rule's `compliance:` metadata) and a team's own (named in the config's `compliance:` list, with a
`mapping:` section control -> rule ids). All are validated by schemas/compliance-catalogue.schema.json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import field
from functools import cache
from pathlib import Path

from r1policy.core.errors import InputError, Position
from r1policy.core.record import frozen_record
from r1policy.core.resources import policies_dir
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document, load_yaml_documents, read_text

SCHEMA = "compliance-catalogue.schema.json"
SHIPPED_FOLDER = "compliance"


@frozen_record
class Control:
    """One control of a compliance catalogue: its id and title."""

    id: str
    title: str


@frozen_record
class Catalogue:
    """A compliance catalogue (policies/compliance/*.yaml or the configuration's own) and its controls."""

    id: str
    name: str
    version: str
    sources: tuple[str, ...]
    scope: str
    controls: tuple[Control, ...]
    path: str
    custom: bool = False
    # custom catalogues only: control id -> rule ids that support it
    mapping: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def control_ids(self) -> frozenset[str]:
        return frozenset(c.id for c in self.controls)


def _document(path: Path, shown: str) -> Document:
    text = read_text(path, display=shown)
    docs = list(load_yaml_documents(text, shown))
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise InputError(Position(shown, 1, 1), "a compliance catalogue is one YAML mapping")
    doc = docs[0]
    validate_document(doc, SCHEMA)
    return doc


def _from_document(doc: Document, *, custom: bool) -> Catalogue:
    value = doc.value
    seen: set[str] = set()
    for i, control in enumerate(value["controls"]):
        if control["id"] in seen:
            raise InputError(
                doc.position(("controls", i, "id")), f"control {control['id']!r} is listed twice"
            )
        seen.add(control["id"])
    mapping = {str(k): tuple(v) for k, v in value.get("mapping", {}).items()}
    if mapping and not custom:
        raise InputError(
            doc.position(("mapping",), key=True),
            "a shipped catalogue has no mapping: each rule names its controls in its rule.yaml",
        )
    for control in mapping:
        if control not in seen:
            raise InputError(
                doc.position(("mapping", control), key=True),
                f"mapping names control {control!r}, which the catalogue does not list",
            )
    return Catalogue(
        id=value["id"],
        name=value["name"],
        version=value["version"],
        sources=tuple(value["sources"]),
        scope=" ".join(value["scope"].split()),
        controls=tuple(Control(c["id"], c["title"]) for c in value["controls"]),
        path=doc.path,
        custom=custom,
        mapping=mapping,
    )


@cache
def shipped_catalogues() -> dict[str, Catalogue]:
    folder = policies_dir() / SHIPPED_FOLDER
    out: dict[str, Catalogue] = {}
    for path in sorted(folder.glob("*.yaml")):
        catalogue = _from_document(_document(path, str(path)), custom=False)
        if catalogue.id != path.stem:
            raise InputError(Position(str(path), 1, 1), f"catalogue id {catalogue.id!r} is not its file name")
        out[catalogue.id] = catalogue
    return out


def load_custom(paths: Iterable[tuple[Path, Position]], rule_ids: Iterable[str]) -> dict[str, Catalogue]:
    """The config's custom catalogues, each checked against the run's rules: a mapping that names an
    unknown rule or control, or a framework id already taken, is bad input (exit 2, file and line)."""
    known_rules = frozenset(rule_ids)
    shipped = shipped_catalogues()
    out: dict[str, Catalogue] = {}
    for path, where in paths:
        if not path.is_file():
            raise InputError(where, f"compliance catalogue {path} not found")
        doc = _document(path, str(path))
        catalogue = _from_document(doc, custom=True)
        if catalogue.id in shipped or catalogue.id in out:
            raise InputError(doc.position(("id",)), f"framework id {catalogue.id!r} is already defined")
        for control, rules in catalogue.mapping.items():
            for i, rule in enumerate(rules):
                if rule not in known_rules:
                    raise InputError(
                        doc.position(("mapping", control, i)),
                        f"mapping of {control!r} names unknown rule {rule!r}",
                    )
        out[catalogue.id] = catalogue
    return out


def run_catalogues(
    config_paths: Iterable[tuple[Path, Position]], rules: Iterable[str]
) -> dict[str, Catalogue]:
    """Every framework a run can report on: the shipped catalogues and the config's custom ones."""
    return {**shipped_catalogues(), **load_custom(config_paths, rules)}


def select(requested: Iterable[str], available: Mapping[str, Catalogue]) -> list[Catalogue]:
    """The catalogues named by --compliance, in order; an unknown id is a usage error (exit 2)."""
    from r1policy.core.errors import UsageError

    out: list[Catalogue] = []
    for framework in requested:
        if framework not in available:
            known = ", ".join(sorted(available))
            raise UsageError(f"--compliance {framework}: unknown framework (known: {known})")
        if available[framework] not in out:
            out.append(available[framework])
    return out
