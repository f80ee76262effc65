"""Sessions per account and one client per service and region, with adaptive retries.

An ``AccountSession`` wraps one ``boto3.Session`` (default credential chain, a profile, or an
assumed role) and hands out clients from a cache keyed by (service, region): every collector that
needs ``s3`` in ``eu-west-1`` for this account gets the same client. boto3 itself honours
``AWS_ENDPOINT_URL`` (and ``AWS_ENDPOINT_URL_<SERVICE>``), ``AWS_PROFILE``, ``AWS_REGION``.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import boto3
import botocore.exceptions
from botocore.config import Config

from r1policy.aws.errors import CollectorError, CredentialsError

DEFAULT_REGION = "us-east-1"
MAX_ATTEMPTS = 8
_ACCOUNT_LABEL = re.compile(r"^(https?://)\d{12}\.")
_UNREACHABLE = (
    botocore.exceptions.EndpointConnectionError,
    botocore.exceptions.ConnectTimeoutError,
    botocore.exceptions.ReadTimeoutError,
)


def max_attempts() -> int:
    """``AWS_MAX_ATTEMPTS`` (the standard boto3 setting) when set, else 8 attempts per call."""
    value = os.environ.get("AWS_MAX_ATTEMPTS", "")
    return int(value) if value.isdigit() and int(value) > 0 else MAX_ATTEMPTS


def client_config(max_pool_connections: int = 16) -> Config:
    return Config(
        retries={"mode": "adaptive", "total_max_attempts": max_attempts()},
        connect_timeout=10,
        read_timeout=30,
        max_pool_connections=max_pool_connections,
        user_agent_extra="r1policy",
    )


def custom_endpoint() -> str | None:
    """The endpoint set through the environment (a test server, a proxy), if any."""
    return os.environ.get("AWS_ENDPOINT_URL") or None


def _drop_account_label(request: Any, **_: Any) -> None:
    # S3 Control puts the account id in front of the host: 123456789012.127.0.0.1 does not resolve.
    request.url = _ACCOUNT_LABEL.sub(r"\1", request.url, count=1)


def install_s3control_fix(session: boto3.Session) -> None:
    """Let S3 Control reach a custom endpoint: drop the account-id host label from the URL.

    A ``before-sign`` handler (not ``before-send``), so that the SigV4 signature covers the host
    actually contacted (a server that verifies signatures, such as moto with IAM enforcement on,
    accepts it). Register on the session before creating the ``s3control`` client (clients copy
    the session's event handlers when they are created). Only needed with a custom endpoint.
    """
    session.events.register("before-sign.s3-control", _drop_account_label)


@dataclass
class AccountSession:
    """One AWS account as seen through one set of credentials."""

    session: boto3.Session
    label: str  # "default", "profile:<name>", "role:<arn>"
    default_region: str
    account_id: str = ""
    arn: str = ""
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _hooks: list[tuple[str, Callable[..., Any]]] = field(default_factory=list, repr=False)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region or self.default_region)
        with self._lock:
            found = self._clients.get(key)
            if found is None:
                found = self.session.client(service, region_name=key[1], config=client_config())
                for event, handler in self._hooks:
                    found.meta.events.register(event, handler)
                self._clients[key] = found
            return found

    def on_event(self, event: str, handler: Callable[..., Any]) -> None:
        """Register a botocore event handler on every client of this session (now and later)."""
        with self._lock:
            self._hooks.append((event, handler))
            for found in self._clients.values():
                found.meta.events.register(event, handler)


_LOADERS: dict[Any, Any] = {}  # botocore data loaders by data path, shared by every session
_LOADERS_LOCK = threading.Lock()


def _core_session(profile: str | None) -> Any:
    """A botocore session whose data loader is the process's shared one for its data path.

    A client's creation is mostly the loading and parsing of its service's model, endpoint rule set
    and the endpoints / partitions data; a loader caches what it parsed, but each new session has its
    own. An organization audit opens a session per account, so without sharing every account's
    clients parse the same files again (each account task, on threads or on a Dask worker). The data
    path is the session's own (``AWS_DATA_PATH``, the profile's ``data_path``), so a session sees
    exactly the files it would have read.
    """
    import botocore.loaders
    import botocore.session

    core = botocore.session.Session(profile=profile)
    path = core.get_config_variable("data_path")
    with _LOADERS_LOCK:
        loader = _LOADERS.get(path)
        if loader is None:
            loader = _LOADERS[path] = botocore.loaders.create_loader(path)
    core.register_component("data_loader", loader)
    return core


def _shared_paths(session: boto3.Session) -> None:
    # boto3 appends its own data folder to the (now shared) loader's search paths for every session.
    loader = session._session.get_component("data_loader")
    with _LOADERS_LOCK:
        loader.search_paths[:] = list(dict.fromkeys(loader.search_paths))


def _new_session(**kwargs: Any) -> boto3.Session:
    try:
        session = boto3.Session(botocore_session=_core_session(kwargs.get("profile_name")), **kwargs)
    except botocore.exceptions.ProfileNotFound as exc:
        raise CredentialsError(f"AWS profile not found: {exc}") from exc
    _shared_paths(session)
    if custom_endpoint():
        install_s3control_fix(session)
    return session


def identify(account: AccountSession) -> AccountSession:
    """Check the credentials with STS GetCallerIdentity and record the account id."""
    from r1policy.aws.errors import classify

    try:
        who = account.client("sts").get_caller_identity()
    except botocore.exceptions.NoCredentialsError as exc:
        raise CredentialsError(
            f"no AWS credentials for {account.label}: configure a profile, environment variables "
            "or an instance role (the standard boto3 credential chain)"
        ) from exc
    except botocore.exceptions.ClientError as exc:
        raise CredentialsError(
            f"AWS credentials for {account.label} were refused by STS: {classify(exc)} "
            "(expired or invalid? refresh them, e.g. `aws sso login`)"
        ) from exc
    except _UNREACHABLE as exc:
        raise CollectorError(f"cannot reach AWS STS for {account.label}: {exc}") from exc
    except botocore.exceptions.BotoCoreError as exc:  # SSO token, credential process, partial keys ...
        raise CredentialsError(f"AWS credentials for {account.label} could not be loaded: {exc}") from exc
    account.account_id = str(who["Account"])
    account.arn = str(who["Arn"])
    return account


def _region(session: boto3.Session, region: str | None) -> str:
    return region or session.region_name or DEFAULT_REGION


def default_account(region: str | None = None) -> AccountSession:
    session = _new_session()
    return identify(AccountSession(session, "default credentials", _region(session, region)))


def profile_account(profile: str, region: str | None = None) -> AccountSession:
    session = _new_session(profile_name=profile)
    return identify(AccountSession(session, f"profile {profile}", _region(session, region)))


def assumed_account(base: AccountSession, role_arn: str, region: str | None = None) -> AccountSession:
    """Assume a (read-only) role with STS and return a session for the role's account."""
    from r1policy.aws.errors import classify

    try:
        creds = base.client("sts").assume_role(RoleArn=role_arn, RoleSessionName="r1policy-audit")[
            "Credentials"
        ]
    except botocore.exceptions.NoCredentialsError as exc:
        raise CredentialsError(f"no AWS credentials to assume {role_arn} with") from exc
    except botocore.exceptions.ClientError as exc:
        raise CredentialsError(f"cannot assume role {role_arn}: {classify(exc)}") from exc
    except _UNREACHABLE as exc:
        raise CollectorError(f"cannot reach AWS STS to assume {role_arn}: {exc}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise CredentialsError(f"cannot assume role {role_arn}: {exc}") from exc
    session = _new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=region or base.default_region,
    )
    return identify(AccountSession(session, f"role {role_arn}", region or base.default_region))


def open_accounts(
    *, profiles: list[str] | None = None, role_arns: list[str] | None = None, region: str | None = None
) -> list[AccountSession]:
    """Sessions for the requested accounts: profiles, roles (assumed from the default chain), or
    the default credential chain alone. Raises ``CredentialsError`` (exit 2) with a clear message."""
    accounts: list[AccountSession] = [profile_account(p, region) for p in profiles or []]
    if role_arns:
        base = default_account(region)
        accounts.extend(assumed_account(base, arn, region) for arn in role_arns)
    if not accounts:
        accounts.append(default_account(region))
    seen: set[str] = set()
    unique = []
    for account in accounts:
        if account.account_id not in seen:
            seen.add(account.account_id)
            unique.append(account)
    return unique
