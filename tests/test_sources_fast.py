"""Shortcuts of the readers (issue 23 item 2) decide exactly as the straightforward path: a server's
reading of an environment is decided once per distinct environment."""

from __future__ import annotations

import pytest

from r1policy.sources import servers
from r1policy.sources.servers import Family

ENVS = [
    {},
    {"HF_MODEL_ID": "deepseek-ai/DeepSeek-R1", "SM_NUM_GPUS": "1"},
    {"HF_MODEL_ID": "a/b", "MODEL_ID": "c/d"},  # a conflict
    {"HF_MODEL_ID": "a/b", "HF_MODEL_REVISION": " main ", "HF_MODEL_TRUST_REMOTE_CODE": "TRUE"},
    {"OPTION_MODEL_ID": "a/b", "OPTION_TRUST_REMOTE_CODE": "false", "HF_MODEL_ID": ""},
]


@pytest.mark.parametrize("family", list(Family))
@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("props", [None, {}, {"option.model_id": "x/y"}])
@pytest.mark.parametrize("entrypoint", [True, False])
def test_a_server_view_is_decided_once_per_environment(
    family: Family,
    env: dict[str, str],
    props: dict[str, str] | None,
    entrypoint: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(servers, "_VIEWS", {})
    first = servers.read_env(family, env, props, sagemaker_entrypoint=entrypoint)
    decided: list[object] = []
    original = servers._decide

    def counting(*args: object) -> object:
        decided.append(args)
        return original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(servers, "_decide", counting)
    again = servers.read_env(
        family, dict(env), dict(props) if props is not None else None, sagemaker_entrypoint=entrypoint
    )
    assert again == first and decided == []
    monkeypatch.setattr(servers, "_VIEWS", {})
    assert servers.read_env(family, env, props, sagemaker_entrypoint=entrypoint) == first
    assert len(decided) == 3


def test_an_environment_that_cannot_be_a_key_is_decided_without_the_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(servers, "_VIEWS", {})
    odd = {"HF_MODEL_ID": "a/b", "X": ["not", "a", "string"]}
    view = servers.read_env(Family.TGI, odd)  # type: ignore[arg-type]
    assert view.model.value == "a/b" and servers._VIEWS == {}
