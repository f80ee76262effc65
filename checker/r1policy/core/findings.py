"""The one finding type, built through `Finding.create`, which enforces its invariants."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TypeVar


class Severity(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {
    Severity.CRITICAL: 0,
    Severity.HIGH: 1,
    Severity.MEDIUM: 2,
    Severity.LOW: 3,
    Severity.INFO: 4,
}


class Status(StrEnum):
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"
    WAIVED = "waived"
    PASS = "pass"


class Enforcement(StrEnum):
    BLOCK = "block"
    WARN = "warn"
    OFF = "off"


class SubjectType(StrEnum):
    DEPLOYMENT = "deployment"
    MODEL = "model"
    ENDPOINT = "endpoint"
    BUCKET = "bucket"
    ARTIFACT = "artifact"


@dataclass(frozen=True, order=True)
class Subject:
    """What a finding is about: its type, its id and the other names it is known by."""

    type: SubjectType
    id: str
    # Other names the same subject is known by (an endpoint's ARN and its deployment name, ...);
    # waivers may match any of them.
    aliases: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.id not in _CLEAN:
            _set(self, "id", redact(self.id))
        if self.aliases not in _CLEAN_TUPLES:
            _set(self, "aliases", redact_all(self.aliases))

    def names(self) -> tuple[str, ...]:
        return (self.id, *self.aliases)


@dataclass(frozen=True)
class Location:
    """Where a finding points: a file, line and column (and a notebook cell)."""

    path: str
    line: int | None = None
    column: int | None = None
    # The cell number in a Jupyter notebook (1-based, counting every cell); `line` and `column` are
    # then within that cell.
    cell: int | None = None

    def __post_init__(self) -> None:
        if self.path not in _CLEAN:
            _set(self, "path", redact(self.path))

    def __str__(self) -> str:
        parts = [self.path if self.cell is None else f"{self.path}[cell {self.cell}]"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


@dataclass(frozen=True)
class Remediation:
    """How to fix a finding: a summary, steps, and CLI / Terraform / CloudFormation snippets."""

    summary: str
    steps: tuple[str, ...] = ()
    cli: str | None = None
    terraform: str | None = None
    cloudformation: str | None = None

    def __post_init__(self) -> None:
        # Once per object: a Remediation rendered once is shared by every finding it fixes.
        if self.summary not in _CLEAN:
            _set(self, "summary", redact(self.summary))
        if self.steps not in _CLEAN_TUPLES:
            _set(self, "steps", redact_all(self.steps))
        for name in ("cli", "terraform", "cloudformation"):
            value = getattr(self, name)
            if value is not None and value not in _CLEAN:
                _set(self, name, redact(value))


@dataclass(frozen=True)
class WaiverRef:
    """The waiver that accepts (or no longer accepts) a finding, as the report shows it."""

    reason: str
    owner: str
    expires: date
    ticket: str | None = None

    def __post_init__(self) -> None:
        _set(self, "reason", redact(self.reason))
        _set(self, "owner", redact(self.owner))
        if self.ticket is not None:
            _set(self, "ticket", redact(self.ticket))


_SECRET_PATTERNS = (
    re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b"),
    re.compile(r"\bhf_[A-Za-z0-9]{30,}\b"),
    re.compile(r"(?i)(?<=secret_access_key)([\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{40})"),
)


# Each pattern above needs one of these literals: a text without any holds no secret. Substring searches
# (and one regex that starts with a literal, `_`, so the engine skips ahead to it) instead of three
# substitutions: most strings are rule titles, URLs, names and remediation code blocks of a kilobyte or
# more, where a regex alternation, or a case-insensitive one that starts with a letter, scans slowly.
_ACCESS_KEY = re.compile("_(?i:access_key)")  # from `secret_access_key` (ſ and K fold into it)


def _may_hold_secret(text: str) -> bool:
    return "AKIA" in text or "ASIA" in text or "hf_" in text or _ACCESS_KEY.search(text) is not None


# Reports repeat the same strings (titles, references, remediation steps, paths) thousands of times: a
# string seen before is looked up, in `_CLEAN` when it held no secret (then it is its own redaction, and
# the objects that hold it keep it as it is), else in `_REDACTED`.
_CLEAN: set[str] = set()
_REDACTED: dict[str, str] = {}
_CLEAN_TUPLES: set[tuple[str, ...]] = set()
_REDACTED_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_CACHE_MAX = 262_144


def _mask(match: re.Match[str]) -> str:
    prefix, value = (match.group(1), match.group(2)) if match.re.groups else ("", match.group(0))
    return f"{prefix}{value[:4]}…[redacted, {len(value)} chars]"


def _substituted(text: str) -> str:
    """`text` with every secret the patterns find masked (for a text `_may_hold_secret` let through)."""
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(_mask, text)
    return text


_K = TypeVar("_K", str, tuple[str, ...])


def _remember_clean(clean: set[_K], value: _K) -> _K:
    if len(clean) >= _CACHE_MAX:
        clean.clear()
    clean.add(value)
    return value


# A lone surrogate: what Python makes of a byte that is not UTF-8 in a file name (surrogateescape), and
# what no report can hold (UTF-8, JSON and SARIF writers refuse it).
def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


@functools.cache  # compiled when first needed: 0.8 ms of a cold start otherwise
def _surrogate() -> re.Pattern[str]:
    return re.compile("[\ud800-\udfff]")


def _surrogate_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def _printable(text: str) -> str:
    """`text` with each lone surrogate written as the byte it stands for (`\\xff`) or as its code."""
    return _surrogate().sub(_surrogate_escape, text) if _has_surrogate(text) else text


def redact(text: str) -> str:
    """Never print a secret whole: keep the first 4 characters and the length. Never print what cannot be
    written: a lone surrogate (a file name's byte that is not UTF-8) is written as `\\xff`."""
    if text in _CLEAN:
        return text
    if not _may_hold_secret(text) and (text.isascii() or not _has_surrogate(text)):
        return _remember_clean(_CLEAN, text)  # the common case: nothing to substitute
    done = _REDACTED.get(text)
    if done is None:
        done = _substituted(_printable(text))
        if done == text:  # a literal without a secret around it
            return _remember_clean(_CLEAN, text)
        if len(_REDACTED) >= _CACHE_MAX:
            _REDACTED.clear()
        _REDACTED[text] = done
    return done


def redact_all(texts: tuple[str, ...]) -> tuple[str, ...]:
    """`redact` of each string (a rule's references, a subject's aliases: the same tuples recur)."""
    if texts in _CLEAN_TUPLES:
        return texts
    done = _REDACTED_TUPLES.get(texts)
    if done is None:
        done = tuple(map(redact, texts))
        if done == texts:
            return _remember_clean(_CLEAN_TUPLES, texts)
        if len(_REDACTED_TUPLES) >= _CACHE_MAX:
            _REDACTED_TUPLES.clear()
        _REDACTED_TUPLES[texts] = done
    return done


# Frozen dataclasses set their redacted fields in __post_init__ through object.__setattr__.
_set = object.__setattr__
_new = object.__new__
_WAIVED = Status.WAIVED  # read once: a member read from its enum class costs a lookup each time
_NEEDS_FIX = (Status.FAIL, Status.ERROR)


_RULE_ID = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)+")


