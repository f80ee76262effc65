"""The safe-globals allowlist, read from policies/data/safe-globals.json and validated on load."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from r1policy.core.resources import policies_dir
from r1policy.core.validation import validate_document
from r1policy.core.yamldoc import load_yaml_documents, read_text

DATA_FILE = "safe-globals.json"
SCHEMA = "safe-globals.schema.json"


@dataclass(frozen=True)
class Allowlist:
    safe: frozenset[tuple[str, str]]  # (module, name) pairs, names possibly dotted
    storage_sizes: dict[tuple[str, str], int]  # torch storage class -> element size in bytes
    codecs_encodings: frozenset[str]

    def is_safe(self, module: str, name: str) -> bool:
        return (module, name) in self.safe


def load_allowlist(path: Path | None = None) -> Allowlist:
    """Load and validate an allowlist file (InputError naming file and line when invalid)."""
    path = path or policies_dir() / "data" / DATA_FILE
    text = read_text(path)
    docs = list(load_yaml_documents(text, str(path)))
    doc = docs[0]
    validate_document(doc, SCHEMA)
    data = doc.value
    safe: set[tuple[str, str]] = set()
    for group in data["groups"]:
        for module, names in group["globals"].items():
            safe.update((module, name) for name in names)
    sizes: dict[tuple[str, str], int] = {}
    for module, classes in data["torch_storage_element_sizes"].items():
        for name, size in classes.items():
            sizes[(module, name)] = int(size)
            safe.add((module, name))
    return Allowlist(frozenset(safe), sizes, frozenset(data["codecs_encode_encodings"]))


@cache
def default_allowlist() -> Allowlist:
    return load_allowlist()
