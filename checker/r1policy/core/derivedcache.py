"""A validated cache for what r1policy derives from its own shipped files on every run (the built-in
rule pack, the built-in advisory store), so that a cold process does not re-parse and re-validate them.

One JSON file per kind, `<kind>.json` (a header line `{"key": ..., "digest": ...}` and the payload), in
`R1POLICY_DERIVED_CACHE_DIR`, else `$XDG_CACHE_HOME/r1policy/derived`, else `~/.cache/r1policy/derived`.
Not under `R1POLICY_CACHE_DIR`: that folder holds recorded Hub answers which users may commit or share
(examples/hub-cache), and derived files do not belong there. A payload is returned only when it proves to have
been built from exactly this run's inputs:

- `key` is the SHA-256 over the cache format, the r1policy and Python versions, the caller's extra
  identity (e.g. a native module's size and modification time), and the path and full content of
  every input file, including the source of the code that derives the payload (so an edited checkout
  never meets a stale payload);
- `digest` is the SHA-256 of the payload text (a truncated or altered file is never read).

Anything else (no file, unreadable, not JSON, another key, a bad digest) is a miss; the caller derives
the payload from its files as before, checks the payload it rebuilds from, and rewrites the file
atomically. A cache folder that cannot be written costs speed, never correctness.

SHA-256 is CPython's own implementation (`_sha2`, `_sha256` before 3.12) when the interpreter has it, else
`hashlib`'s: the digest is SHA-256 either way (FIPS 180-4), and a cold run does not load OpenSSL's libcrypto
for the 0.6 MB it hashes (about 5 ms to load, against about 2 ms more to hash; issue 23).
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from r1policy import __version__
from r1policy.core import jsonsafe

FORMAT = 1
# `R1POLICY_DERIVED_CACHE=off`: neither read nor write (derive everything on every run). For a cache
# folder shared across a trust boundary (e.g. a CI cache that other branches can write): a payload is
# proven current, not authentic, and a writer of the folder can write one that proves current.
OFF_ENV = "R1POLICY_DERIVED_CACHE"


def _sha256_constructor() -> Callable[..., Any]:
    for name in ("_sha2", "_sha256"):  # CPython's builtin SHA-256 (3.12+, 3.11)
        try:
            constructor: Callable[..., Any] = importlib.import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    import hashlib

    return hashlib.sha256


_SHA256 = _sha256_constructor()


def sha256_hex(data: bytes) -> str:
    """The SHA-256 of `data`, in hex."""
    digest: str = _SHA256(data).hexdigest()
    return digest


def enabled() -> bool:
    return os.environ.get(OFF_ENV, "").strip().lower() not in ("off", "0", "no", "false")


def input_key(kind: str, inputs: Iterable[Path], extra: list[Any]) -> str:
    """The digest of everything a payload depends on; OSError when an input cannot be read."""
    digest = _SHA256()
    digest.update(json.dumps([FORMAT, kind, __version__, sys.version, *extra]).encode())
    for path in inputs:
        data = path.read_bytes()
        digest.update(f"\0{path}\0{len(data)}\0".encode())
        digest.update(data)
    key: str = digest.hexdigest()
    return key


DIR_ENV = "R1POLICY_DERIVED_CACHE_DIR"


def cache_dir() -> Path | None:
    """The folder, or None when there is none (no home directory and nothing configured: no cache)."""
    explicit = os.environ.get(DIR_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    try:
        base = Path(xdg) if xdg else Path.home() / ".cache"
    except RuntimeError:  # Path.home(): no HOME and no passwd entry (a container's anonymous user)
        return None
    return base / "r1policy" / "derived"


def cache_path(kind: str) -> Path | None:
    folder = cache_dir()
    return folder / f"{kind}.json" if folder is not None else None


def read(kind: str, key: str) -> Any:
    """The payload cached under `key`, or None (a miss) for anything that does not prove it."""
    path = cache_path(kind)
    if path is None or not enabled():
        return None
    try:
        text = path.read_text(encoding="utf-8")
        head, _, payload = text.partition("\n")
        meta = jsonsafe.loads(head)
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key:
        return None
    if meta.get("digest") != sha256_hex(payload.encode()):
        return None
    try:
        return jsonsafe.loads_written(payload)  # proven by the digest above: no bracket scan
    except ValueError:
        return None


def write(kind: str, key: str, payload: Any) -> None:
    """Write the cache file atomically; a folder that cannot be written leaves the run uncached."""
    target = cache_path(kind)
    if target is None or not enabled():
        return
    import tempfile

    body = json.dumps(payload, separators=(",", ":"))  # key order kept: it is meaningful (display order)
    head = json.dumps({"key": key, "digest": sha256_hex(body.encode())})
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{kind}.", suffix=".tmp", dir=target.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(head + "\n" + body)
        Path(tmp).replace(target)
    except OSError:
        Path(tmp).unlink(missing_ok=True)
