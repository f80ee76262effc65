"""Write files all-or-nothing: each file goes to a temporary file beside its target and is renamed into
place only when every temporary file has been written (a rename within one directory is atomic, so a
reader sees the old file or the new one, never a part). Special files (a FIFO, /dev/stdout) are written
directly. A failure is an OutputError naming the file; no target was touched.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from r1policy.core.errors import OutputError

# What a file holds: text (written as UTF-8, newlines as they are), or UTF-8 chunks written in order
# (a format that encodes its own output: a large report's lines, with no copy of the whole). Chunks
# may be made as they are written (a generator): a failure while making them, of whatever kind,
# leaves no file behind, as a failure to write does.
Content = str | Iterable[bytes]


def _open(where: int | Path, content: Content) -> IO[Any]:
    binary = not isinstance(content, str)
    if isinstance(where, int):
        if binary:
            return os.fdopen(where, "wb", buffering=_CHUNK_BUFFER)
        return os.fdopen(where, "w", encoding="utf-8", errors=_UNWRITABLE, newline="")
    if binary:
        return where.open("wb", buffering=_CHUNK_BUFFER)
    return where.open("w", encoding="utf-8", errors=_UNWRITABLE, newline="")


# A lone surrogate (redaction writes a finding's as the byte it stands for; one may be left in a text no
# finding holds) is written as `\udcff`: in a JSON string that is its escape, elsewhere readable.
_UNWRITABLE = "backslashreplace"


_CHUNK_BUFFER = 1 << 20  # chunks of about a kilobyte: a write system call per megabyte


def _write(handle: IO[Any], content: Content) -> None:
    if isinstance(content, str):
        handle.write(content)
    else:
        handle.writelines(content)


def _temporary(target: Path, text: Content) -> Path:
    import tempfile  # only when a file is written: not when a report goes to stdout

    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    try:
        with _open(fd, text) as handle:
            _write(handle, text)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    except BaseException:  # the content failed while it was made (or Ctrl-C): no file is left
        Path(tmp).unlink(missing_ok=True)
        raise
    return Path(tmp)


def _is_special(target: Path) -> bool:
    """A device, FIFO or socket (`/dev/null`, `/dev/stdout`): written in place, never replaced."""
    try:
        mode = target.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)


def _write_special(target: Path, text: Content) -> None:
    try:
        with _open(target, text) as handle:
            _write(handle, text)
    except OSError as exc:
        raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc


def write_all(files: Sequence[tuple[Path, Content]]) -> None:
    """Write every file or none: all temporary files first, then the renames (see `Content`). A device or
    pipe target (`--output /dev/null`) is written in place after the regular files: renaming a temporary
    file onto it would replace the device with a regular file."""
    special = [(target, text) for target, text in files if _is_special(target)]
    files = [(target, text) for target, text in files if not _is_special(target)]
    staged: list[tuple[Path, Path]] = []
    try:
        for target, text in files:
            staged.append((_temporary(target, text), target))
        for tmp, target in staged:
            try:
                tmp.replace(target)
            except OSError as exc:
                raise OutputError(f"{target}: cannot write: {exc.strerror or exc}") from exc
    finally:
        for tmp, _target in staged:
            tmp.unlink(missing_ok=True)
    for target, text in special:
        _write_special(target, text)


def write_atomic(target: Path, text: str) -> None:
    write_all([(target, text)])


def append_text(path: Path, text: str) -> None:
    """Append to a file another program owns (GITHUB_STEP_SUMMARY); a failure is an OutputError."""
    try:
        with path.open("a", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise OutputError(f"{path}: cannot append the job summary: {exc.strerror or exc}") from exc
