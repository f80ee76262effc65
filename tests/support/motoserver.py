"""A real moto server on loopback, in its own process, with moto's SageMaker and IAM gaps patched.

Usage (tests use the ``moto_env`` fixture from ``tests/support/fixtures.py`` instead)::

    from tests.support.motoserver import moto_server

    with moto_server() as server:          # MotoServer: .endpoint_url, .port, .stop()
        os.environ["AWS_ENDPOINT_URL"] = server.endpoint_url
        ...                                # boto3 talks real HTTP to 127.0.0.1:<port>
        server.reset()                     # POST /moto-api/reset: empty world
        server.set_auth(0)                 # IAM enforcement on from the next request (0 = at once)
        server.set_latency(30)             # every later request answered 30 ms late (benchmarks)

Scripts outside ``tests/`` (demo, benchmarks) put the repository root on ``sys.path`` first.

The server runs as ``python tests/support/motoserver.py`` in a child process: it binds port 0 on
127.0.0.1, prints the port on stdout and serves until its stdin closes (so it dies with the parent).
Patched in the child, inside moto's own classes (the client side is never touched):

* SageMaker CreateEndpointConfig accepts the current GPU/accelerator families (g5, g6, g6e, p4d,
  p4de, p5, p5e, p5en, inf2, trn1, trn1n), which moto 5.2.5 rejects.
* CreateModel keeps ``EnableNetworkIsolation`` and reports no ``VpcConfig`` when none was set
  (moto returns ``false`` and ``{}``).
* CreateEndpointConfig keeps ``ExecutionRoleArn``, ``EnableNetworkIsolation`` and ``VpcConfig``.
* Bucket policies are evaluated with ``aws:SecureTransport`` true (moto evaluates conditions without
  a request context, so a TLS-only policy denied every object read over the plain-HTTP test server).
* Inference components (Create/Describe/List/DeleteInferenceComponent), which moto lacks:
  ``tests/support/moto_components.py``.
* S3 checksums: HeadObject's composite ``<base64>-<parts>`` and ``ChecksumType``, GetObjectAttributes
  ``ObjectParts``, and a test-only fault that corrupts one part behind its stored checksum:
  ``tests/support/moto_s3checksums.py``.
* With IAM enforcement on (``set_auth``), every request r1policy makes is authorised under its real
  IAM action name from ``tests/support/iam_actions.py`` (``s3:GetEncryptionConfiguration``,
  ``s3:ListAllMyBuckets``, ``s3:GetAccountPublicAccessBlock`` …), whatever the installed moto computes
  (5.2.5 checks ``s3:ListBucket`` for several bucket reads, 5.2.6 the operation name).

A per-request latency (``set_latency(ms)``, ``POST /r1policy-test/latency``; off by default): the
server sleeps that long in the request's own thread before answering, as a regional AWS endpoint's
round trip does, so concurrent requests wait side by side while moto's CPU stays what it was. For
benchmarks: on loopback moto answers in about a millisecond, so the work a client does is all CPU
and threads cannot show what they gain against AWS.

S3 Control against a custom endpoint: botocore prefixes the host with the account id, which does
not resolve on loopback. That fix lives on the client side of the product, not here:
``r1policy.aws.session.install_s3control_fix(session)`` registers a ``before-sign.s3-control``
handler that drops the label (before signing, so that the signature matches the host contacted);
``r1policy.aws`` sessions install it whenever a custom endpoint (``AWS_ENDPOINT_URL``) is set, so
tests and scripts seeding account-level Block Public Access with their own boto3 session call it
themselves (``tests/support/awsworld.py`` does).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_NEW_FAMILIES = re.compile(r"^ml\.(g5|g6|g6e|p4d|p4de|p5|p5e|p5en|inf2|trn1|trn1n)\.[0-9]*x?large$")
_START_TIMEOUT = 90.0
LATENCY_PATH = "/r1policy-test/latency"


def apply_moto_patches() -> None:
    """Patch moto's SageMaker model classes in this process (idempotent)."""
    from moto.sagemaker import models, responses

    if getattr(models, "_r1policy_patched", False):
        return
    models._r1policy_patched = True  # type: ignore[attr-defined]

    config_cls: Any = models.FakeEndpointConfig
    original_validate = config_cls.validate_instance_type

    def validate_instance_type(self: Any, instance_type: str) -> None:
        if _NEW_FAMILIES.match(instance_type or ""):
            return
        original_validate(self, instance_type)

    config_cls.validate_instance_type = validate_instance_type

    response_cls: Any = responses.SageMakerResponse
    original_create_model = response_cls.create_model
    original_create_config = response_cls.create_endpoint_config

    def create_model(self: Any) -> Any:
        result = original_create_model(self)
        model = self.sagemaker_backend._models[self._get_param("ModelName")]
        model.enable_network_isolation = bool(self._get_param("EnableNetworkIsolation", False))
        if not model.vpc_config:
            model.vpc_config = None  # dropped from the response, as AWS does
        return result

    def create_endpoint_config(self: Any) -> Any:
        result = original_create_config(self)
        config = self.sagemaker_backend.endpoint_configs[self._get_param("EndpointConfigName")]
        for attr, param in (
            ("execution_role_arn", "ExecutionRoleArn"),
            ("enable_network_isolation", "EnableNetworkIsolation"),
            ("vpc_config", "VpcConfig"),
        ):
            value = self._get_param(param)
            if value is not None:
                setattr(config, attr, value)
        return result

    response_cls.create_model = create_model
    response_cls.create_endpoint_config = create_endpoint_config
    _patch_iam_action_names()
    _patch_secure_transport()
    from tests.support.moto_components import patch_inference_components

    patch_inference_components()
    from tests.support.motoorg import apply_org_patches

    apply_org_patches()  # Organizations: AssumeRole honours trust policies; account ListRegions
    from tests.support.moto_s3checksums import patch_s3_checksums

    patch_s3_checksums()  # composite checksums on HeadObject, ObjectParts, a test-only tamper fault


