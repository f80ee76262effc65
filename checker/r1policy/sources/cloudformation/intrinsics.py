"""CloudFormation's YAML short forms (`!Ref`, `!Sub`, `!GetAtt`, ...) as their JSON long forms.

`cfn_tag_handler` plugs into `yamldoc.load_yaml_documents(tag_handler=...)`: `!Ref X` becomes
`{"Ref": "X"}`, `!GetAtt A.B` becomes `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` becomes `{"Fn::Sub": s}`,
and so on, so that YAML and JSON templates resolve through the same code. The value inside a
short form is built at the path of its long form (`(..., "Fn::Sub", 0)`), so positions line up.
An unknown tag is refused with its file and line.
"""

from __future__ import annotations

from typing import Any

import yaml

from r1policy.core.errors import InputError
from r1policy.core.yamldoc import JsonPath, _Builder

# Fn:: functions CloudFormation knows (condition functions included), by their short tag name.
FUNCTIONS = frozenset(
    {
        "And",
        "Base64",
        "Cidr",
        "Equals",
        "FindInMap",
        "ForEach",
        "GetAZs",
        "GetAtt",
        "If",
        "ImportValue",
        "Join",
        "Length",
        "Not",
        "Or",
        "Select",
        "Split",
        "Sub",
        "ToJsonString",
        "Transform",
    }
)
LONG_FORMS = frozenset({"Ref", "Condition"} | {f"Fn::{name}" for name in FUNCTIONS})


def cfn_tag_handler(builder: _Builder, node: yaml.Node, path: JsonPath) -> Any:
    tag = node.tag or ""
    name = tag[1:] if tag.startswith("!") else tag
    if name in ("Ref", "Condition"):
        return {name: _scalar(builder, node, (*path, name), tag)}
    if name not in FUNCTIONS:
        raise InputError(
            builder._pos(node),
            f"unknown CloudFormation intrinsic function {tag!r} "
            f"(known: !Ref, !Condition, {', '.join('!' + f for f in sorted(FUNCTIONS))})",
        )
    long = f"Fn::{name}"
    inner: JsonPath = (*path, long)
    builder.doc.positions[inner] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if name == "GetAtt" and isinstance(node, yaml.ScalarNode):
        text = str(node.value)
        resource, dot, attribute = text.partition(".")
        if not dot or not resource or not attribute:
            raise InputError(builder._pos(node), f"!GetAtt needs Resource.Attribute, not {text!r}")
        return {long: [resource, attribute]}
    return {long: builder.build_plain(node, inner)}


def _scalar(builder: _Builder, node: yaml.Node, path: JsonPath, tag: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise InputError(builder._pos(node), f"{tag} takes a name, not a list or mapping")
    builder.doc.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    return str(node.value)
