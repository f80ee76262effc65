"""Content rules with exact findings: secrets (redacted in every format), chat templates, Keras code
layers, executable code, unknown formats; and a real-shaped Hub repository that passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.conftest import finding_set, run_cli
from tests.fixtures import make_artifacts as mk

from r1policy.artifacts.templates import check_template


def _scan(tmp_path: Path, *targets: str) -> set[tuple[str, str, str]]:
    result = run_cli("scan", *targets, "--format", "json", cwd=tmp_path)
    assert result.code in (0, 1), result.stderr
    return finding_set(result.json, "fail", "error")


def test_hub_repo_with_deepseek_chat_template_passes(tmp_path: Path) -> None:
    mk.hub_repo(tmp_path / "DeepSeek-R1-Distill-Llama-8B")
    result = run_cli(
        "scan", "DeepSeek-R1-Distill-Llama-8B", "--format", "json", "--show-passed", cwd=tmp_path
    )
    assert result.code == 0, result.stdout
    assert finding_set(result.json, "fail", "error") == set()
    assert "scanned 9 files" in result.stderr


def test_auto_map_and_remote_code_files(tmp_path: Path) -> None:
    repo = mk.hub_repo(tmp_path / "r1")
    config = json.loads((repo / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM"}
    (repo / "config.json").write_text(json.dumps(config))
    (repo / "modeling_deepseek.py").write_text("import torch\n\nclass DeepseekV3ForCausalLM:\n    pass\n")
    (repo / "helper").write_text("import subprocess\nsubprocess.run(['id'])\n")  # Python without .py
    assert _scan(tmp_path, "r1") == {
        ("R1-ART-006", "fail", "r1/config.json"),
        ("R1-ART-006", "fail", "r1/modeling_deepseek.py"),
        ("R1-ART-006", "fail", "r1/helper"),
    }


@pytest.mark.parametrize("fmt", ["json", "table", "sarif", "markdown", "github", "junit"])
def test_secrets_are_found_and_never_printed_whole(tmp_path: Path, fmt: str) -> None:
    mk.secrets_config(tmp_path / "creds" / "credentials.ini")
    result = run_cli("scan", "creds", "--format", fmt, cwd=tmp_path)
    assert result.code == 1
    for secret in (mk.FAKE_AWS_KEY_ID, mk.FAKE_AWS_SECRET, mk.FAKE_HF_TOKEN, "Zq8rT2vX9wLm4Kp7Ns3B"):
        assert secret not in result.stdout
    if fmt == "json":
        assert finding_set(result.json, "fail", "error") == {("R1-ART-003", "fail", "creds/credentials.ini")}
        (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-003"]
        for shown in (
            "AWS access key id AKIA…[redacted, 20 chars] at line 2",
            "AWS secret access key wJal…[redacted, 40 chars] at line 3",
            "Hugging Face token hf_a…[redacted, 37 chars] at line 4",
            "private key -----BEGIN OPENSSH PRIVATE KEY----- at line 6",
        ):
            assert shown in message
        assert "high-entropy value for 'db_password' Zq8r…[redacted, 20 chars] at line 5" in message


def test_keras_v3_with_nested_lambda(tmp_path: Path) -> None:
    mk.keras_v3(tmp_path / "lambda.keras", with_lambda=True)
    mk.keras_v3(tmp_path / "dense.keras", with_lambda=False)
    result = run_cli("scan", "lambda.keras", "dense.keras", "--format", "json", cwd=tmp_path)
    assert finding_set(result.json, "fail", "error") == {("R1-ART-009", "fail", "lambda.keras!/config.json")}
    (message,) = [f["message"] for f in result.json["findings"] if f["rule_id"] == "R1-ART-009"]
    assert "Lambda layer outer/inner/exec_me" in message


def test_keras_h5_model_config_is_read(tmp_path: Path) -> None:
    config = {
        "class_name": "Sequential",
        "config": {
            "name": "s",
            "layers": [
                {
                    "class_name": "Lambda",
                    "config": {"name": "l", "function": ["4wEA", None, None], "function_type": "lambda"},
                }
            ],
        },
    }
    mk.keras_h5(tmp_path / "model.h5", config)
    assert _scan(tmp_path, "model.h5") == {("R1-ART-009", "fail", "model.h5")}


def test_malicious_chat_template_in_tokenizer_config_and_jinja_file(tmp_path: Path) -> None:
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": mk.EVIL_TEMPLATE}))
    (tmp_path / "chat_template.jinja").write_text("{{ messages.__class__.__mro__[1].__subclasses__() }}")
    (tmp_path / "ok.jinja").write_text(mk.DEEPSEEK_R1_TEMPLATE)
    assert _scan(tmp_path, ".") == {
        ("R1-ART-008", "fail", "tokenizer_config.json"),
        ("R1-ART-008", "fail", "chat_template.jinja"),
    }


@pytest.mark.parametrize(
    "template",
    [
        mk.DEEPSEEK_R1_TEMPLATE,
        "{% for m in messages %}{{ m['content'].split('</think>')[-1].strip() }}{% endfor %}",
        "{{ messages | map(attribute='content') | join('\\n') }}",
        "{% if tools %}{{ tools | tojson }}{% endif %}{{ bos_token + messages[0]['content'] | trim }}",
    ],
)
def test_real_templates_pass(template: str) -> None:
    assert check_template(template, "t") == []


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ x.__class__ }}", "reaches attribute '__class__'"),
        ("{{ x['__globals__'] }}", "reaches item '__globals__'"),
        ("{{ x | attr('__class__') }}", "uses 'attr' on attribute '__class__'"),
        ("{{ x | attr(name) }}", "computed attribute name"),
        ("{{ x['__cla' ~ 'ss__'] }}", "computed name"),
        ("{{ self._TemplateReference__context }}", "uses 'self'"),
        ("{{ '{0.__class__}'.format(x) }}", "reaches attribute 'format'"),
        ("{{ cycler.__init__.__globals__.os }}", "reaches attribute '__globals__'"),
        ("{{ f.gi_frame.f_back }}", "reaches attribute 'gi_frame'"),
        ("{% for %}", "does not parse as Jinja"),
    ],
)
def test_templates_reaching_python_internals_fail(template: str, expected: str) -> None:
    problems = check_template(template, "t")
    assert any(expected in p for p in problems), problems


def test_unknown_formats_are_never_clean(tmp_path: Path) -> None:
    (tmp_path / "weights.7z").write_bytes(b"7z\xbc\xaf\x27\x1c" + bytes(32))
    (tmp_path / "model.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "model.safetensors").write_bytes(b"\x28\xb5\x2f\xfd" + bytes(16))  # zstd, misnamed
    assert _scan(tmp_path, ".") == {
        ("R1-ART-010", "fail", "weights.7z"),
        ("R1-ART-010", "fail", "model.bin"),
        ("R1-ART-010", "fail", "model.safetensors"),
    }


def test_unreadable_file_is_an_error_for_every_rule(tmp_path: Path) -> None:
    from r1policy.artifacts.scanner import Scanner
    from r1policy.artifacts.targets import resolve

    path = tmp_path / "model.safetensors"
    mk.safetensors_benign(path)
    target = resolve(str(path))
    path.unlink()  # gone between listing and reading
    (result,) = Scanner().scan_all(target.files)
    assert result.top.unreadable is not None and "could not read" in result.top.unreadable
