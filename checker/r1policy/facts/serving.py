"""Which serving framework, at which version, a container image runs (R1-EP-008, R1-EP-009).

Read from the image reference only, as its publisher tags it:
- AWS Hugging Face TGI DLC `huggingface-pytorch-tgi-inference:2.4.0-tgi3.0.1-gpu-py311-cu124-ubuntu22.04`
  (PyTorch 2.4.0, TGI 3.0.1);
- AWS LMI DLC `djl-inference:0.31.0-lmi13.0.0-cu124` (DJL Serving 0.31.0, LMI 13.0.0, which ships the vLLM
  release in policies/data/serving-images.json);
- AWS vLLM DLC `vllm:0.9-gpu-py312-ec2` / `vllm:0.10.2-gpu-py312-…` (a `major.minor` tag names any patch
  release of that minor version: judged as its first, `.0`);
- Docker Hub `vllm/vllm-openai:v0.8.5`, GHCR `ghcr.io/huggingface/text-generation-inference:3.0.1`.
Anything else (floating tags, other servers, a digest alone) has no known version.
"""

from __future__ import annotations

import re
from functools import lru_cache

from r1policy.core.lazyre import compile_on_use
from r1policy.core.record import frozen_record
from r1policy.core.resources import load_data
from r1policy.facts.image import ImageRef, parse_image

# The ECR accounts that publish the AWS Deep Learning Containers (one per partition / opt-in region).
DLC_ACCOUNTS = frozenset(
    {
        "763104351884",
        "364406365360",
        "772153158452",
        "907027046896",
        "727897471807",
        "692866216735",
        "380420809688",
        "503227376785",
        "217643126080",
        "204538143572",
    }
)
_ECR = re.compile(
    r"^(\d{12})\.dkr\.ecr\.[^/]+\.amazonaws\.com(\.cn)?$"
)  # any region text: a template may leave it open
_TGI_DLC = re.compile(
    r"^(?P<base>\d+\.\d+\.\d+)-tgi(?P<ver>\d+\.\d+\.\d+)-(gpu|cpu)-py\d+(-cu\d+)?-\w+[\d.]*(-v[\d.]+)?$"
)
_LMI_DLC = compile_on_use(r"^(?P<base>\d+\.\d+\.\d+)-lmi(?P<ver>\d+\.\d+\.\d+)-cu\d+(-v[\d.]+)?$")
_VLLM_DLC = compile_on_use(r"^(?P<ver>\d+\.\d+(\.\d+)?(\.post\d+)?)-gpu-py\d+[-\w.]*$")
_PLAIN = compile_on_use(r"^v?(?P<ver>\d+\.\d+\.\d+(\.post\d+)?)$")


@frozen_record
class ServingImage:
    """`framework` is tgi, vllm or lmi; `engine` the package advisories are filed under (vllm for LMI),
    `engine_version` its version; `base` the framework the DLC support period follows."""

    ref: ImageRef
    framework: str
    version: str
    engine: str
    engine_version: str | None
    dlc: bool
    base: tuple[str, str] | None = None  # ("pytorch", "2.4.0")
    note: str = ""


def is_dlc(ref: ImageRef) -> bool:
    match = _ECR.match(ref.registry)
    if match and match.group(1) in DLC_ACCOUNTS:
        return True
    return ref.registry == "public.ecr.aws" and ref.repository.startswith("deep-learning-containers/")


@lru_cache(maxsize=4096)  # a pure function of the text (the tables are read once per run)
def serving_image(uri: str) -> ServingImage | None:
    """The serving framework and version the image's tag names, or None when it names none."""
    ref = parse_image(uri)
    tag = ref.tag or ""
    name = ref.repository.rsplit("/", 1)[-1]
    dlc = is_dlc(ref)
    if dlc and name == "huggingface-pytorch-tgi-inference" and (m := _TGI_DLC.match(tag)):
        ver = m.group("ver")
        return ServingImage(ref, "tgi", ver, "text-generation-inference", ver, True, ("pytorch", m["base"]))
    if dlc and name == "djl-inference" and (m := _LMI_DLC.match(tag)):
        lmi = m.group("ver")
        bundled: dict[str, str] = load_data("serving-images.json")["lmi_vllm"]
        return ServingImage(ref, "lmi", lmi, "vllm", bundled.get(lmi), True)
    if dlc and name == "vllm" and (m := _VLLM_DLC.match(tag)):
        ver = m.group("ver")
        note = ""
        if ver.count(".") == 1:
            note = f"the tag names vLLM {ver} (any {ver}.x patch release); judged as {ver}.0"
            ver = f"{ver}.0"
        return ServingImage(ref, "vllm", ver, "vllm", ver, True, note=note)
    if ref.registry == "docker.io" and ref.repository == "vllm/vllm-openai" and (m := _PLAIN.match(tag)):
        return ServingImage(ref, "vllm", m["ver"], "vllm", m["ver"], False)
    tgi = ref.registry == "ghcr.io" and ref.repository == "huggingface/text-generation-inference"
    if tgi and (m := _PLAIN.match(tag)):
        return ServingImage(ref, "tgi", m["ver"], "text-generation-inference", m["ver"], False)
    return None


def support_period(base: tuple[str, str]) -> dict[str, str] | None:
    """The DLC support entry (ga, end_of_patch, source) for a base framework version, by major.minor."""
    framework, version = base
    table: dict[str, dict[str, dict[str, str]]] = load_data("dlc-support.json")["frameworks"]
    minor = ".".join(version.split(".")[:2])
    return table.get(framework, {}).get(minor)


def default_names() -> dict[str, object]:
    """What R1-EP-008 / R1-EP-009 messages name, before the serving facts are known."""
    return {
        "serving": "",
        "serving_version": "",
        "advisories": "",
        "advisory_count": 0,
        "fixed_version": "",
        "waived_advisories": "",
        "advisory_store_date": "",
        "vulnerability_threshold": "high",
        "support_end": "",
        "support_base": "",
    }
