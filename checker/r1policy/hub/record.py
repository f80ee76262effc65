"""What r1policy keeps of a Hub model repository at one commit (also the on-disk cache format).

A `RepoRecord` is built from `HfApi.model_info(..., files_metadata=True, securityStatus=True)` and, for
remote-code detection, the text of the small JSON files that can name code (`config.json`,
`tokenizer_config.json`). Everything in it describes one immutable commit, so it can be cached by
repository and commit. Nothing from a repository is ever imported or executed: JSON files are parsed
as data, `*.py` files are only listed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from r1policy.core import jsonsafe

# Small JSON files whose `auto_map` names Python classes that trust_remote_code would import.
CODE_CONFIG_FILES = ("config.json", "tokenizer_config.json")
_FULL_SHA = re.compile(r"^[0-9a-f]{40}$")
# `org/repo--module.Class`: code loaded from another repository (at that repository's default branch).
_CROSS_REPO = re.compile(r"^(?P<repo>[^/\s]+/[^/\s]+?)--(?P<ref>[\w.]+)$")
# safetensors dtype names (as the Hub reports them) -> r1policy dtype names
_DTYPES = {
    "F64": "float32",
    "F32": "float32",
    "BF16": "bfloat16",
    "F16": "float16",
    "F8_E4M3": "fp8",
    "F8_E5M2": "fp8",
    "I8": "int8",
    "U8": "int8",
    "I4": "int4",
}


def is_full_sha(value: str | None) -> bool:
    return bool(value and _FULL_SHA.match(value))


@dataclass(frozen=True)
class HubFile:
    path: str
    size: int | None
    blob_id: str | None = None
    lfs_sha256: str | None = None


@dataclass(frozen=True)
class RemoteCode:
    """What a repository ships that `trust_remote_code` would run."""

    python_files: tuple[str, ...] = ()
    auto_map: tuple[str, ...] = ()  # "<file>: <key> -> <reference>"
    other_repos: tuple[str, ...] = ()  # repositories named by cross-repo references

    @property
    def ships_code(self) -> bool:
        return bool(self.python_files or self.auto_map)


@dataclass(frozen=True)
class RepoRecord:
    repo: str
    sha: str
    repo_id: str | None
    author: str | None
    gated: str  # "false", "auto", "manual" or "unknown"
    disabled: bool
    files: tuple[HubFile, ...]
    safetensors_parameters: dict[str, int] | None = None
    safetensors_total: int | None = None
    scans_done: bool | None = None
    flagged: tuple[tuple[str, str], ...] = ()  # (path, level)
    config: dict[str, Any] | None = None
    # text of the small JSON files that can name code, when downloaded (path -> text)
    contents: dict[str, str] = field(default_factory=dict)
    # the model card's licence and lineage metadata (CARD_KEYS of `cardData`); None: not recorded (a
    # cache entry written before r1policy kept it), {} : the card says none of them
    card: dict[str, Any] | None = None

    def file(self, path: str) -> HubFile | None:
        return next((f for f in self.files if f.path == path), None)

    @property
    def parameters(self) -> int | None:
        if self.safetensors_total:
            return self.safetensors_total
        if self.safetensors_parameters:
            return sum(self.safetensors_parameters.values())
        return None

    @property
    def dtype(self) -> str | None:
        """The dtype holding most parameters, in r1policy's names (None when unknown)."""
        if not self.safetensors_parameters:
            return None
        name = max(self.safetensors_parameters.items(), key=lambda kv: kv[1])[0]
        return _DTYPES.get(name.upper())

    def remote_code(self) -> RemoteCode:
        python = tuple(sorted(f.path for f in self.files if f.path.endswith(".py")))
        entries: list[str] = []
        repos: set[str] = set()
        sources: list[tuple[str, Any]] = []
        for name in CODE_CONFIG_FILES:
            text = self.contents.get(name)
            if text is None:
                continue
            try:
                sources.append((name, jsonsafe.loads(text)))
            except json.JSONDecodeError:
                entries.append(f"{name}: (not valid JSON; treated as naming code)")
        if "config.json" not in self.contents and isinstance(self.config, dict):
            sources.append(("config.json", self.config))  # the model_info summary of config.json
        for name, data in sources:
            auto_map = data.get("auto_map") if isinstance(data, dict) else None
            if not isinstance(auto_map, dict):
                continue
            for key, value in sorted(auto_map.items()):
                refs = value if isinstance(value, list) else [value]
                for ref in refs:
                    if not isinstance(ref, str):
                        continue
                    entries.append(f"{name}: {key} -> {ref}")
                    match = _CROSS_REPO.match(ref)
                    if match and match.group("repo") != self.repo:
                        repos.add(match.group("repo"))
        return RemoteCode(python, tuple(entries), tuple(sorted(repos)))

    # -- cache format ----------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "sha": self.sha,
            "_id": self.repo_id,
            "author": self.author,
            "gated": self.gated,
            "disabled": self.disabled,
            "files": [
                {"path": f.path, "size": f.size, "blob_id": f.blob_id, "lfs_sha256": f.lfs_sha256}
                for f in self.files
            ],
            "safetensors": (
                {"parameters": self.safetensors_parameters, "total": self.safetensors_total}
                if self.safetensors_parameters is not None
                else None
            ),
            "scans_done": self.scans_done,
            "flagged": [{"path": p, "level": lvl} for p, lvl in self.flagged],
            "config": self.config,
            "contents": dict(sorted(self.contents.items())),
            # absent when not recorded, so that entries written before the card was kept read the same
            **({"card": self.card} if self.card is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RepoRecord:
        st = data.get("safetensors") or {}
        return cls(
            repo=str(data["repo"]),
            sha=str(data["sha"]),
            repo_id=data.get("_id"),
            author=data.get("author"),
            gated=str(data.get("gated", "unknown")),
            disabled=bool(data.get("disabled", False)),
            files=tuple(
                HubFile(
                    path=str(f["path"]),
                    size=f.get("size"),
                    blob_id=f.get("blob_id"),
                    lfs_sha256=f.get("lfs_sha256"),
                )
                for f in data.get("files", [])
            ),
            safetensors_parameters=st.get("parameters"),
            safetensors_total=st.get("total"),
            scans_done=data.get("scans_done"),
            flagged=tuple((str(x["path"]), str(x.get("level", "unknown"))) for x in data.get("flagged", [])),
            config=data.get("config"),
            contents={str(k): str(v) for k, v in (data.get("contents") or {}).items()},
            card=card_subset(data["card"]) if isinstance(data.get("card"), dict) else None,
        )


# What r1policy keeps of a model card's metadata: licence and the Hub's model tree (lineage).
CARD_KEYS = ("license", "license_name", "license_link", "base_model", "base_model_relation")


def card_subset(card: Any) -> dict[str, Any]:
    """The CARD_KEYS of a card's metadata that hold strings or lists of strings (anything else is kept
    as its text, so that a malformed value is reported rather than read as absent)."""
    if not isinstance(card, dict):
        return {}
    out: dict[str, Any] = {}
    for key in CARD_KEYS:
        value = card.get(key)
        if value is None:
            continue
        if isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            out[key] = value
        else:
            out[key] = repr(value)[:200]
    return out


def gated_text(value: Any) -> str:
    if value is False:
        return "false"
    if value in ("auto", "manual"):
        return str(value)
    if value is True:
        return "auto"
    return "unknown"


def flagged_from_security(status: Any) -> tuple[bool | None, tuple[tuple[str, str], ...]]:
    """(scansDone, flagged files) from a `securityRepoStatus` value (None when absent)."""
    if not isinstance(status, dict):
        return None, ()
    done = status.get("scansDone")
    issues = status.get("filesWithIssues") or []
    flagged = tuple(
        sorted(
            (str(i.get("path", "?")), str(i.get("level", "unknown")))
            for i in issues
            if isinstance(i, dict) and str(i.get("level", "unknown")).lower() != "safe"
        )
    )
    return (bool(done) if isinstance(done, bool) else None), flagged
