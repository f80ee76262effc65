"""Text-like content: JSON configs and tokenizer files (auto_map, chat templates, Keras configs),
Python source and scripts, requirements files, Jinja templates, secrets (also after JSON decoding)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import PurePosixPath
from typing import Any

from r1policy.artifacts.hashing import HashingReader
from r1policy.artifacts.keras import code_layers, is_keras_config
from r1policy.artifacts.model import MIB, FileFacts, ScanLimits
from r1policy.artifacts.secrets import find_secrets
from r1policy.artifacts.templates import check_template
from r1policy.core import jsonsafe

_TEMPLATE_SUFFIXES = (".jinja", ".jinja2", ".j2", ".tmpl")
_REQUIREMENTS = re.compile(r"^requirements[\w.+-]*\.(?:txt|in)$")
_SHEBANG = re.compile(rb"^(?:\xef\xbb\xbf)?#!([^\n]{0,120})")
_CODE_NODES = (
    ast.Call, ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda,
    ast.With, ast.AsyncWith, ast.For, ast.While, ast.Try, ast.Global, ast.Delete, ast.Assign, ast.AugAssign,
)  # fmt: skip
_PY_AST_LIMIT = 4 * MIB


def is_template_file(base: str) -> bool:
    """Files a serving stack reads as a Jinja template (by name; the content decides nothing)."""
    named = base.startswith("chat_template") and not base.endswith(".json")
    return named or base.endswith(_TEMPLATE_SUFFIXES)


def analyse_text(reader: HashingReader, facts: FileFacts, name: str, limits: ScanLimits) -> None:
    data = reader.read(limits.max_text_bytes + 1)
    if len(data) > limits.max_text_bytes:
        facts.unknown_format = f"text file larger than {limits.max_text_bytes:,} bytes; not analysed"
        return
    text = data.decode("utf-8", errors="replace")
    facts.secrets.extend(find_secrets(text))
    base = PurePosixPath(name.replace("\\", "/")).name.lower()
    template = is_template_file(base)
    if template:  # whatever else it parses as (JSON, Python)
        facts.format = "jinja"
        facts.template_problems.extend(check_template(text, f"template {base!r}"))
    if _REQUIREMENTS.match(base):
        facts.code.append(f"{base}: the serving container pip-installs these packages at start-up")
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        try:
            value = jsonsafe.loads(stripped)
        except jsonsafe.JsonLimitError as exc:
            facts.format = "jinja" if template else "json"
            facts.unknown_format = f"JSON outside r1policy's bounds: {jsonsafe.describe(exc)}"
            return
        except json.JSONDecodeError:
            value = None
        else:
            facts.format = "jinja" if template else "json"
            _json(value, facts, stripped)
            if "\\u" in stripped or "\\/" in stripped:  # escapes may spell what the raw search misses
                add_secrets(facts, find_secrets(decoded_text(value)), "in a JSON string (escapes decoded)")
            return
    if template or facts.code:
        return
    script = _script(data, text, ("code/" if "/code/" in f"/{name}" else "") + base)
    if script:
        facts.format = "python" if "Python" in script else "script"
        facts.code.append(script)


def add_secrets(facts: FileFacts, found: list[str], where: str) -> None:
    """Secrets found in a decoded view, unless the raw text search already reported the same value."""
    known = {entry.split(" at line ")[0] for entry in facts.secrets}
    for entry in found:
        what = entry.split(" at line ")[0]
        if what not in known:
            known.add(what)
            facts.secrets.append(f"{what} {where}")


def decoded_text(value: Any) -> str:
    """JSON strings after decoding, one `"key": "value"` or string per line (the secret patterns'
    shape), iteratively so that nesting depth is no problem."""
    lines: list[str] = []
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, str):
                    lines.append(f'"{key}": "{item}"')
                else:
                    lines.append(str(key))
                    stack.append(item)
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str):
            lines.append(node)
    return "\n".join(lines)


def _script(data: bytes, text: str, where: str) -> str | None:
    """Why this text file is executable code, if it is."""
    base = PurePosixPath(where).name
    shebang = _SHEBANG.match(data)
    if shebang:
        line = shebang.group(1).decode("utf-8", errors="replace").strip()
        kind = "Python script" if "python" in line.lower() else "script"
        return f"{kind} {where} (#!{line}): it runs when executed"
    if base.endswith((".py", ".pyw", ".pyi")):
        return f"Python source {where}: the serving stack can import and run it"
    if len(data) > _PY_AST_LIMIT:
        return None
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if "." not in base:  # no extension: any statement that does something is code
        if any(isinstance(node, _CODE_NODES) for node in ast.walk(tree)):
            return f"Python source {where} (no extension): the serving stack can import and run it"
        return None
    kinds = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    if any(isinstance(node, kinds) for node in tree.body):
        return f"Python source {where}: the serving stack can import and run it"
    return None


def _json(value: Any, facts: FileFacts, raw: str) -> None:
    if is_keras_config(value):
        facts.detail = facts.detail or "keras-config"
    if is_keras_config(value) or "class_name" in raw or '"module"' in raw or "\\u" in raw:
        facts.keras_code_layers.extend(code_layers(value))
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
