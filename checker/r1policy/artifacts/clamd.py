"""A client for the ClamAV daemon (`clamd`), written against its documented socket protocol (clamd(8)):
`zVERSION` once per run, and one `zINSTREAM` session per file or archive member, fed with the same
chunks the scanner hashes (`<4-byte big-endian length><data>` frames, a zero-length frame ends the
stream). Every socket operation has a bounded timeout; an unreachable daemon, an `ERROR` reply, an
answer that is not a verdict, a hang or a stream past `stream_max_bytes` makes the result an error,
never a clean verdict."""

from __future__ import annotations

import os
import re
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import urlsplit

ENV_ADDRESS = "R1POLICY_CLAMD"
FRAME = 1024 * 1024  # bytes per INSTREAM frame (the scanner's small peeks are gathered into frames)
_REPLY_MAX = 4096
_FOUND = re.compile(r"^stream: (\S+) FOUND$")
# clamd flags what it stopped scanning because of its own size or recursion limits as a "virus":
# that is an incomplete scan (an error), not a clean verdict and not malware.
_LIMIT_PREFIX = "Heuristics.Limits.Exceeded"


class ClamdError(Exception):
    """The daemon could not give a verdict (unreachable, error reply, garbage, timeout, limit)."""


@dataclass(frozen=True)
class ClamdSettings:
    address: str  # unix:///path or tcp://host:port
    max_file_bytes: int = 4 * 1024**3
    stream_max_bytes: int = 100 * 1024**2  # clamd's StreamMaxLength (default 100M)
    skip_larger: bool = False
    timeout: float = 60.0

    @property
    def cap(self) -> int:
        """The largest stream that can be judged completely."""
        return min(self.max_file_bytes, self.stream_max_bytes)


@dataclass
class Verdict:
    matches: list[str] = field(default_factory=list)  # signature names
    error: str | None = None


def _connect(address: str, timeout: float) -> socket.socket:
    parts = urlsplit(address)
    try:
        if parts.scheme == "unix":
            path = parts.path or parts.netloc
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.settimeout(timeout)
            try:
                sock.connect(path)
            except OSError:
                sock.close()
                raise
            return sock
        if parts.scheme == "tcp" and parts.hostname and parts.port:
            return socket.create_connection((parts.hostname, parts.port), timeout=timeout)
    except TimeoutError as exc:
        raise ClamdError(f"clamd at {address} did not accept a connection within {timeout:g} s") from exc
    except OSError as exc:
        raise ClamdError(f"clamd at {address} is unreachable: {exc.strerror or exc}") from exc
    raise ClamdError(f"clamd address {address!r} is neither unix:///path nor tcp://host:port")


def _read_reply(sock: socket.socket, address: str, timeout: float) -> str:
    """One NUL-terminated reply, at most 4 KiB; EOF before the NUL is accepted only with content."""
    data = b""
    try:
        while b"\0" not in data and len(data) <= _REPLY_MAX:
            more = sock.recv(_REPLY_MAX)
            if not more:
                break
            data += more
    except TimeoutError as exc:
        raise ClamdError(f"clamd at {address} did not answer within {timeout:g} s") from exc
    except OSError as exc:
        raise ClamdError(f"clamd at {address}: connection failed while reading its answer: {exc}") from exc
    reply = data.split(b"\0", 1)[0]
    if not reply:
        raise ClamdError(f"clamd at {address} closed the connection without an answer")
    if len(reply) > _REPLY_MAX:
        raise ClamdError(f"clamd at {address} sent an answer longer than {_REPLY_MAX} bytes")
    try:
        return reply.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise ClamdError(f"clamd at {address} sent an undecodable answer {reply[:40]!r}") from exc


def parse_verdict(reply: str, address: str) -> list[str]:
    """`stream: OK` -> [], `stream: NAME FOUND` -> [NAME]; anything else is a ClamdError."""
    if reply == "stream: OK":
        return []
    found = _FOUND.match(reply)
    if found:
        name = found.group(1)
        if name.startswith(_LIMIT_PREFIX):
            raise ClamdError(f"clamd stopped at one of its own limits ({name}); the content was not scanned")
        return [name]
    if reply.endswith("ERROR"):
        if "size limit exceeded" in reply:
            raise ClamdError(
                f"clamd refused the stream: {reply} (set malware_scan.stream_max_bytes to clamd's "
                "StreamMaxLength)"
            )
        raise ClamdError(f"clamd reported an error: {reply}")
    raise ClamdError(f"clamd at {address} answered something that is not a verdict: {reply[:80]!r}")


