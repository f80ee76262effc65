"""Hub repositories for tests and the Hub benchmark, served by tests/support/hubserver.py.

Each fixture is named by what it is (a clean pinned distill, the full R1 with `auto_map`, a disabled
repository, ...); the commits are fixed so that tests can pin them. File contents are tiny stand-ins;
sizes and digests in the metadata are the ones of these bytes, so `lock` and `scan` agree with them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.support.hubserver import Lfs, RepoFixture

DISTILL = "deepseek-ai/DeepSeek-R1-Distill-Llama-8B"
DISTILL_SHA = "6a6f4aa4197940add57724a7707d069478df56b1"
DISTILL_TAG_SHA = DISTILL_SHA
R1 = "deepseek-ai/DeepSeek-R1"
R1_SHA = "56d4cbbb4d29f4355bab4b9a39ccb717a14ad5ad"
DISABLED = "deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B"
GATED = "deepseek-ai/DeepSeek-R1-Distill-Qwen-7B"
FLAGGED = "deepseek-ai/DeepSeek-R1-Distill-Qwen-14B"
SCAN_PENDING = "deepseek-ai/DeepSeek-R1-Distill-Qwen-32B"
REREGISTERED = "deepseek-ai/DeepSeek-R1-Distill-Llama-70B"
TYPOSQUAT = "deepseek-al/DeepSeek-R1-Distill-Llama-8B"
RATE_LIMITED = "deepseek-ai/DeepSeek-V3"
BROKEN = "deepseek-ai/DeepSeek-V3-Base"
SLOW = "deepseek-ai/DeepSeek-R1-Zero"
UNKNOWN_SIZE = "acme-ai/llama-70b-ft"
UNVERIFIED = "acme-ai/llama-8b-ft"

SHAS = {
    DISABLED: "ad9f0ae0864d7fbcd1cd905e3c6c5b069cc8b562",
    GATED: "916b56a44061fd5cd7d6a8fb632557ed4f724f60",
    FLAGGED: "1df8507178afcc1bef68cd8c393f61a886323761",
    SCAN_PENDING: "711ad2ea6aa40cfca18895e8aca02ab92df1a746",
    REREGISTERED: "b1c0b44b4369b597ad119a196caf79a9c40e141e",
    TYPOSQUAT: "e2a6c7a8b4d6f8e0a2c4e6a8b0d2f4a6c8e0a2c4",
    RATE_LIMITED: "86d9e0f4a3f1b4f5d0c4e0f7a6b5c4d3e2f1a0b9",
    BROKEN: "4c1f24cc5d1a4c0b6f3e2d1c0b9a8f7e6d5c4b3a",
    SLOW: "fd1b1cb5a0cb7d1c3e5f7a9b1d3f5a7c9e1b3d5f",
    UNKNOWN_SIZE: "0a1b2c3d4e5f60718293a4b5c6d7e8f901234567",
    UNVERIFIED: "1a2b3c4d5e6f708192a3b4c5d6e7f80912345678",
}
REPO_IDS = {DISTILL: "678e2a5b01ac2c3c1bd3a4b8", R1: "678dc6fff905d106be796d8a"}
GATED_TOKEN = "hf_" + "approved" * 4  # the token of an account whose access request was approved
LOCKED_REPO_ID = "5f1e0c3d2b4a69788796a5b4"  # what an older lock recorded for REREGISTERED

LLAMA_CONFIG = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "torch_dtype": "bfloat16"}
R1_CONFIG = {
    "architectures": ["DeepseekV3ForCausalLM"],
    "model_type": "deepseek_v3",
    "auto_map": {
        "AutoConfig": "configuration_deepseek.DeepseekV3Config",
        "AutoModel": "modeling_deepseek.DeepseekV3Model",
        "AutoModelForCausalLM": "modeling_deepseek.DeepseekV3ForCausalLM",
    },
}


def _files(config: dict[str, object], weights: bytes = b"weights-0") -> dict[str, bytes | Lfs]:
    return {
        "config.json": json.dumps(config).encode(),
        "generation_config.json": b'{"do_sample": true, "temperature": 0.6}',
        "tokenizer_config.json": b'{"tokenizer_class": "LlamaTokenizerFast"}',
        "model-00001-of-000002.safetensors": Lfs(content=weights + b"-a"),
        "model-00002-of-000002.safetensors": Lfs(content=weights + b"-b"),
    }


def _repo(repo: str, **kwargs: object) -> RepoFixture:
    base: dict[str, object] = {
        "files": _files(LLAMA_CONFIG),
        "sha": SHAS.get(repo, DISTILL_SHA),
        "repo_id": REPO_IDS.get(repo, "6790" + SHAS.get(repo, DISTILL_SHA)[:20]),
        "safetensors": {"BF16": 8030261248},
    }
    base.update(kwargs)
    return RepoFixture(repo, **base)  # type: ignore[arg-type]


def all_fixtures() -> list[RepoFixture]:
    r1_files = _files(R1_CONFIG, b"r1")
    r1_files["configuration_deepseek.py"] = b"# configuration code (never executed by r1policy)\n"
    r1_files["modeling_deepseek.py"] = b"# modeling code (never executed by r1policy)\n"
    return [
        _repo(DISTILL, refs={"main": DISTILL_SHA, "v1.0": DISTILL_TAG_SHA}),
        _repo(
            R1,
            files=r1_files,
            sha=R1_SHA,
            safetensors={"BF16": 3918786560, "F8_E4M3": 680571043840, "F32": 41555600},
        ),
        _repo(DISABLED, disabled=True),
        _repo(GATED, gated="manual", gated_access=False, gated_token=GATED_TOKEN),
        _repo(FLAGGED, flagged=[("model-00001-of-000002.safetensors", "unsafe")]),
        _repo(SCAN_PENDING, scans_done=False),
        _repo(REREGISTERED),
        _repo(TYPOSQUAT),
        _repo(RATE_LIMITED, fail_first=2),
        _repo(BROKEN, always_status=500),
        _repo(SLOW, delay=1.0),
        _repo(UNKNOWN_SIZE, safetensors={"BF16": 70553706496}),
        _repo(UNVERIFIED),
    ]


ORGS = {"deepseek-ai": True, "acme-ai": False}


def shared_repos(n_repos: int) -> list[RepoFixture]:
    """`n_repos` clean repositories of a trusted publisher, each at its own commit."""
    out = []
    for i in range(n_repos):
        sha = hashlib.sha1(f"bench-{i}".encode()).hexdigest()
        out.append(_repo(f"deepseek-ai/bench-model-{i:02d}", sha=sha, repo_id=f"6791{sha[:20]}"))
    return out


def write_hub_manifests(folder: Path, repos: list[RepoFixture], n_manifests: int) -> None:
    """`n_manifests` compliant Hub-sourced manifests cycling through `repos`, each pinned to its commit."""
    import yaml

    from r1policy.commands.policytest import base_manifest, load_base, patch

    base = base_manifest(load_base(), hub=True)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_manifests):
        repo = repos[i % len(repos)]
        doc = patch(
            base,
            {
                "metadata": {"name": f"hub-deployment-{i:03d}"},
                "spec": {
                    "model": {"hub": {"repo": repo.repo, "revision": repo.sha}},
                    "endpoint": {"name": f"hub-endpoint-{i:03d}"},
                },
            },
        )
        (folder / f"deploy-{i:03d}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))


def write_example_cache(root: Path) -> None:
    """examples/hub-cache: the Hub's answer for the repositories described in policies/cases-base.yaml
    (key `hub`), in the response-cache format, so that `make demo` checks examples/hub offline.

    Regenerate: `.venv/bin/python -c "from tests.support.hubfixtures import write_example_cache as w;
    from pathlib import Path; w(Path('examples/hub-cache'))"` (tests/test_hub_examples.py compares).
    """
    from r1policy.commands.policytest import load_base
    from r1policy.hub.cache import HubCache
    from r1policy.hub.record import RepoRecord

    cache = HubCache(root)
    base = load_base()
    for repo, entry in base["hub"]["repos"].items():
        cache.put_record(RepoRecord.from_json({**entry, "repo": repo}))
    for org, verified in base["hub"]["orgs"].items():
        cache.put_org(org, bool(verified))
