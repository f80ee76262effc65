"""Hub repository ids as the Hub accepts them: `owner/name`, nothing else.

The rules follow `huggingface_hub.utils.validate_repo_id` (and the Hub's own naming rules), narrowed to
what a model repository id of a deployment can be: exactly one `/`; each part 1-96 characters of ASCII
letters, digits, `-`, `_`, `.`; starting and ending with a letter, digit or `_`; no `--` or `..`; the
name not ending in `.git`. So `%2F`, `..`, a second `/`, spaces, control characters and look-alike
letters from other scripts are refused wherever a repo id enters (manifests, container environment,
`scan hf://`, `lock`, the lock file). tests/test_inputs_hubids.py checks the agreement with
huggingface_hub on every example.
"""

from __future__ import annotations

from r1policy.core.lazyre import compile_on_use

MAX_PART = 96
_PART = compile_on_use(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?")


def repo_id_problem(repo: str) -> str | None:
    """Why `repo` is not a Hub model repository id (`owner/name`), or None when it is one."""
    if not isinstance(repo, str) or not repo:
        return "a Hub repository id is `owner/name`"
    if "%" in repo:
        return "`%` (URL escapes) cannot appear in a Hub repository id"
    if repo.count("/") != 1:
        return "a Hub repository id is `owner/name`, with exactly one `/`"
    if ".." in repo or "--" in repo:
        return "`..` and `--` are forbidden in a Hub repository id"
    for part in repo.split("/"):
        if not 1 <= len(part) <= MAX_PART:
            return f"each part of a Hub repository id is 1 to {MAX_PART} characters"
        if not _PART.fullmatch(part):
            return (
                "a Hub repository id uses only ASCII letters, digits, `-`, `_` and `.`, and each part "
                "starts and ends with a letter, digit or `_`"
            )
    if repo.endswith(".git"):
        return "a Hub repository id cannot end with `.git`"
    return None


def is_repo_id(repo: str) -> bool:
    return repo_id_problem(repo) is None