def _patch_secure_transport() -> None:
    """Evaluate bucket policies as AWS does for boto3's HTTPS requests: ``aws:SecureTransport`` true.

    moto ignores the ``Bool`` condition operator and evaluates conditions without a request context,
    so a TLS-only policy (Deny when ``aws:SecureTransport`` is false) denied every object read on the
    plain-HTTP test server. A statement whose only condition is ``Bool aws:SecureTransport`` is kept
    when that condition holds for an HTTPS request and dropped otherwise; moto judges the rest.
    """
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3 import models

    def holds(statement: dict[str, Any]) -> bool:
        condition = statement.get("Condition")
        if not isinstance(condition, dict) or set(condition) != {"Bool"}:
            return True
        values = condition["Bool"]
        if not isinstance(values, dict) or set(values) != {"aws:SecureTransport"}:
            return True
        wanted = values["aws:SecureTransport"]
        wanted = wanted if isinstance(wanted, list) else [wanted]
        return "true" in [str(w).lower() for w in wanted]

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        doc = json.loads(self.policy.decode())
        statements = doc["Statement"] if isinstance(doc["Statement"], list) else [doc["Statement"]]
        kept = []
        for statement in statements:
            if holds(statement):
                bare = {k: v for k, v in statement.items() if k != "Condition"}
                kept.append(statement if "Bool" not in (statement.get("Condition") or {}) else bare)
        if not kept:
            return PermissionResult.NEUTRAL
        return IAMPolicy(json.dumps({**doc, "Statement": kept})).is_action_permitted(action, resource)

    models.FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _patch_iam_action_names() -> None:
    """With IAM enforcement on, authorise each request under its real IAM action name.

    Keyed by behaviour, not by moto version: the operation is told from the request itself and
    mapped through ``tests/support/iam_actions.py``, whatever action name the installed moto computed.
    """
    from moto.iam import access_control
    from tests.support.iam_actions import iam_action

    base_init = access_control.IAMRequestBase.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        base_init(self, *args, **kwargs)
        real = iam_action(self._service, self._method, self._path, self._headers, self._data)
        if real is not None:
            self._action = real

    access_control.IAMRequestBase.__init__ = init  # type: ignore[method-assign]


@dataclass
class MotoServer:
    """A running moto server child process."""

    port: int
    process: subprocess.Popen[str] = field(repr=False)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _post(self, path: str, body: bytes = b"") -> dict[str, Any]:
        request = urllib.request.Request(
            self.endpoint_url + path,
            data=body,
            method="POST",
            headers={"Content-Type": "text/plain"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            data: dict[str, Any] = json.loads(response.read() or b"{}")
        return data

    def reset(self) -> None:
        """Forget every resource (and switch IAM enforcement off again)."""
        self.set_auth(None)
        self._post("/moto-api/reset")

    def set_auth(self, initial_no_auth_action_count: int | None) -> None:
        """Enforce IAM after that many unauthenticated requests (None: never enforce)."""
        value = "inf" if initial_no_auth_action_count is None else str(initial_no_auth_action_count)
        self._post("/moto-api/reset-auth", value.encode())

    def set_latency(self, milliseconds: float) -> None:
        """Answer every later request that many milliseconds late (0: at once, the default)."""
        self._post(LATENCY_PATH, str(float(milliseconds)).encode())

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        if self.process.stdin is not None:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_moto_server(env: dict[str, str] | None = None) -> MotoServer:
    """Start the patched moto server in a child process on a free loopback port."""
    child_env = dict(os.environ if env is None else env)
    # The server must not pick up the caller's own endpoint or IAM switches by accident.
    child_env.pop("AWS_ENDPOINT_URL", None)
    child_env.pop("INITIAL_NO_AUTH_ACTION_COUNT", None)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve())],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=child_env,
    )
    assert process.stdout is not None
    result: list[str] = []
    reader = threading.Thread(target=lambda: result.append(process.stdout.readline()), daemon=True)  # type: ignore[union-attr]
    reader.start()
    reader.join(_START_TIMEOUT)
    line = result[0].strip() if result else ""
    if not line.isdigit():
        process.kill()
        process.wait()
        raise RuntimeError(f"moto server did not start (first line of output: {line!r})")
    return MotoServer(port=int(line), process=process)


@contextlib.contextmanager
def moto_server() -> Iterator[MotoServer]:
    """Run a patched moto server for the duration of the block."""
    server = start_moto_server()
    try:
        yield server
    finally:
        server.stop()


def _patch_latency() -> None:
    """A per-request delay, set over HTTP (``MotoServer.set_latency``), slept in the request's thread."""
    import time

    from moto.moto_server.werkzeug_app import DomainDispatcherApplication

    delay = [0.0]
    serve = DomainDispatcherApplication.__call__

    def call(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == LATENCY_PATH and environ.get("REQUEST_METHOD") == "POST":
            size = int(environ.get("CONTENT_LENGTH") or 0)
            delay[0] = max(float(environ["wsgi.input"].read(size) or 0), 0.0) / 1000
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b"{}"]
        if delay[0]:
            time.sleep(delay[0])
        return serve(self, environ, start_response)

    DomainDispatcherApplication.__call__ = call  # type: ignore[method-assign]


def _serve() -> None:
    apply_moto_patches()
    _patch_latency()
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    _, port = server.get_host_and_port()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    sys.stdin.read()  # returns when the parent closes our stdin or exits
    server.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository root: tests.support
    _serve()
