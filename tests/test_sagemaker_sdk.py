"""SageMaker Python SDK code and notebooks (sources/sdk): exact findings with file:line (notebooks: cell and
line), JumpStart, values computed at run time (error, never guessed), training-only code (no deployment)
and bad input (exit 2 naming the file and line)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from conftest import EXAMPLES, IMAGE_VULNERABILITY_RULES, ROOT, Result, finding_set, reading_findings, run_cli

SDK = EXAMPLES / "sagemaker-sdk"
CONFIG = EXAMPLES / "r1policy.yaml"
NOTEBOOK = SDK / "tgi_hub_fail_isolation_vpc.ipynb"
HUB_8B = "hf://deepseek-ai/DeepSeek-R1-Distill-Llama-8B@6a6f4aa4197940add57724a7707d069478df56b1"


def check(*paths: Path, extra: tuple[str, ...] = ()) -> Result:
    return run_cli("check", *paths, "--config", CONFIG, "--static", "--format", "json", *extra)


def endpoint(name: str) -> str:
    return f"sagemaker:unknown-region:endpoint/{name}"


def where(data: dict[str, Any], rule: str) -> set[tuple[str, int, int | None]]:
    return {
        (Path(f["location"]["path"]).name, f["location"]["line"], f["location"].get("cell"))
        for f in data["findings"]
        if f["rule_id"] == rule
    }


def write(tmp_path: Path, text: str, name: str = "deploy.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def notebook(tmp_path: Path, *cells: str, name: str = "nb.ipynb") -> Path:
    value = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "id": f"c{i}",
                "metadata": {},
                "execution_count": None,
                "outputs": [],
                "source": src,
            }
            for i, src in enumerate(cells)
        ],
    }
    path = tmp_path / name
    path.write_text(json.dumps(value))
    return path


def test_notebook_is_judged_cell_by_cell_with_cell_and_line() -> None:
    result = check(NOTEBOOK)
    assert result.code == 1
    data = result.json
    ep = endpoint("r1-distill-llama-8b-notebook")
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-003", "fail", ep),
        ("R1-EP-004", "fail", ep),
        ("R1-HUB-006", "fail", HUB_8B),
    }
    # HuggingFaceModel( is on line 2 of cell 6 (its %%time line is blanked); HF_MODEL_ID in cell 5, line 2.
    assert where(data, "R1-EP-003") == {(NOTEBOOK.name, 2, 6)}
    assert where(data, "R1-HUB-006") == {(NOTEBOOK.name, 2, 5)}
    passed = finding_set(check(NOTEBOOK, extra=("--show-passed",)).json, "pass")
    # the image resolved from get_huggingface_llm_image_uri("huggingface", version="3.0.1", region=...)
    assert ("R1-EP-007", "pass", ep) in passed
    assert ("R1-HUB-001", "pass", HUB_8B) in passed


def test_notebook_location_in_sarif_carries_the_cell() -> None:
    sarif = json.loads(run_cli("check", NOTEBOOK, "--config", CONFIG, "--static", "--format", "sarif").stdout)
    results = [r for r in sarif["runs"][0]["results"] if r["ruleId"] == "R1-EP-003"]
    location = results[0]["locations"][0]
    assert location["physicalLocation"]["region"]["startLine"] == 2
    assert location["properties"] == {"cell": 6}


def test_jumpstart_without_model_version_fails_js001() -> None:
    data = check(SDK / "jumpstart_fail_unpinned.py").json
    ep = endpoint("r1-distill-qwen-32b-js")
    assert reading_findings(data, "fail", "error") == {
        ("R1-JS-001", "fail", "jumpstart://deepseek-llm-r1-distill-qwen-32b"),
        ("R1-EP-004", "fail", ep),
        # JumpStart's spec picks the image and the isolation default: unknown to the file, never guessed
        ("R1-EP-003", "error", ep),
        ("R1-EP-007", "error", ep),
    }
    assert where(data, "R1-JS-001") == {("jumpstart_fail_unpinned.py", 7, None)}
    passed = finding_set(check(SDK / "jumpstart_fail_unpinned.py", extra=("--show-passed",)).json, "pass")
    assert ("R1-EP-002", "pass", ep) in passed  # Qwen-32B bf16 fits ml.g6e.12xlarge, from the JumpStart table
    assert ("R1-HUB-002", "pass", "jumpstart://deepseek-llm-r1-distill-qwen-32b") in passed


def test_jumpstart_pinned_isolated_in_vpc_is_allowed() -> None:
    result = check(SDK / "jumpstart_pinned_isolated.py", extra=("--show-passed",))
    data = result.json
    assert result.code == 0
    # The JumpStart TGI image is built on PyTorch 2.4, past its end of patch: R1-EP-009 warns.
    assert {(r, s) for r, s, _ in finding_set(data, "fail", "error") if r in IMAGE_VULNERABILITY_RULES} == {
        ("R1-EP-009", "fail"),
    }
    assert reading_findings(data, "fail", "error") == set()
    subject = "jumpstart://deepseek-llm-r1-distill-llama-8b@2.0.7"
    assert {("R1-JS-001", "pass", subject), ("R1-HUB-002", "pass", subject)} <= finding_set(data, "pass")
    assert ("R1-EP-002", "pass", endpoint("r1-distill-llama-8b-js")) in finding_set(data, "pass")


def test_lmi_model_from_s3_with_retrieved_image_is_allowed() -> None:
    result = check(SDK / "lmi_s3_model_compliant.py", extra=("--show-passed",))
    data = result.json
    # Everything the code decides passes; LMI 13's vLLM release is not in serving-images.json, so the
    # advisory rule cannot be evaluated (error, blocks) and the DLC support table lacks LMI (error, warns).
    assert result.code == 1
    assert {(r, s) for r, s, _ in finding_set(data, "fail", "error") if r in IMAGE_VULNERABILITY_RULES} == {
        ("R1-EP-008", "error"),
        ("R1-EP-009", "error"),
    }
    assert reading_findings(data, "fail", "error") == set()
    ep = endpoint("r1-distill-llama-8b-lmi")
    assert {("R1-EP-003", "pass", ep), ("R1-EP-004", "pass", ep), ("R1-EP-007", "pass", ep)} <= finding_set(
        data, "pass"
    )


def test_training_only_script_is_not_a_deployment() -> None:
    result = check(SDK / "train_only_no_deployment.py")
    assert result.code == 0
    data = result.json
    assert data["findings"] == []
    assert any("without a deployment" in n["message"] for n in data["notices"])


def test_boto3_requests_with_a_runtime_instance_type_are_errors_naming_the_line() -> None:
    path = SDK / "boto3_runtime_error_instance.py"
    data = check(path).json
    ep = endpoint("r1-distill-llama-8b-boto3")
    assert reading_findings(data, "fail", "error") == {("R1-EP-001", "error", ep), ("R1-EP-002", "error", ep)}
    assert where(data, "R1-EP-001") == {(path.name, 37, None)}
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-001")
    assert f"{path.name}:37" in message and 'os.environ["R1_INSTANCE_TYPE"]' in message


def test_folder_walk_reads_scripts_and_notebooks() -> None:
    data = check(SDK, extra=("--show-passed",)).json
    subjects = {s for _, _, s in finding_set(data)}
    assert endpoint("r1-distill-llama-8b-notebook") in subjects
    assert endpoint("r1-distill-qwen-32b-js") in subjects
    assert endpoint("r1-distill-llama-8b-lmi") in subjects
    assert not any(
        "nothing to judge" in n["message"] and "no deployment manifests" in n["message"]
        for n in data["notices"]
    )


def test_image_without_region_is_unknown_not_guessed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        from sagemaker.huggingface import HuggingFaceModel, get_huggingface_llm_image_uri

        model = HuggingFaceModel(
            image_uri=get_huggingface_llm_image_uri("huggingface", version="3.0.1"),
            env={"HF_MODEL_ID": "/opt/ml/model"},
            model_data="s3://acme-llm-weights/deepseek-r1-distill-llama-8b/model.tar.gz",
            enable_network_isolation=True,
            vpc_config={"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        )
        model.deploy(instance_type="ml.g5.2xlarge", initial_instance_count=1, endpoint_name="no-region")
        """,
    )
    data = check(path).json
    assert reading_findings(data, "fail", "error") == {("R1-EP-007", "error", endpoint("no-region"))}
    message = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-EP-007")
    assert "deploy.py:4" in message and "region" in message


