"""Model-serving command lines (vLLM, TGI, KServe's huggingfaceserver) → which model, at which revision,
with or without remote code — read the way the servers read their arguments.

Tokens keep the location they were written at; a shell script (`sh -c "..."`, or one string holding a
whole command line) is split with `shlex` and its tokens share the script's location. `$(VAR)`
(kubelet), `${VAR}` and `$VAR` (shell) are expanded from literal container env values; a model or
revision that still refers to a variable cannot be judged and is reported by the caller.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from r1policy.core.findings import Location

_SEPARATORS = {"&&", "||", ";", "|", "&", ";;"}
_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)")


class Engine(StrEnum):
    VLLM = "vLLM"
    TGI = "TGI"
    KSERVE_HF = "KServe huggingfaceserver"
    SGLANG = "SGLang"
    LMI = "LMI"  # DJL Serving: configured by serving.properties and variables, no model flag
    OTHER = "an unknown server"  # an image r1policy cannot tell, whose variables name a model


@dataclass(frozen=True)
class Token:
    text: str
    location: Location | None


@dataclass(frozen=True)
class Setting:
    value: str
    location: Location | None
    token: str = ""  # the text as written (the value, or the flag for a bare switch)


@dataclass
class ServerArgs:
    """What the serving command line says (None: not given)."""

    engine: Engine
    model: Setting | None = None
    revisions: dict[str, Setting] = field(default_factory=dict)  # flag -> value
    trust_remote_code: Setting | None = None
    config: Setting | None = None  # vLLM / SGLang `--config FILE` (YAML settings that fill in flags)


# Per engine: flags that name the model, flags that pin a revision, the remote-code switch.
_MODEL_FLAGS = {
    Engine.VLLM: ("--model",),
    Engine.TGI: ("--model-id",),
    Engine.KSERVE_HF: ("--model-id",),
    Engine.SGLANG: ("--model-path", "--model"),
    Engine.LMI: (),
    Engine.OTHER: (),
}
_REVISION_FLAGS = {
    Engine.VLLM: ("--revision", "--code-revision", "--tokenizer-revision"),
    Engine.TGI: ("--revision",),
    Engine.KSERVE_HF: ("--model-revision", "--tokenizer-revision"),
    Engine.SGLANG: ("--revision",),
    Engine.LMI: (),
    Engine.OTHER: (),
}
CONFIG_FLAG = "--config"
_CONFIG_ENGINES = (Engine.VLLM, Engine.SGLANG)
TRUST_FLAG = "--trust-remote-code"
_BOOL_FLAGS = {TRUST_FLAG, "--no-trust-remote-code", "--disable-log-requests", "--enforce-eager"}


class ShellSyntaxError(ValueError):
    """A shell string that shlex cannot split."""


def tokenize(items: Sequence[tuple[str, Location | None]]) -> list[Token]:
    """argv items (command then args) → tokens; shell scripts and whole command lines are split."""
    tokens: list[Token] = []
    shell_next = False
    for text, where in items:
        if shell_next or (" " in text.strip() and _looks_like_command_line(text)):
            tokens.extend(Token(t, where) for t in _split_shell(text))
            shell_next = False
            continue
        if tokens and text == "-c" and tokens[-1].text.rsplit("/", 1)[-1] in {"sh", "bash", "dash", "ash"}:
            shell_next = True
        tokens.append(Token(text, where))
    return tokens


def _looks_like_command_line(text: str) -> bool:
    first = text.strip().split(None, 1)[0]
    return first.startswith("-") or first in {
        "vllm",
        "sglang",
        "python",
        "python3",
        "exec",
        "text-generation-launcher",
    }


def _split_shell(text: str) -> list[str]:
    lexer = shlex.shlex(text, posix=True, punctuation_chars=";&|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    try:
        return list(lexer)
    except ValueError as exc:
        raise ShellSyntaxError(f"cannot split the shell command: {exc}") from exc


def detect(tokens: Sequence[Token], image: str | None) -> tuple[Engine, int] | None:
    """The serving engine and the index of its first argument, or None when nothing serves a model."""
    for i, tok in enumerate(tokens):
        text = tok.text
        nxt = tokens[i + 1].text if i + 1 < len(tokens) else ""
        if text.rsplit("/", 1)[-1] == "vllm" and nxt == "serve":
            return Engine.VLLM, i + 2
        if text.startswith("vllm.entrypoints"):
            return Engine.VLLM, i + 1
        if text.rsplit("/", 1)[-1] == "text-generation-launcher":
            return Engine.TGI, i + 1
        if text == "huggingfaceserver" and i > 0 and tokens[i - 1].text == "-m":
            return Engine.KSERVE_HF, i + 1
        if text.startswith("sglang.launch_server") or (
            text.rsplit("/", 1)[-1] == "sglang" and nxt == "serve"
        ):
            return Engine.SGLANG, i + (2 if nxt == "serve" else 1)
    name = (image or "").rsplit("/", 1)[-1].split("@", 1)[0].split(":", 1)[0].lower()
    # No command of its own: the image's entrypoint runs the server and the tokens are its arguments.
    if "vllm" in name:
        return Engine.VLLM, 0
    if "text-generation-inference" in name or name == "tgi":
        return Engine.TGI, 0
    if "huggingfaceserver" in name:
        return Engine.KSERVE_HF, 0
    if "sglang" in name:
        return None  # the SGLang images run no server by themselves: a command must start it
    return None


def parse(tokens: Sequence[Token], engine: Engine, start: int) -> ServerArgs:
    args = ServerArgs(engine)
    positional: list[Token] = []
    i = start
    if start > 0 and tokens[start - 1].text == "serve" and start < len(tokens):
        first = tokens[start]
        if not first.text.startswith("-") and first.text not in _SEPARATORS:
            positional.append(first)  # `vllm serve MODEL ...`: the model comes first
            i += 1
    while i < len(tokens):
        text = tokens[i].text
        if text in _SEPARATORS:
            break
        if not text.startswith("--"):
            positional.append(tokens[i])
            i += 1
            continue
        flag, eq, inline = text.partition("=")
        flag = flag.replace("_", "-")
        if eq:
            value: Token | None = Token(inline, tokens[i].location)
            i += 1
        elif flag in _BOOL_FLAGS:
            value = None
            i += 1
        else:
            # A flag followed by another flag is a switch (unknown boolean flags such as --enforce-eager).
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            value = following
            if following is None or following.text in _SEPARATORS or following.text.startswith("--"):
                value = None
            i += 2 if value is not None else 1
        _apply(args, flag, value, tokens[i - 1].location)
    if args.model is None and engine is Engine.VLLM and positional:
        args.model = Setting(positional[0].text, positional[0].location, positional[0].text)
    return args


def _apply(args: ServerArgs, flag: str, value: Token | None, where: Location | None) -> None:
    engine = args.engine
    if flag in _MODEL_FLAGS[engine] and value is not None:
        args.model = Setting(value.text, value.location, value.text)
    elif flag in _REVISION_FLAGS[engine] and value is not None:
        args.revisions[flag] = Setting(value.text, value.location, value.text)
    elif flag == CONFIG_FLAG and engine in _CONFIG_ENGINES and value is not None:
        args.config = Setting(value.text, value.location, value.text)
    elif flag == TRUST_FLAG:
        if value is None:
            args.trust_remote_code = Setting("true", where, TRUST_FLAG)
        else:
            args.trust_remote_code = Setting(value.text, value.location, value.text)
    elif flag == "--no-trust-remote-code":
        args.trust_remote_code = Setting("false", where, "--no-trust-remote-code")


def expand(value: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """Expand `$(VAR)`, `${VAR}`, `$VAR` from env; also return the names that could not be expanded."""
    missing: list[str] = []

    def sub(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2) or match.group(3)
        if name in env:
            return env[name]
        missing.append(name)
        return match.group(0)

    return _VAR.sub(sub, value), missing
