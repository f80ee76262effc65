"""Terraform's JSON syntax (`.tf.json`) as the same blocks and attributes as `.tf` files.

Each JSON value becomes an HCL expression (a JSON string is a template, as Terraform reads it, so
`"${var.x}"` interpolates); nested blocks are told from map-valued arguments by name (the nested
block types of the resources r1policy judges, e.g. `primary_container`, `production_variants`, `rule`);
`environment` and `tags` stay maps. Positions are the JSON file's lines.
"""

from __future__ import annotations

import json
from typing import Any

from r1policy.core.errors import InputError, Position
from r1policy.core.findings import Location
from r1policy.core.yamldoc import Document, JsonPath, load_yaml_documents
from r1policy.sources.terraform.source.hcl import Attr, Block

NESTED_BLOCKS = {
    "primary_container",
    "container",
    "model_data_source",
    "s3_data_source",
    "image_config",
    "vpc_config",
    "production_variants",
    "serverless_config",
    "data_capture_config",
    "capture_options",
    "capture_content_type_header",
    "async_inference_config",
    "output_config",
    "client_config",
    "notification_config",
    "rule",
    "apply_server_side_encryption_by_default",
    "versioning_configuration",
    "access_control_policy",
    "grant",
    "grantee",
    "owner",
    "target_grant",
    "object_lock_configuration",
    "default_retention",
    "lifecycle",
}
_LABELS = {"resource": 2, "data": 2, "module": 1, "variable": 1, "output": 1, "provider": 1}


def parse_json_file(text: str, shown: str) -> Block:
    docs = list(load_yaml_documents(text, shown))
    if len(docs) != 1 or not isinstance(docs[0].value, dict):
        raise InputError(Position(shown, 1, 1), "a .tf.json file holds one JSON object")
    doc = docs[0]
    top = Block("", [], {}, [], Location(shown, 1, 1), shown)
    for kind, value in doc.value.items():
        path: JsonPath = (kind,)
        if kind == "locals":
            for item, sub in _items(value, path):
                top.blocks.append(_block(doc, "locals", [], item, sub, nested=False))
        elif kind in _LABELS:
            for labels, body, where in _labelled(value, path, _LABELS[kind]):
                top.blocks.append(_block(doc, kind, labels, body, where, nested=kind in ("resource", "data")))
        elif kind == "terraform":
            continue
        else:
            raise InputError(
                doc.position(path, key=True), f"unknown top-level key {kind!r} in Terraform JSON"
            )
    return top


def _items(value: Any, path: JsonPath) -> list[tuple[Any, JsonPath]]:
    if isinstance(value, list):
        return [(v, (*path, i)) for i, v in enumerate(value)]
    return [(value, path)]


def _labelled(value: Any, path: JsonPath, depth: int) -> list[tuple[list[str], Any, JsonPath]]:
    if depth == 0:
        return [([], item, where) for item, where in _items(value, path)]
    out: list[tuple[list[str], Any, JsonPath]] = []
    for item, where in _items(value, path):
        if not isinstance(item, dict):
            continue
        for label, inner in item.items():
            for labels, body, at in _labelled(inner, (*where, label), depth - 1):
                out.append(([label, *labels], body, at))
    return out


def _block(doc: Document, kind: str, labels: list[str], body: Any, path: JsonPath, *, nested: bool) -> Block:
    pos = doc.position(path)
    block = Block(kind, labels, {}, [], Location(doc.path, pos.line, pos.column), doc.path)
    if not isinstance(body, dict):
        raise InputError(pos, f"the body of {kind} {' '.join(labels)} must be an object")
    for key, value in body.items():
        where = (*path, key)
        is_block = (
            nested
            and key in NESTED_BLOCKS
            and (
                isinstance(value, dict)
                or (isinstance(value, list) and all(isinstance(v, dict) for v in value))
            )
        )
        if is_block:
            for item, at in _items(value, where):
                block.blocks.append(_block(doc, key, [], item, at, nested=True))
            continue
        key_at = doc.position(where, key=True)
        block.attrs[key] = _attr(key, value, Location(doc.path, key_at.line, key_at.column))
    return block


def _attr(name: str, value: Any, where: Location) -> Attr:
    from hcl2.parser import parser
    from lark.exceptions import LarkError

    text = f"x = {json.dumps(value, ensure_ascii=False)}\n"
    try:
        tree = parser().parse(text)
    except LarkError as exc:
        raise InputError(
            Position(where.path, where.line, where.column), f"{name}: not a Terraform expression ({exc})"
        ) from None
    body: Any = tree.children[0]
    attribute: Any = next(c for c in body.children if getattr(c, "data", "") == "attribute")
    return Attr(name, attribute.children[-1], where, text, json=True)
