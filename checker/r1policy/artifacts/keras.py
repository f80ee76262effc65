"""Keras model configs (`config.json` of a `.keras` zip, the `model_config` of a Keras `.h5`):
layers that carry executable code — `Lambda`, serialised Python functions — at any nesting depth."""

from __future__ import annotations

from typing import Any

_CODE_CLASSES = frozenset({"Lambda", "__lambda__", "function"})
MAX_FOUND = 20


def is_keras_config(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value


def code_layers(config: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any, trail: tuple[str, ...], depth: int) -> None:
        if len(found) >= MAX_FOUND or depth > 200:
            return
        if isinstance(node, dict):
            cls = node.get("class_name")
            inner = node.get("config")
            name = inner.get("name") if isinstance(inner, dict) else None
            here = (*trail, str(name)) if isinstance(name, str) and cls is not None else trail
            if isinstance(cls, str) and cls in _CODE_CLASSES:
                found.append(f"{cls} layer {'/'.join(here) or '(unnamed)'}")
                return  # the code it carries is this one finding
            elif node.get("function_type") == "lambda" or (
                node.get("module") == "builtins" and cls == "function"
            ):
                found.append(f"serialised Python function in {'/'.join(here) or '(unnamed)'}")
            for value in node.values():
                walk(value, here, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, trail, depth + 1)

    walk(config, (), 0)
    return found
