from __future__ import annotations

import pytest

from r1policy.facts.typosquat import fold, lookalike_of

TRUSTED = ("deepseek-ai", "meta-llama", "Qwen")


@pytest.mark.parametrize(
    "name",
    [
        "deepseek-al",  # l for i
        "deepseek_ai",  # separator
        "deep-seek-ai",  # extra separator
        "deepseeek-ai",  # inserted letter
        "dееpseek-ai",  # Cyrillic е
        "deepseek-a1",  # digit for letter
        "deepsek-ai",  # deleted letter
        "deespeek-ai",  # transposition
        "deepseekai",
        "meta-1lama",
        "rneta-llama",  # rn renders like m
    ],
)
def test_lookalikes_are_caught(name: str) -> None:
    assert lookalike_of(name, TRUSTED) is not None


@pytest.mark.parametrize(
    "name",
    [
        "deepseek-ai",
        "DeepSeek-AI",
        "meta-llama",
        "Qwen",
        "mistralai",
        "google",
        "microsoft",
        "deepmind",
        "deepseek",
        "openai",
        "Qwen2",
        "tiiuae",
        "bigscience",
        "nvidia",
        "unsloth",
        "TheBloke",
    ],
)
def test_trusted_and_unrelated_names_are_not_flagged(name: str) -> None:
    # Qwen2 is within distance 1 of "Qwen", but short names only match after folding.
    assert lookalike_of(name, TRUSTED) is None


def test_fold_maps_homoglyphs_and_separators() -> None:
    assert fold("dееpѕeek_ai") == fold("deepseek-ai") == "deepseekai"
