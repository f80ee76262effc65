"""The shipped lineage and obligations table (policies/data/lineage.json, schemas/lineage.schema.json).

Each model row gives the licence the publisher states, its base models and the statement it comes from
(`source`); each licence row its obligations and where they are written. The table is validated against
its schema when first read; a broken table is a packaging error (exit 2), never an empty table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from r1policy.core.errors import InputError, Position
from r1policy.core.resources import load_data
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import Document

TABLE_FILE = "lineage.json"
SCHEMA = "lineage.schema.json"


@dataclass(frozen=True)
class BaseRef:
    repo: str
    relation: str


@dataclass(frozen=True)
class ModelRow:
    repo: str
    licence: str
    base_models: tuple[BaseRef, ...]
    source: str
    note: str = ""


@dataclass(frozen=True)
class LicenceRow:
    id: str
    name: str
    spdx: bool
    source: str
    obligations: tuple[str, ...]


@dataclass(frozen=True)
class LineageTable:
    models: dict[str, ModelRow]
    licences: dict[str, LicenceRow]

    def model(self, repo: str) -> ModelRow | None:
        found = self.models.get(repo)
        if found is not None:
            return found
        lowered = repo.lower()  # Hub repository ids are case-insensitive
        return next((row for name, row in self.models.items() if name.lower() == lowered), None)


@cache
def load_table() -> LineageTable:
    value = load_data(TABLE_FILE)
    doc = Document(path=f"policies/data/{TABLE_FILE}", value=value)
    validate_document(doc, SCHEMA)
    from r1policy.core.licenceids import canonical

    for repo, row in value["models"].items():
        if canonical(row["licence"]) != row["licence"] or row["licence"] not in value["licences"]:
            raise InputError(
                Position(doc.path), f"models.{repo}.licence: {row['licence']!r} has no row under licences"
            )
    models = {
        repo: ModelRow(
            repo=repo,
            licence=row["licence"],
            base_models=tuple(BaseRef(b["repo"], b["relation"]) for b in row["base_models"]),
            source=row["source"],
            note=row.get("note", ""),
        )
        for repo, row in value["models"].items()
    }
    licences = {
        key: LicenceRow(key, row["name"], bool(row["spdx"]), row["source"], tuple(row["obligations"]))
        for key, row in value["licences"].items()
    }
    return LineageTable(models, licences)
