"""Helpers shared by the CI-facing formats (SARIF, GitHub, JUnit, Markdown): paths relative to the
repository, stable fingerprints, the one-line fix of a finding, and text that is safe to print."""

from __future__ import annotations

import re
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from r1policy.core.findings import Enforcement, Finding, Severity, Status, redact
from r1policy.engine.report import Report
from r1policy.formats import RenderOptions

# C0 controls other than tab/newline/CR, DEL and C1 controls: never printed (they are not valid in XML 1.0
# either, and in a terminal or CI log they can rewrite what the reader sees).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Text as every CI format prints it: secrets redacted, control characters replaced."""
    return _CONTROL.sub("\ufffd", redact(text))


def one_line(text: str) -> str:
    return " ".join(clean(text).split())


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters; a cut says how long the text was."""
    if len(text) <= limit:
        return text
    note = f"… [truncated, {len(text)} chars]"
    return text[: max(0, limit - len(note))] + note


def repository_root(start: Path | None = None) -> Path:
    """The git top level above `start` (a `.git` folder or file), else `start` itself (default: cwd)."""
    return _top_level(str(start if start is not None else Path.cwd()))


# Paths are resolved once per distinct input: resolving is a handful of system calls per path, and a
# large report repeats the same few files thousands of times.
@lru_cache(maxsize=64)
def _top_level(start: str) -> Path:
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        if (folder / ".git").exists():
            return folder
    return here


def root_of(options: RenderOptions) -> Path:
    return _resolved(str(options.root)) if options.root is not None else repository_root()


@lru_cache(maxsize=64)
def _resolved(path: str) -> Path:
    return Path(path).resolve()


def relative_path(path: str, root: Path) -> str | None:
    """`path` (absolute or relative to cwd) relative to `root`, with forward slashes; None if outside."""
    return _relative(path, str(root), str(Path.cwd()))


@lru_cache(maxsize=4096)
def _relative(path: str, root: str, cwd: str) -> str | None:
    candidate = Path(path)
    if not candidate.is_absolute():
        candidate = Path(cwd) / candidate
    try:
        return candidate.resolve().relative_to(root).as_posix()
    except ValueError:
        return None


def display_path(path: str, root: Path) -> str:
    return relative_path(path, root) or path


def fingerprint(f: Finding, path: str | None) -> str:
    """Identity of a finding across commits: rule, subject and file, but not the line (lines move)."""
    import hashlib  # here: a table or JSON report does not need OpenSSL loaded (issue 23 cold start)

    key = "\x1f".join((f.rule_id, f.subject.type.value, f.subject.id, path or ""))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


_VERDICT = {"block": "BLOCK", "warn": "warn", "off": "off"}


def verdict(f: Finding) -> str:
    """Outcome in words (readable without colour): 'fail (BLOCK)', 'error (warn)', 'waived', ..."""
    if f.status in (Status.FAIL, Status.ERROR):
        return f"{f.status.value} ({_VERDICT[f.enforcement.value]})"
    return f.status.value


def fix_line(f: Finding) -> str:
    """The one thing to do about a finding: the waiver for a waived one, else the first fix step."""
    if f.waiver is not None:
        w = f.waiver
        ticket = f", {w.ticket}" if w.ticket else ""
        return f"waived by {w.owner}{ticket} until {w.expires.isoformat()}: {w.reason}"
    if f.remediation is None:
        return ""
    return f.remediation.steps[0] if f.remediation.steps else f.remediation.summary


def shown(report: Report, options: RenderOptions) -> list[Finding]:
    """Findings a listing shows: everything but passes, unless --show-passed; blocking ones first."""
    chosen = [f for f in report.findings if options.show_passed or f.status is not Status.PASS]
    return sorted(chosen, key=lambda f: (not f.blocks, *f.sort_key()))


def by_subject(findings: list[Finding]) -> list[tuple[str, list[Finding]]]:
    """Findings grouped per subject ('endpoint arn:…'), subjects with blocking findings first."""
    ordered = sorted(findings, key=lambda f: (f.subject.type.value, f.subject.id, *f.sort_key()))
    groups = [
        (f"{kind} {ident}", list(items))
        for (kind, ident), items in groupby(ordered, key=lambda f: (f.subject.type.value, f.subject.id))
    ]
    groups.sort(key=lambda g: (not any(f.blocks for f in g[1]), g[0]))
    return groups


def summary_line(report: Report) -> str:
    s = report.summary
    return (
        f"{s.subjects} subjects: {s.blocking} blocking, {s.warnings} warnings, {s.errors} errors, "
        f"{s.skipped} skipped, {s.waived} waived, {s.passed} passed"
    )


_MINOR = frozenset({Severity.LOW, Severity.INFO})


def level(severity: Severity, enforcement: Enforcement) -> str:
    """SARIF level from severity x enforcement: whatever blocks is an error; a warn-only rule is a
    warning, or a note when its severity is low or info; a rule switched off is a note."""
    if enforcement is Enforcement.BLOCK:
        return "error"
    if enforcement is Enforcement.WARN and severity not in _MINOR:
        return "warning"
    return "note"
