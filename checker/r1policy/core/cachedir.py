"""Where r1policy keeps its caches (Hub answers, imported advisories): `R1POLICY_CACHE_DIR`, else
`$XDG_CACHE_HOME/r1policy`, else `~/.cache/r1policy`."""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "R1POLICY_CACHE_DIR"


def default_cache_dir() -> Path:
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "r1policy"
