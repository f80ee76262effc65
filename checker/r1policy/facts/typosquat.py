"""Look-alike detection for Hub publishers (R1-HUB-003).

A name is a look-alike of a trusted publisher when it is not that publisher but, after folding
homoglyphs (Cyrillic/Greek letters, digit-for-letter swaps) and separators (-, _, .), it equals the
trusted name or is within edit distance 1 of it (Damerau: insertion, deletion, substitution,
transposition). Short names (under 5 characters) only match after folding, never by distance, so
that unrelated short names are not flagged.
"""

from __future__ import annotations

import unicodedata

# Letters that render like ASCII ones: Cyrillic, Greek and full-width forms, plus digit swaps.
_HOMOGLYPHS = str.maketrans(
    {
        "а": "a",
        "е": "e",
        "о": "o",
        "р": "p",
        "с": "c",
        "у": "y",
        "х": "x",
        "і": "i",
        "ј": "j",
        "ѕ": "s",
        "к": "k",
        "м": "m",
        "т": "t",
        "н": "h",
        "в": "b",
        "ԁ": "d",
        "ɡ": "g",
        "ո": "n",
        "α": "a",
        "ο": "o",
        "ε": "e",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "0": "o",
        "1": "l",
        "3": "e",
        "5": "s",
        "$": "s",
        "@": "a",
    }
)
_SEPARATORS = str.maketrans("", "", "-_. ")


def fold(name: str) -> str:
    """Fold a name to its visual skeleton: NFKC, lower case, homoglyphs mapped, separators dropped."""
    text = unicodedata.normalize("NFKC", name).lower().translate(_HOMOGLYPHS)
    # "rn" renders like "m", "vv" like "w".
    text = text.replace("rn", "m").replace("vv", "w")
    return text.translate(_SEPARATORS)


def _distance_at_most_one(a: str, b: str) -> bool:
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and a[diffs[0]] == b[diffs[1]]
            and a[diffs[1]] == b[diffs[0]]
        )
    if la > lb:
        a, b = b, a
    i = 0
    while i < len(a) and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1 :]


def lookalike_of(name: str, trusted: tuple[str, ...]) -> str | None:
    """The trusted publisher `name` imitates, or None when it is trusted itself or unrelated."""
    if name.lower() in {t.lower() for t in trusted}:
        return None  # Hub names are case-insensitive: the same publisher
    folded = fold(name)
    raw = name.lower()
    for candidate in trusted:
        target = fold(candidate)
        if folded == target:
            return candidate
        if len(target) >= 5 and (
            _distance_at_most_one(folded, target) or _distance_at_most_one(raw, candidate.lower())
        ):
            return candidate
    return None