class Clamd:
    def __init__(self, settings: ClamdSettings) -> None:
        self.settings = settings
        self.address = os.environ.get(ENV_ADDRESS) or settings.address

    def version(self) -> str:
        """The daemon's `VERSION` line (engine and signature database); proves it answers."""
        with _connect(self.address, self.settings.timeout) as sock:
            try:
                sock.sendall(b"zVERSION\0")
            except OSError as exc:
                raise ClamdError(f"clamd at {self.address}: cannot send: {exc}") from exc
            reply = _read_reply(sock, self.address, self.settings.timeout)
        if not reply.startswith("ClamAV "):
            raise ClamdError(f"clamd at {self.address} answered VERSION with {reply[:80]!r}")
        return reply

    def stream(self, size: int | None) -> Stream:
        return Stream(self, size)


class Stream:
    """One INSTREAM session, fed incrementally. Errors are recorded, never raised into the scanner:
    the file is still hashed and analysed, and its R1-ART-012 verdict becomes an error."""

    def __init__(self, clamd: Clamd, size: int | None) -> None:
        self._clamd = clamd
        self._settings = clamd.settings
        self._sock: socket.socket | None = None
        self._buffer = bytearray()
        self.sent = 0
        self.error: str | None = None
        self.skipped: str | None = None
        cap = self._settings.cap
        if size is not None and size > cap:
            why = f"{size:,} bytes, larger than the malware scan limit of {cap:,} bytes"
            if self._settings.skip_larger:
                self.skipped = why + " (skip_larger: true)"
            else:
                self.error = why + " (raise malware_scan.max_file_bytes / stream_max_bytes, or skip_larger)"

    @property
    def active(self) -> bool:
        return self.error is None and self.skipped is None

    def feed(self, data: bytes | memoryview) -> None:
        if not self.active:
            return
        self._buffer += data
        if len(self._buffer) >= FRAME:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer or not self.active:
            return
        if self.sent + len(self._buffer) > self._settings.cap:
            self.error = f"the stream is longer than the malware scan limit of {self._settings.cap:,} bytes"
            self._close()
            return
        try:
            if self._sock is None:
                self._sock = _connect(self._clamd.address, self._settings.timeout)
                self._sock.sendall(b"zINSTREAM\0")
            self._sock.sendall(struct.pack("!I", len(self._buffer)) + self._buffer)
        except ClamdError as exc:
            self.error = str(exc)
        except TimeoutError:
            self.error = f"clamd at {self._clamd.address} stopped reading within {self._settings.timeout:g} s"
        except OSError as exc:
            self.error = self._refused(exc)
        self.sent += len(self._buffer)
        self._buffer.clear()
        if self.error:
            self._close()

    def _refused(self, exc: OSError) -> str:
        """The daemon closed the connection mid-stream: its reply (if any) says why."""
        assert self._sock is not None
        try:
            reply = _read_reply(self._sock, self._clamd.address, self._settings.timeout)
            parse_verdict(reply, self._clamd.address)
        except ClamdError as why:
            return str(why)
        return f"clamd at {self._clamd.address} closed the connection mid-stream: {exc}"

    def finish(self) -> Verdict:
        if self.skipped is not None:
            return Verdict()
        self._flush()
        if self.error is None:
            try:
                if self._sock is None:
                    self._sock = _connect(self._clamd.address, self._settings.timeout)
                    self._sock.sendall(b"zINSTREAM\0")
                self._sock.sendall(b"\0\0\0\0")
                reply = _read_reply(self._sock, self._clamd.address, self._settings.timeout)
                return Verdict(matches=parse_verdict(reply, self._clamd.address))
            except ClamdError as exc:
                self.error = str(exc)
            except TimeoutError:
                self.error = (
                    f"clamd at {self._clamd.address} stopped reading within {self._settings.timeout:g} s"
                )
            except OSError as exc:
                self.error = self._refused(exc)
            finally:
                self._close()
        return Verdict(error=self.error)

    def abandon(self) -> None:
        self.error = self.error or "the file could not be read to the end"
        self._close()

    def _close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
