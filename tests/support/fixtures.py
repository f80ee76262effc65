"""pytest plugin: ``moto_server_session`` (one patched moto server per test session) and ``moto_env``.

``moto_env`` points boto3 at that server for one test (``AWS_ENDPOINT_URL``, fake credentials,
``AWS_DEFAULT_REGION=us-east-1``, no shared config/credentials files, no profile) and resets the
server's state before and after the test, so every test starts from an empty AWS world with IAM
enforcement off. It yields the ``MotoServer`` (``.endpoint_url``, ``.port``, ``.reset()``,
``.set_auth(n)``). Registered in ``tests/conftest.py`` via ``pytest_plugins``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.motoserver import MotoServer, moto_server

FAKE_ACCOUNT_ID = "123456789012"  # moto's default account


@pytest.fixture(scope="session")
def moto_server_session() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def moto_env(
    moto_server_session: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[MotoServer]:
    server = moto_server_session
    server.reset()
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_REGION",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config-absent"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials-absent"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        yield server
    finally:
        server.reset()
