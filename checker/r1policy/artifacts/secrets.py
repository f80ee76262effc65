"""Secrets in text: AWS keys, Hugging Face tokens, private keys, high-entropy secret assignments.
Only redacted descriptions ever leave this module (first 4 characters and the length)."""

from __future__ import annotations

import math
import re
from collections import Counter

MAX_SECRETS = 20
# (what, pattern, literals the text must contain for the pattern to be worth running, lower case)
_PATTERNS = (
    (
        "AWS access key id",
        ("akia", "asia", "agpa", "aida", "aroa", "anpa", "aipa"),
        re.compile(r"\b((?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|AIPA)[A-Z0-9]{16})\b"),
    ),
    (
        "AWS secret access key",
        ("secret",),
        re.compile(
            r"(?i)aws_?secret_?access_?key[\"']?\s*[:=]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
        ),
    ),
    ("Hugging Face token", ("hf_",), re.compile(r"\b(hf_[A-Za-z0-9]{30,})\b")),
    (
        "private key",
        ("private key",),
        re.compile(r"(-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----)"),
    ),
)
# A secret-like key name, then `= "value"` / `: "value"`; the keyword is found first (fast on big files).
_KEYWORDS = r"secret|passw(?:or)?d|api_?key|access_?key|auth_?token|access_?token|private_?key|credential"
# Searched in the lower-cased text: re's IGNORECASE is many times slower on large tokenizer files.
_KEYWORD = re.compile(_KEYWORDS)
_ASSIGNED = re.compile(r"([A-Za-z0-9_.-]*)[\"']?\s*[:=]\s*[\"']([^\"'\s]{16,256})[\"']")
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")
_PLACEHOLDER = re.compile(
    r"(?i)^(?:x+|\*+|<.*>|\$\{.*\}|\{\{.*\}\}|your[_-].*|changeme.*|example.*|dummy.*)$"
)


def mask(value: str) -> str:
    return f"{value[:4]}…[redacted, {len(value)} chars]"


def entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def _line(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def find_secrets(text: str) -> list[str]:
    found: list[str] = []
    seen: set[int] = set()
    low = text.lower()
    if len(low) != len(text):  # a character whose lower case is longer: offsets would shift
        low = "".join(c if len(c.lower()) != 1 else c.lower() for c in text)
    for what, literals, pattern in _PATTERNS:
        if not any(literal in low for literal in literals):
            continue
        for match in pattern.finditer(text):
            if match.start(1) in seen:
                continue
            seen.add(match.start(1))
            shown = match.group(1) if what == "private key" else mask(match.group(1))
            found.append(f"{what} {shown} at line {_line(text, match.start(1))}")
            if len(found) >= MAX_SECRETS:
                return found
    for keyword in _KEYWORD.finditer(low):
        assigned = _ASSIGNED.match(text, keyword.end())
        if assigned is None:
            continue
        start = keyword.start()
        while start > 0 and text[start - 1] in _NAME_CHARS and keyword.start() - start < 64:
            start -= 1
        name, value = text[start : keyword.end()] + assigned.group(1), assigned.group(2)
        if assigned.start(2) in seen or _PLACEHOLDER.match(value) or entropy(value) < 3.5:
            continue
        if not (re.search(r"[A-Za-z]", value) and re.search(r"[0-9]", value)):
            continue
        seen.add(assigned.start(2))
        found.append(
            f"high-entropy value for {name!r} {mask(value)} at line {_line(text, assigned.start(2))}"
        )
        if len(found) >= MAX_SECRETS:
            break
    return found
