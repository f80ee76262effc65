"""The `.tf` and `.tf.json` files of one module folder, each parsed by its syntax's reader."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from r1policy.core.yamldoc import read_text
from r1policy.sources.terraform.source.hcl import Block, parse_file
from r1policy.sources.terraform.source.jsonsyntax import parse_json_file

# Larger .tf files (generated ones) are refused rather than parsed for minutes: python-hcl2's pure-Python
# parser reads roughly 0.1-0.5 MB per second.
MAX_TF_BYTES = 1024 * 1024


@dataclass
class Files:
    blocks: list[Block] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)


def tf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.endswith((".tf", ".tf.json")))


def read_module(folder: Path) -> Files:
    out = Files()
    for path in tf_files(folder):
        shown = str(path)
        text = read_text(path, display=shown, limit=MAX_TF_BYTES)
        if path.name.endswith(".tf.json"):
            out.blocks.extend(parse_json_file(text, shown).blocks)
        else:
            out.blocks.extend(parse_file(text, shown).blocks)
        out.paths.append(shown)
    return out