def test_env_computed_at_run_time_is_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        import sys
        from sagemaker.model import Model

        IMAGE = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124"
        repo = sys.argv[1]
        env = {"OPTION_MODEL_ID": f"deepseek-ai/{repo}"}
        model = Model(image_uri=IMAGE, env=env, enable_network_isolation=True)
        model.deploy(instance_type="ml.g5.2xlarge", initial_instance_count=1, endpoint_name="computed")
        """,
    )
    data = check(path).json
    unknown_model = "(unknown model of computed)"
    model_rules = (
        "R1-HUB-001",
        "R1-HUB-002",
        "R1-HUB-003",
        "R1-HUB-004",
        "R1-HUB-005",
        "R1-HUB-006",
        "R1-JS-001",
    )
    assert reading_findings(data, "fail", "error") == {
        *((rule, "error", unknown_model) for rule in model_rules),
        ("R1-S3-006", "error", "computed"),
        ("R1-S3-008", "error", "computed"),
        ("R1-EP-002", "error", endpoint("computed")),
        ("R1-EP-004", "fail", endpoint("computed")),
    }
    hub001 = next(f["message"] for f in data["findings"] if f["rule_id"] == "R1-HUB-001")
    assert "deploy.py:5" in hub001 and "sys.argv[1]" in hub001


def test_python_syntax_error_exits_2_with_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "import sagemaker\nmodel = (\n")
    result = check(path)
    assert result.code == 2
    assert f"{path}:2:" in result.stderr and "syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_notebook_that_is_not_json_exits_2_with_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.ipynb"
    path.write_text('{"cells": [\n  {"cell_type": "code",\n')
    result = check(path)
    assert result.code == 2
    assert f"{path}:3:" in result.stderr and "not a Jupyter notebook" in result.stderr


def test_notebook_cell_syntax_error_names_cell_and_line(tmp_path: Path) -> None:
    path = notebook(tmp_path, "import sagemaker\n", "x = 1\ny = (\n")
    result = check(path)
    assert result.code == 2
    assert "cell 2, line 2" in result.stderr


def test_deeply_nested_code_neither_hangs_nor_crashes(tmp_path: Path) -> None:
    chain = 'x = "a"' + ' + "a"' * 50_000
    path = write(tmp_path, "import sagemaker\n" + chain + "\n")
    result = check(path)
    assert result.code == 2 and "nested too deeply" in result.stderr and "Traceback" not in result.stderr
    brackets = write(tmp_path, "import sagemaker\nx = " + "[" * 3000 + "]" * 3000 + "\n", name="b.py")
    assert check(brackets).code == 2


def test_python_without_sagemaker_is_not_a_deployment(tmp_path: Path) -> None:
    path = write(tmp_path, "print('hello')\n")
    assert check(tmp_path).json["findings"] == []
    explicit = check(path)
    assert explicit.code == 2 and "not a deployment" in explicit.stderr


def test_magics_and_shell_lines_are_ignored(tmp_path: Path) -> None:
    path = notebook(
        tmp_path,
        "%pip install sagemaker\n!ls\nfiles = !ls\n",
        "%%bash\necho this is not python (\n",
        "from sagemaker.model import Model\n%time x = 1\nModel(image_uri='763104351884.dkr.ecr.us-east-1."
        "amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124',"
        " model_data='s3://acme-llm-weights/deepseek-r1-distill-llama-8b/m.tar.gz',"
        " enable_network_isolation=True).deploy(instance_type='ml.g5.2xlarge', endpoint_name='magic')\n",
    )
    data = check(path).json
    assert reading_findings(data, "fail", "error") == {("R1-EP-004", "fail", endpoint("magic"))}
    assert where(data, "R1-EP-004") == {("nb.ipynb", 3, 3)}


def test_cold_check_of_a_manifest_does_not_import_nbformat() -> None:
    manifest = next((EXAMPLES / "allow").glob("*.yaml"))
    code = (
        "import sys; from r1policy.cli import main\n"
        f"rc = main(['check', {str(manifest)!r}, '--static', '--config', {str(CONFIG)!r},"
        " '--format', 'json'])\n"
        "assert 'nbformat' not in sys.modules, 'nbformat imported'\n"
        "assert 'r1policy.sources.sdk' not in sys.modules, 'sdk reader imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def test_sdk_v3_model_builder_with_network_and_compute(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        from sagemaker.serve import ModelBuilder
        from sagemaker.serve.configs import Compute, Network

        builder = ModelBuilder(
            model="deepseek-ai/DeepSeek-R1-Distill-Qwen-7B",
            image_uri="763104351884.dkr.ecr.us-west-2.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124",
            env_vars={"OPTION_REVISION": "main"},
            compute=Compute(instance_type="ml.g5.2xlarge"),
            network=Network(subnets=["s-1"], security_group_ids=["sg-1"], enable_network_isolation=False),
        )
        model = builder.build()
        builder.deploy(endpoint_name="r1-qwen-7b-v3")
        """,
    )
    data = check(path).json
    hub = "hf://deepseek-ai/DeepSeek-R1-Distill-Qwen-7B@main"
    assert reading_findings(data, "fail", "error") == {
        ("R1-EP-003", "fail", endpoint("r1-qwen-7b-v3")),
        ("R1-HUB-001", "fail", hub),
        ("R1-HUB-006", "fail", hub),
    }
    assert where(data, "R1-EP-003") == {("deploy.py", 9, None)}
    assert where(data, "R1-HUB-001") == {("deploy.py", 7, None)}


def test_create_model_of_other_libraries_is_not_a_deployment(tmp_path: Path) -> None:
    write(tmp_path, "from django.db import models\nmodels.Manager().create_model(name='x')\n", name="orm.py")
    data = check(tmp_path).json
    assert data["findings"] == []


def test_boto3_create_model_with_runtime_kwargs_is_an_error_not_a_pass(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        import json, sys
        import boto3

        params = json.load(open(sys.argv[1]))
        boto3.client("sagemaker").create_model(**params)
        """,
    )
    data = check(path).json
    errors = {rule for rule, status, _ in finding_set(data, "error")}
    assert {"R1-EP-007", "R1-HUB-001", "R1-S3-008"} <= errors
    assert any("deploy.py:5" in f["message"] for f in data["findings"] if f["status"] == "error")


def test_github_annotation_of_a_notebook_names_the_cell_not_a_file_line() -> None:
    out = run_cli("check", NOTEBOOK, "--config", CONFIG, "--static", "--format", "github").stdout
    line = next(x for x in out.splitlines() if "R1-EP-003" in x)
    assert "line=" not in line.split("::", 2)[1] and "cell 6, line 2:" in line
