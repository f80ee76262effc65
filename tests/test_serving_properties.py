"""LMI serving.properties inside model.tar.gz: streamed, bounded, never extracted; it wins over env.

The archives are generated here (`make_archive`), not checked in.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, finding_set, run_cli
from r1policy.sources.servingprops import (
    Limits,
    ServingPropertiesError,
    parse_properties,
    read_from_archive,
    read_local_serving_properties,
    read_s3_serving_properties,
)

SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
PROPS = f"""\
# LMI settings
engine=Python
option.model_id=deepseek-ai/DeepSeek-R1-Distill-Llama-8B
option.revision = {SHA}
option.tensor_parallel_degree: 1
"""


def make_archive(members: list[tuple[str, bytes | None]], mode: str = "w:gz") -> bytes:
    """A tar archive; a None payload makes a symlink named like the member."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.SYMTYPE
                info.linkname = "/etc/passwd"
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


class ReadOnly(io.RawIOBase):
    """A stream that can only be read forward: proves the reader never seeks."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        chunk = self.inner.read(len(buffer))
        buffer[: len(chunk)] = chunk
        return len(chunk)

    def seekable(self) -> bool:
        return False


def test_properties_syntax() -> None:
    props = parse_properties("a=1\n  b : two words \n! c\nc \\\n  continued\nflag\n", "x")
    assert props.values == {"a": "1", "b": "two words", "c": "continued", "flag": ""}
    assert props.lines == {"a": 1, "b": 2, "c": 4, "flag": 6}


@pytest.mark.parametrize("mode", ["w:gz", "w:bz2", "w:xz", "w"])
def test_reads_serving_properties_from_a_forward_only_stream(mode: str) -> None:
    data = make_archive(
        [("model/weights.safetensors", b"\0" * 4096), ("./serving.properties", PROPS.encode())], mode
    )
    props = read_from_archive(ReadOnly(data), "model.tar.gz")
    assert props is not None
    assert props.values["option.model_id"] == "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
    assert props.location("option.revision").line == 4
    assert props.source == "model.tar.gz!/serving.properties"


def test_nested_properties_are_not_the_containers_and_the_last_one_wins() -> None:
    data = make_archive(
        [
            ("code/serving.properties", b"option.model_id=nested/ignored\n"),
            ("serving.properties", b"option.model_id=first/one\n"),
            ("serving.properties", b"option.model_id=second/one\n"),
        ]
    )
    props = read_from_archive(io.BytesIO(data), "m.tar.gz")
    assert props is not None and props.values == {"option.model_id": "second/one"}
    assert read_from_archive(io.BytesIO(make_archive([("a.bin", b"x")])), "m.tar.gz") is None


@pytest.mark.parametrize(
    ("data", "limits", "message"),
    [
        (make_archive([("serving.properties", None)]), Limits(), "link or special file"),
        (
            make_archive([("serving.properties", b"a=" + b"x" * 100)]),
            Limits(max_properties_bytes=50),
            "limit 50",
        ),
        (make_archive([("big.bin", b"x" * 5000)]), Limits(max_archive_bytes=4096), "larger than 4,096"),
        (make_archive([("a", b""), ("b", b""), ("c", b"")]), Limits(max_members=2), "more than 2 members"),
        (b"PK\x03\x04 this is a zip, not a tar", Limits(), "not a readable tar archive"),
        (make_archive([("serving.properties", b"\xff\xfe")]), Limits(), "not valid UTF-8"),
    ],
    ids=["symlink", "properties_too_big", "archive_too_big", "too_many_members", "not_tar", "not_utf8"],
)
def test_untrustworthy_archives_are_errors(data: bytes, limits: Limits, message: str) -> None:
    with pytest.raises(ServingPropertiesError, match=message):
        read_from_archive(io.BytesIO(data), "m.tar.gz", limits=limits)


def test_nothing_is_written_to_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(
        make_archive([("serving.properties", PROPS.encode()), ("inference.py", b"import os")])
    )
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)
    assert read_local_serving_properties(archive) is not None
    assert list(work.iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "model.tar.gz"]


def test_serving_properties_win_over_env_in_a_request_file(tmp_path: Path) -> None:
    (tmp_path / "model.tar.gz").write_bytes(
        make_archive(
            [("serving.properties", b"option.model_id=deepseek-al/DeepSeek-R1\noption.revision=main\n")]
        )
    )
    request = {
        "ModelName": "lmi",
        "PrimaryContainer": {
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/djl-inference:0.31.0-lmi13.0.0-cu124",
            "ModelDataUrl": "model.tar.gz",
            "Environment": {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1", "HF_MODEL_REVISION": SHA},
        },
    }
    (tmp_path / "create-model.json").write_text(json.dumps(request, indent=2))
    result = run_cli(
        "check", tmp_path, "--config", EXAMPLES / "r1policy.yaml", "--static", "--format", "json"
    )
    assert result.code == 1
    data = result.json
    hub = "hf://deepseek-al/DeepSeek-R1@main"
    assert finding_set(data, "fail") == {
        ("R1-HUB-001", "fail", hub),
        ("R1-HUB-002", "fail", hub),
        ("R1-HUB-003", "fail", hub),
        ("R1-HUB-006", "fail", hub),
    }
    where = {f["rule_id"]: f["location"] for f in data["findings"] if f["status"] == "fail"}
    assert where["R1-HUB-001"]["path"] == f"{tmp_path / 'model.tar.gz'}!/serving.properties"
    assert where["R1-HUB-001"]["line"] == 2


def test_reads_from_s3_by_streaming(moto_env: Any) -> None:
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-llm-weights")
    s3.put_object(
        Bucket="acme-llm-weights",
        Key="lmi/model.tar.gz",
        Body=make_archive([("serving.properties", PROPS.encode())]),
    )
    props = read_s3_serving_properties(s3, "s3://acme-llm-weights/lmi/model.tar.gz")
    assert props is not None and props.values["option.revision"] == SHA
    assert props.source == "s3://acme-llm-weights/lmi/model.tar.gz!/serving.properties"
    with pytest.raises(ServingPropertiesError, match="cannot read the model archive"):
        read_s3_serving_properties(s3, "s3://acme-llm-weights/missing.tar.gz")
