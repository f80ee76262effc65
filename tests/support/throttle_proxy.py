"""A small loopback HTTP proxy in front of the moto server that injects faults (real HTTP).

    faults = [Fault(service="s3", query="versioning", code="AccessDenied", status=403)]
    with fault_proxy(server.endpoint_url, faults) as proxy:
        os.environ["AWS_ENDPOINT_URL"] = proxy.endpoint_url

A request matches a ``Fault`` when every given field matches: ``service`` and ``region`` (from the
SigV4 credential scope), ``operation`` (``X-Amz-Target`` suffix for JSON services, ``Action`` for
query services such as STS), ``query`` (an S3 sub-resource such as ``versioning``, ``policy``,
``encryption``), ``path_contains``, ``body_contains`` (in the URL-decoded request body). The
fault answers in the service's own error format; ``times`` limits how often it fires (None: always).
Everything else is forwarded unchanged, and every forwarded or faulted request is counted in
``proxy.requests``.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "upgrade", "trailer"}
_XML_REST = {"s3", "s3-control", "s3control"}
_QUERY = {"sts", "iam"}


@dataclass
class Fault:
    code: str = "Throttling"
    status: int = 400
    message: str = "injected fault"
    service: str | None = None
    region: str | None = None
    operation: str | None = None
    query: str | None = None
    path_contains: str | None = None
    body_contains: str | None = None  # e.g. an account id in an STS AssumeRole RoleArn
    times: int | None = None
    fired: int = 0

    def matches(self, req: RequestInfo) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        checks = (
            (self.service, req.service),
            (self.region, req.region),
            (self.operation, req.operation),
        )
        if any(want is not None and want != got for want, got in checks):
            return False
        if self.query is not None and self.query not in req.query:
            return False
        if self.body_contains is not None and self.body_contains not in req.body:
            return False
        return self.path_contains is None or self.path_contains in req.path


@dataclass
class RequestInfo:
    method: str
    path: str
    query: dict[str, list[str]]
    service: str
    region: str
    operation: str
    body: str = ""


@dataclass
class FaultProxy:
    upstream: str
    faults: list[Fault]
    port: int = 0
    requests: list[RequestInfo] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _error_body(service: str, fault: Fault) -> tuple[bytes, str]:
    if service in _XML_REST:
        body = f"<Error><Code>{fault.code}</Code><Message>{fault.message}</Message></Error>"
        return body.encode(), "application/xml"
    if service in _QUERY:
        body = (
            "<ErrorResponse><Error><Type>Sender</Type>"
            f"<Code>{fault.code}</Code><Message>{fault.message}</Message></Error></ErrorResponse>"
        )
        return body.encode(), "text/xml"
    return json.dumps({"__type": fault.code, "message": fault.message}).encode(), "application/x-amz-json-1.1"


def _handler(proxy: FaultProxy) -> type[BaseHTTPRequestHandler]:
    upstream = urllib.parse.urlsplit(proxy.upstream)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _info(self, body: bytes) -> RequestInfo:
            parts = urllib.parse.urlsplit(self.path)
            scope = _SCOPE.search(self.headers.get("Authorization", ""))
            region, service = scope.groups() if scope else ("", "")
            target = self.headers.get("X-Amz-Target", "")
            operation = target.rsplit(".", 1)[-1] if target else ""
            if not operation and service in _QUERY:
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                operation = (form.get("Action") or [""])[0]
            query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
            text = urllib.parse.unquote_plus(body.decode("utf-8", "replace"))
            return RequestInfo(self.command, parts.path, query, service, region, operation, text)

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            info = self._info(body)
            with proxy.lock:
                proxy.requests.append(info)
                fault = next((f for f in proxy.faults if f.matches(info)), None)
                if fault is not None:
                    fault.fired += 1
            if fault is not None:
                payload, kind = _error_body(info.service, fault)
                self.send_response(fault.status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("x-amzn-ErrorType", fault.code)
                self.end_headers()
                self.wfile.write(payload)
                return
            conn = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=60)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)
            finally:
                conn.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler


@contextlib.contextmanager
def fault_proxy(upstream: str, faults: list[Fault] | None = None) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream, list(faults or []))
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(proxy))
    server.daemon_threads = True
    proxy.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
