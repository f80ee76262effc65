"""Keras model configs (`config.json` of a `.keras` zip, the `model_config` / `training_config` of a
Keras `.h5`), walked to any depth for what makes Keras run code when it deserialises them:

- a `module` outside `keras` / `keras.*` / `keras_hub.*` (Keras imports it and calls `class_name` from it:
  `{"module": "os", "class_name": "system"}`, the CVE-2025-1550 class), and Keras helpers that fetch
  or load other files (`keras.utils.get_file`, nested `load_model`);
- `Lambda`, `TFOpLambda`, `SlicingOpLambda` layers and serialised Python functions (`__lambda__`)."""

from __future__ import annotations

from typing import Any

_CODE_CLASSES = frozenset({"Lambda", "TFOpLambda", "SlicingOpLambda", "__lambda__"})
# Keras callables that reach the file system or the network, or switch safe mode off, when a config
# names them.
_KERAS_LOADERS = frozenset(
    {"get_file", "load_model", "load_weights", "load_img", "save_model", "enable_unsafe_deserialization"}
)
MAX_FOUND = 20
MAX_DEPTH = 400


def is_keras_config(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value


def allowed_module(module: str) -> bool:
    return module in ("keras", "keras_hub") or module.startswith(("keras.", "keras_hub."))


def _problem(node: dict[str, Any], cls: Any) -> str | None:
    """What makes this serialised object run code, if anything."""
    if isinstance(cls, str) and cls in _CODE_CLASSES:
        return f"{cls} layer"
    if node.get("function_type") == "lambda":
        return "serialised Python function"
    if "module" in node and (cls is not None or "registered_name" in node):
        module = node["module"]
        if module is None:
            return None  # a registered custom object: Keras looks it up, never imports it
        if not isinstance(module, str) or not allowed_module(module):
            return f"object {module!r}.{cls!r} from outside Keras (Keras imports the module)"
        if isinstance(cls, str) and cls in _KERAS_LOADERS:
            return f"Keras helper {module}.{cls}, which reads or fetches files or disables safe mode"
    return None


def code_layers(config: Any) -> list[str]:
    found: list[str] = []

    def walk(node: Any, trail: tuple[str, ...], depth: int) -> None:
        if len(found) >= MAX_FOUND:
            return
        if depth > MAX_DEPTH:
            found.append(f"config nested deeper than {MAX_DEPTH} levels at {'/'.join(trail)}; not judged")
            return
        if isinstance(node, dict):
            cls = node.get("class_name")
            inner = node.get("config")
            name = inner.get("name") if isinstance(inner, dict) else None
            here = (*trail, str(name)) if isinstance(name, str) and cls is not None else trail
            problem = _problem(node, cls)
            if problem is not None:
                found.append(f"{problem} {'/'.join(here) or '(top level)'}")
                if isinstance(cls, str) and cls in _CODE_CLASSES:
                    return  # the code it carries is this one finding
            for value in node.values():
                walk(value, here, depth + 1)
        elif isinstance(node, list):
            for value in node:
                walk(value, trail, depth + 1)

    walk(config, (), 0)
    return found
