"""Text-like content: JSON configs and tokenizer files (auto_map, chat templates, Keras configs),
Python source, Jinja templates, secrets; and Keras `.h5` configs found in an HDF5 file's head."""

from __future__ import annotations

import ast
import json
import re
from pathlib import PurePosixPath
from typing import Any

from r1policy import jsonsafe
from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.keras import code_layers, is_keras_config
from r1policy.artifacts.model import MIB, FileFacts, ScanLimits
from r1policy.artifacts.secrets import find_secrets
from r1policy.artifacts.templates import check_template

_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2")
_PY_SHEBANG = re.compile(rb"^#![^\n]*python")
_HDF5_HEAD = 16 * MIB
_KERAS_JSON = re.compile(rb'\{\s*"class_name"\s*:')


def analyse_text(reader: HashingReader, facts: FileFacts, name: str, limits: ScanLimits) -> None:
    data = reader.read(limits.max_text_bytes + 1)
    if len(data) > limits.max_text_bytes:
        facts.unknown_format = f"text file larger than {limits.max_text_bytes:,} bytes; not analysed"
        return
    text = data.decode("utf-8", errors="replace")
    facts.secrets.extend(find_secrets(text))
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        try:
            value = jsonsafe.loads(stripped)
        except jsonsafe.JsonLimitError as exc:
            facts.format = "json"
            facts.unknown_format = f"JSON outside r1policy's bounds: {jsonsafe.describe(exc)}"
            return
        except json.JSONDecodeError:
            value = None
        else:
            facts.format = "json"
            _json(value, facts)
            return
    if base.endswith(_TEMPLATE_SUFFIXES):
        facts.format = "jinja"
        facts.template_problems.extend(check_template(text, f"template {base!r}"))
        return
    if base == "requirements.txt":
        facts.code.append("requirements.txt: the serving container pip-installs these packages at start-up")
        return
    if _is_python(data, text, base):
        facts.format = "python"
        where = "code/" if "/code/" in f"/{name}" else ""
        facts.code.append(f"Python source {where}{base}: the serving stack can import and run it")


def _is_python(data: bytes, text: str, base: str) -> bool:
    if base.endswith((".py", ".pyw", ".pyi")) or _PY_SHEBANG.match(data):
        return True
    if len(data) > 4 * MIB:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return any(isinstance(node, kinds) for node in tree.body)


def _json(value: Any, facts: FileFacts) -> None:
    if not isinstance(value, dict):
        return
    auto_map = value.get("auto_map")
    if isinstance(auto_map, dict) and auto_map:
        facts.auto_map.extend(f"{k} -> {v}" for k, v in sorted(auto_map.items()))
    elif auto_map:
        facts.auto_map.append(f"auto_map {str(auto_map)[:80]}")
    template = value.get("chat_template")
    if isinstance(template, str):
        facts.template_problems.extend(check_template(template, "chat_template"))
    elif isinstance(template, list):
        for entry in template:
            if isinstance(entry, dict) and isinstance(entry.get("template"), str):
                where = f"chat_template {entry.get('name', '?')!r}"
                facts.template_problems.extend(check_template(entry["template"], where))
            else:
                facts.template_problems.append("chat_template list entry without a template string")
    elif template is not None:
        facts.template_problems.append(f"chat_template of type {type(template).__name__} cannot be judged")
    if is_keras_config(value):
        facts.detail = facts.detail or "keras-config"
        facts.keras_code_layers.extend(code_layers(value))


def analyse_hdf5(reader: HashingReader, facts: FileFacts) -> None:
    """Keras .h5 files keep the model config as a JSON string attribute (`model_config`) near the
    start; it is read when found in the first 16 MiB (no HDF5 library involved)."""
    head = reader.read(_HDF5_HEAD)
    for index, match in enumerate(_KERAS_JSON.finditer(head)):
        if index >= 8:
            return
        text = head[match.start() :].decode("utf-8", errors="replace")
        try:
            value, _end = jsonsafe.raw_decode(text)
        except json.JSONDecodeError:
            continue
        if is_keras_config(value):
            facts.detail = "keras-h5"
            facts.keras_code_layers.extend(code_layers(value))
            return
