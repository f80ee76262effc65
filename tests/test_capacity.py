"""R1-EP-002 calibration (SPEC §7): what AWS itself runs fits; the two known misfits do not."""

from __future__ import annotations

import pytest

from r1policy.facts.capacity import instance_capacity, known_model, weights_mib

HEADROOM = 20


def fits(parameters: float, dtype: str, instance_type: str) -> bool:
    cap = instance_capacity(instance_type)
    assert cap is not None
    return weights_mib(parameters, dtype) * (100 + HEADROOM) <= cap.total_mib * 100


@pytest.mark.parametrize(
    ("repo", "instance_type"),
    [
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-8B", "ml.g5.2xlarge"),
        ("deepseek-ai/DeepSeek-R1-Distill-Qwen-32B", "ml.g6e.12xlarge"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "ml.p4d.24xlarge"),
        ("deepseek-ai/DeepSeek-R1", "ml.p5e.48xlarge"),
    ],
)
def test_what_aws_runs_fits(repo: str, instance_type: str) -> None:
    model = known_model(repo)
    assert model is not None
    assert fits(model.parameters, model.dtype, instance_type)


@pytest.mark.parametrize(
    ("repo", "instance_type"),
    [
        ("deepseek-ai/DeepSeek-R1", "ml.p5.48xlarge"),
        ("deepseek-ai/DeepSeek-R1-Distill-Llama-70B", "ml.g5.12xlarge"),
        ("deepseek-ai/DeepSeek-R1", "ml.p4de.24xlarge"),
    ],
)
def test_known_misfits_are_refused(repo: str, instance_type: str) -> None:
    model = known_model(repo)
    assert model is not None
    assert not fits(model.parameters, model.dtype, instance_type)


def test_instance_table_covers_the_families_in_facts() -> None:
    for itype, count in {
        "ml.g4dn.12xlarge": 4,
        "ml.g5.48xlarge": 8,
        "ml.g6.xlarge": 1,
        "ml.g6e.12xlarge": 4,
        "ml.p4d.24xlarge": 8,
        "ml.p4de.24xlarge": 8,
        "ml.p5.4xlarge": 1,
        "ml.p5en.48xlarge": 8,
        "ml.inf2.48xlarge": 12,
        "ml.trn1.32xlarge": 16,
        "ml.trn1n.32xlarge": 16,
        "ml.p3.16xlarge": 8,
    }.items():
        cap = instance_capacity(itype)
        assert cap is not None and cap.count == count, itype


def test_dtype_support() -> None:
    t4, v100, h100 = (instance_capacity(i) for i in ("ml.g4dn.xlarge", "ml.p3.2xlarge", "ml.p5.48xlarge"))
    assert t4 is not None and v100 is not None and h100 is not None
    assert "bfloat16" not in t4.dtypes and "bfloat16" not in v100.dtypes
    assert "fp8" in h100.dtypes
    a100 = instance_capacity("ml.p4d.24xlarge")
    assert a100 is not None and "fp8" not in a100.dtypes


def test_s3_prefix_matches_a_known_model_by_exact_segment_only() -> None:
    assert known_model(None, "s3://b/deepseek-r1-distill-llama-8b/") is not None
    assert known_model(None, "s3://b/models/deepseek-r1/") is not None
    assert known_model(None, "s3://b/my-deepseek-r1-finetune/") is None


def test_local_nvme_families_are_data() -> None:
    from r1policy.facts.capacity import has_local_instance_storage

    assert has_local_instance_storage("ml.g5.2xlarge") and has_local_instance_storage("ml.p5e.48xlarge")
    assert not has_local_instance_storage("ml.inf2.48xlarge") and not has_local_instance_storage(
        "ml.p3.8xlarge"
    )
    assert not has_local_instance_storage("not-an-instance")
