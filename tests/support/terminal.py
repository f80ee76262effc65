"""Run the CLI as a subprocess with stdout or stderr on a pseudo-terminal (`pty.openpty`), as on a
developer's terminal; the other stream is a pipe."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str


def _drain(fd: int, into: list[bytes]) -> None:
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return
        if not chunk:
            return
        into.append(chunk)


def run(
    *args: str | Path,
    terminal: Literal["stdout", "stderr"] | None,
    columns: int = 120,
    env: dict[str, str | None] | None = None,
    cwd: Path | None = None,
) -> Run:
    """`python -m r1policy ARGS`; `terminal` names the stream on the pty (None: both are pipes).
    The pty is `columns` wide (0: a terminal that reports no size); `env` overrides the environment
    (None as a value removes the variable). TERM is xterm-256color, COLUMNS unset unless given."""
    full = {**os.environ, "TERM": "xterm-256color"}
    full.pop("COLUMNS", None)
    for key, value in (env or {}).items():
        if value is None:
            full.pop(key, None)
        else:
            full[key] = value
    command = [sys.executable, "-m", "r1policy", *map(str, args)]
    if terminal is None:
        done = subprocess.run(command, capture_output=True, text=True, env=full, cwd=cwd, timeout=300)
        return Run(done.returncode, done.stdout, done.stderr)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    received: list[bytes] = []
    reader = threading.Thread(target=_drain, args=(master, received))
    streams = (
        {"stdout": slave, "stderr": subprocess.PIPE}
        if terminal == "stdout"
        else {
            "stdout": subprocess.PIPE,
            "stderr": slave,
        }
    )
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, env=full, cwd=cwd, **streams)
        os.close(slave)
        reader.start()
        piped, _ = proc.communicate(timeout=300)
        reader.join(timeout=30)
    finally:
        os.close(master)
    on_tty = b"".join(received).decode(errors="replace")
    other = piped.decode() if piped is not None else ""
    if terminal == "stdout":
        return Run(proc.returncode, on_tty, other)
    return Run(proc.returncode, other, on_tty)
