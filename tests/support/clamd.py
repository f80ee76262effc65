"""A real ClamAV daemon for the tests: Debian's `clamd` on a unix socket in a temporary folder, with a
signature database the test writes (ClamAV's .ndb body signatures and .hdb MD5 signatures; the official
database is never downloaded). Plus two misbehaving daemons (garbage answers, a hang) as plain socket
servers, for the fail-closed tests."""

from __future__ import annotations

import hashlib
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Distinctive byte strings the test signatures match; none occurs in real model files.
MARKER = b"R1POLICY-TEST-MALWARE-MARKER-7f3a9c"
MARKER_SIGNATURE = "R1policy.Test.Marker-1.UNOFFICIAL"
EXACT_FILE = b"an exact payload matched by its MD5 (.hdb)\n"
EXACT_SIGNATURE = "R1policy.Test.Exact-1.UNOFFICIAL"


def clamd_binary() -> str | None:
    for candidate in ("clamd", "/usr/sbin/clamd", "/usr/local/sbin/clamd"):
        found = shutil.which(candidate)
        if found:
            return found
    return None


@dataclass
class ClamdServer:
    address: str  # unix:///…/clamd.sock
    socket_path: Path
    log: Path
    conf: Path
    pid: int


@contextmanager
def run_clamd(folder: Path, stream_max: str = "8M", extra_config: str = "") -> Iterator[ClamdServer]:
    """`extra_config`: more clamd.conf lines (the benchmark sets DisableCache and the size limits)."""
    binary = clamd_binary()
    assert binary, "clamd is not installed"
    db = folder / "db"
    db.mkdir(parents=True)
    (db / "r1test.ndb").write_text(f"R1policy.Test.Marker-1:0:*:{MARKER.hex()}\n")
    md5 = hashlib.md5(EXACT_FILE).hexdigest()
    (db / "r1test.hdb").write_text(f"{md5}:{len(EXACT_FILE)}:R1policy.Test.Exact-1\n")
    sock = folder / "clamd.sock"
    log = folder / "clamd.log"
    conf = folder / "clamd.conf"
    conf.write_text(
        f"DatabaseDirectory {db}\nLocalSocket {sock}\nForeground yes\nLogFile {log}\n"
        f"StreamMaxLength {stream_max}\nMaxThreads 4\n{extra_config}"
    )
    proc = subprocess.Popen(
        [binary, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        while not _answers(sock):
            if proc.poll() is not None:
                why = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"clamd exited with {proc.returncode}: {why}")
            if time.monotonic() > deadline:
                raise RuntimeError("clamd did not open its socket within 60 s")
            time.sleep(0.1)
        yield ClamdServer(f"unix://{sock}", sock, log, conf, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _answers(sock: Path) -> bool:
    if not sock.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(2)
            s.connect(str(sock))
            s.sendall(b"zPING\0")
            return s.recv(16).startswith(b"PONG")
    except OSError:
        return False


@contextmanager
def fake_clamd(folder: Path, behaviour: str, version: str = "ClamAV 1.4.6") -> Iterator[str]:
    """A unix-socket server that answers VERSION with `version` and then, to INSTREAM: `garbage`
    (a reply that is no verdict), `hang` (reads the stream, never answers), `close` (hangs up at once)."""
    path = folder / f"fake-{behaviour}.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(16)
    stop = threading.Event()

    def handle(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(30)
            try:
                command = conn.recv(16)
                if command.startswith(b"zVERSION"):
                    conn.sendall(version.encode() + b"\0")
                    return
                if behaviour == "close":
                    return
                while not stop.is_set():
                    data = conn.recv(1 << 16)
                    if not data or data.endswith(b"\0\0\0\0"):
                        break
                if behaviour == "garbage":
                    conn.sendall(b"\x89PNG this is not a clamd verdict\0")
                else:
                    stop.wait(30)
            except OSError:
                return

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"unix://{path}"
    finally:
        stop.set()
        thread.join(5)
        server.close()