_OWN_FIELDS = ("title", "message", "references", "deployment")


def _own_strings(
    title: str, message: str, references: tuple[str, ...], deployment: str | None
) -> tuple[str, str, tuple[str, ...], str | None]:
    """The strings a finding redacts itself (`_OWN_FIELDS`; its subject, location, remediation and
    waivers redact their own), redacted. A string known to hold no secret is kept as it is (one set
    lookup): a run builds tens of thousands of findings from a few dozen titles and reference lists."""
    if title not in _CLEAN:
        title = redact(title)
    if message not in _CLEAN:
        message = redact(message)
    if references not in _CLEAN_TUPLES:
        references = redact_all(references)
    if deployment is not None and deployment not in _CLEAN:
        deployment = redact(deployment)
    return title, message, references, deployment


@functools.lru_cache(maxsize=4096)  # a run has a few dozen rule ids, on tens of thousands of findings
def _well_formed(rule_id: str) -> bool:
    return _RULE_ID.fullmatch(rule_id) is not None


@dataclass(frozen=True)
class Finding:
    """One rule's verdict on one subject: built through `create`, which enforces its invariants."""

    rule_id: str
    title: str
    severity: Severity
    status: Status
    enforcement: Enforcement
    subject: Subject
    message: str
    location: Location | None = None
    remediation: Remediation | None = None
    references: tuple[str, ...] = ()
    waiver: WaiverRef | None = None
    expired_waiver: WaiverRef | None = None
    deployment: str | None = None

    def __post_init__(self) -> None:
        """Every string a finding carries is redacted when it is built, however it is built (the
        constructor, `dataclasses.replace`; `create` redacts the same strings the same way)."""
        own = _own_strings(self.title, self.message, self.references, self.deployment)
        for name, value in zip(_OWN_FIELDS, own, strict=True):
            _set(self, name, value)

    @classmethod
    def create(
        cls,
        *,
        rule_id: str,
        title: str,
        severity: Severity,
        status: Status,
        enforcement: Enforcement,
        subject: Subject,
        message: str,
        location: Location | None = None,
        remediation: Remediation | None = None,
        references: tuple[str, ...] = (),
        waiver: WaiverRef | None = None,
        expired_waiver: WaiverRef | None = None,
        deployment: str | None = None,
    ) -> Finding:
        if not _well_formed(rule_id):
            raise ValueError(f"malformed rule id {rule_id!r}")
        if not message.strip():
            raise ValueError(f"{rule_id}: a finding needs a message")
        if (status is _WAIVED) != (waiver is not None):
            raise ValueError(f"{rule_id}: a waived finding, and only a waived one, carries its waiver")
        if remediation is None and status in _NEEDS_FIX:
            raise ValueError(f"{rule_id}: a failing finding must say how to fix it")
        # What `cls(...)` builds, redacted as `__post_init__` redacts it, without the dataclass
        # constructor's keyword handling and thirteen `object.__setattr__` calls (a run builds tens of
        # thousands of findings). The fields go into the instance's own dict in field order, which keeps
        # it sharing the class's keys (a dict assigned at once would take 336 bytes more per finding).
        # tests/test_findings_create.py holds the two equal.
        title, message, references, deployment = _own_strings(title, message, references, deployment)
        finding = _new(cls)
        values = finding.__dict__
        values["rule_id"] = rule_id
        values["title"] = title
        values["severity"] = severity
        values["status"] = status
        values["enforcement"] = enforcement
        values["subject"] = subject
        values["message"] = message
        values["location"] = location
        values["remediation"] = remediation
        values["references"] = references
        values["waiver"] = waiver
        values["expired_waiver"] = expired_waiver
        values["deployment"] = deployment
        return finding

    @property
    def blocks(self) -> bool:
        return self.enforcement is Enforcement.BLOCK and self.status in (Status.FAIL, Status.ERROR)

    @property
    def warns(self) -> bool:
        return self.enforcement is Enforcement.WARN and self.status in (Status.FAIL, Status.ERROR)

    def sort_key(self) -> tuple[str, str, int, str, str, str]:
        """Subject, severity, rule, then the message: one rule can give one subject several findings
        (one per Cedar policy that decided), and Cedar reports those policies in no fixed order, so
        without the message two runs of the same input could list them differently."""
        return (
            self.subject.type.value,
            self.subject.id,
            self.severity.rank,
            self.rule_id,
            self.message,
            str(self.location) if self.location else "",
        )
