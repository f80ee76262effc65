"""serving.properties where LMI looks for it (issue 20, "Model archives built in notebooks"): DJL takes
the archive's only visible top-level folder as the model folder (`mymodel/serving.properties`)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import EXAMPLES, reading_findings, run_cli
from r1policy.sources.servingprops import ServingPropertiesError, read_from_archive

STATIC = ("--config", EXAMPLES / "r1policy.yaml", "--static", "--format", "json")
LMI = "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124"
SHA = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
EVIL = b"option.model_id=evil-labs/DeepSeek-R1\n"


def archive(members: list[tuple[str, bytes | None]]) -> bytes:
    """A gzip tar; a None payload is a directory member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "model_id"),
    [
        ([("mymodel/serving.properties", EVIL), ("mymodel/config.json", b"{}")], "evil-labs/DeepSeek-R1"),
        ([("./mymodel/", None), ("./mymodel/serving.properties", EVIL)], "evil-labs/DeepSeek-R1"),
        ([("._mymodel", b"x"), ("mymodel/serving.properties", EVIL)], "evil-labs/DeepSeek-R1"),
        ([("/code/serving.properties", EVIL)], "evil-labs/DeepSeek-R1"),
        # Two visible entries at the root: the root is the model folder, the nested file is not read.
        ([("mymodel/serving.properties", EVIL), ("README.md", b"")], None),
        # DJL descends one level only.
        ([("a/b/serving.properties", EVIL)], None),
    ],
    ids=["notebook", "dot_slash_and_dir", "hidden_sibling", "absolute_name", "two_entries", "two_levels"],
)
def test_the_model_folder_is_found_as_djl_finds_it(
    members: list[tuple[str, bytes | None]], model_id: str | None
) -> None:
    props = read_from_archive(io.BytesIO(archive(members)), "m.tar.gz")
    assert (props.values.get("option.model_id") if props else None) == model_id


def test_an_only_entry_that_is_a_link_cannot_be_followed() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("mymodel")
        info.type = tarfile.SYMTYPE
        info.linkname = "/opt/elsewhere"
        tar.addfile(info)
    with pytest.raises(ServingPropertiesError, match="only entry mymodel is a link"):
        read_from_archive(io.BytesIO(buffer.getvalue()), "m.tar.gz")


@pytest.mark.parametrize(
    ("props", "env", "expected"),
    [
        # The example: a notebook-built archive names a look-alike model in a sub-folder.
        (
            EVIL,
            {},
            {(r, "fail", "hf://evil-labs/DeepSeek-R1") for r in ("R1-HUB-001", "R1-HUB-002", "R1-HUB-006")},
        ),
        (
            f"option.model_id=deepseek-ai/DeepSeek-R1\noption.revision={SHA}\noption.trust_remote_code=true\n".encode(),
            {},
            {(r, "fail", f"hf://deepseek-ai/DeepSeek-R1@{SHA}") for r in ("R1-HUB-005", "R1-HUB-006")},
        ),
        (
            b"option.model_id=deepseek-ai/DeepSeek-R1\noption.revision=main\n",
            {"OPTION_REVISION": SHA},
            {(r, "fail", "hf://deepseek-ai/DeepSeek-R1@main") for r in ("R1-HUB-001", "R1-HUB-006")},
        ),
        (
            EVIL,
            {"HF_MODEL_ID": "/opt/ml/model"},
            {(r, "fail", "hf://evil-labs/DeepSeek-R1") for r in ("R1-HUB-001", "R1-HUB-002", "R1-HUB-006")},
        ),
    ],
    ids=["issue_nested_lookalike", "nested_trust", "nested_revision_wins_over_env", "nested_over_model_dir"],
)
def test_nested_serving_properties_decide_the_model(
    tmp_path: Path, props: bytes, env: dict[str, str], expected: set[tuple[str, str, str]]
) -> None:
    (tmp_path / "model.tar.gz").write_bytes(
        archive([("mymodel/", None), ("mymodel/serving.properties", props), ("mymodel/config.json", b"{}")])
    )
    request = {
        "ModelName": "lmi",
        "EnableNetworkIsolation": True,
        "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
        "PrimaryContainer": {"Image": LMI, "ModelDataUrl": "model.tar.gz", "Environment": env},
    }
    (tmp_path / "create-model.json").write_text(json.dumps(request))
    result = run_cli("check", tmp_path, *STATIC)
    assert reading_findings(result.json, "fail", "error") == expected
    assert result.code == 1
    where = next(f["location"] for f in result.json["findings"] if f["status"] == "fail")
    assert where["path"].endswith("model.tar.gz!/mymodel/serving.properties")
