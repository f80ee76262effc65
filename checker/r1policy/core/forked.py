"""A second process for the parts of a large run that split (issue 23: two cores, not one).

`worth_forking(count, minimum)` says whether a helper should take part of `count` items: this process
may fork at all (Linux, where fork without exec is safe; at least two processors allowed; no thread but
the main one, since a fork copies only the calling thread and a lock another thread held would stay
locked in the child), and `count` reaches `minimum`, below which a fork costs more than it saves. The
CPU quota of the process's cgroup counts (`processors()`). The environment variable `R1POLICY_PARALLEL`
overrides both: `off` (also `0`, `no`, `false`) never forks, `always` forks wherever forking is safe,
whatever the size and the processors (tests, measurements).

`split_off(items, minimum, share, work)` runs `work` on the last `share` of the items in a child (a
`Tail`) while the caller does the rest, and hands the child's value back, pickled (see below);
`result()` is None when the child failed in any way, and then the caller does the child's part itself:
a child only ever makes a run faster, never different.

`meet(count, minimum, chunk, each)` balances the work instead of splitting it beforehand: the child
takes chunks of the items from the back and the caller takes them from the front (`Meeting.front()`),
each under a lock, until they meet; so the part each does follows its speed at the minute (on a shared
virtual machine one core may run at half the other's speed). The child's values, one per chunk, cover
the items from the meeting point (`Meeting.start`) on; each is handed over as soon as it is made, and
the caller takes it in between its own chunks. A child that dies holding the lock releases it as it
ends.

`fork_child(body)` forks with SIGINT and SIGTERM blocked until each side has set itself up, so that a
Ctrl-C can never raise inside the child while it still runs the parent's code; the child runs `body`,
then `os._exit` (no atexit handler, no flush of the parent's buffers, no traceback), with status 0 when
`body` returned and 1 otherwise. `Forked` runs one function in a child and hands its bytes to the parent
through an unlinked temporary file, then writes one byte on a pipe: the parent takes the result then,
without waiting for the child's exit (the kernel freeing a forked copy of a large process takes tens
of milliseconds), and reaps it at the next fork or at its own exit; a child that ends without the
byte is waited for and gives nothing. The parent kills and reaps the child whenever it stops waiting.

What a child hands back is a pickle of values r1policy's own code built in the child, written into an
unlinked temporary file only the two processes hold; nothing an input holds is ever unpickled as code.
"""

from __future__ import annotations

import os
import struct
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Generic, TypeVar

_T = TypeVar("_T")
_I = TypeVar("_I")

_OFF = ("off", "0", "no", "false")


def worth_forking(count: int, minimum: int) -> bool:
    setting = os.environ.get("R1POLICY_PARALLEL", "").strip().lower()
    if setting in _OFF or count < 2 or not sys.platform.startswith("linux"):
        return False
    import threading

    if threading.active_count() != 1:
        return False
    return setting == "always" or (count >= minimum and processors() >= 2)


def processors(root: str = "/") -> float:
    """How many processors this process may keep busy: those it may run on, bounded by the CPU quota
    of its cgroup (v2) and every cgroup above it (a container limited to one CPU gains nothing from a
    helper, and the quota would throttle both). `root`: where /proc and /sys are (tests)."""
    allowed: float = len(os.sched_getaffinity(0))
    from pathlib import Path

    try:
        lines = Path(root, "proc/self/cgroup").read_text(encoding="utf-8").splitlines()
    except OSError:
        return allowed
    own = next((line[3:] for line in lines if line.startswith("0::")), "/")
    parts = [part for part in own.strip().split("/") if part]
    for depth in range(len(parts), -1, -1):
        try:
            text = Path(root, "sys/fs/cgroup", *parts[:depth], "cpu.max").read_text(encoding="utf-8")
        except OSError:
            continue
        quota, _, period = text.strip().partition(" ")
        if quota.isdigit() and period.isdigit() and int(period) > 0:
            allowed = min(allowed, int(quota) / int(period))
    return allowed


class NoFork(Exception):
    """The child could not be started: the parent does the work itself."""


def fork_child(body: Callable[[], None]) -> int:
    """The child's pid (the child runs `body` and exits; it never returns here)."""
    import signal

    blocked = {signal.SIGINT, signal.SIGTERM}
    parent = os.getpid()
    old = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        pid = os.fork()
    except OSError as exc:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        raise NoFork from exc
    if pid == 0:
        status = 1
        try:
            for sig in blocked:
                signal.signal(sig, signal.SIG_DFL)
            _end_with_parent(parent)
            signal.pthread_sigmask(signal.SIG_SETMASK, old)
            import gc

            gc.disable()  # a short life: reference counting frees what it drops
            body()
            status = 0
        finally:
            os._exit(status)
    signal.pthread_sigmask(signal.SIG_SETMASK, old)
    return pid


def _end_with_parent(parent: int) -> None:
    """In the child: be killed when the parent ends (Linux's PR_SET_PDEATHSIG), so that a parent killed
    outright leaves no helper working for nobody; end now if it already has."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def reap(pid: int, *, kill: bool) -> int:
    """Wait for the child (killed first when `kill`); its exit status, or -1 when a signal ended it."""
    import signal

    if kill:  # an ended child that is not reaped yet is a zombie: the signal reaches it harmlessly
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


class Forked:
    """`work()` run in a child process; `result()` is its bytes, or None when the child failed."""

    def __init__(self, work: Callable[[], bytes]) -> None:
        _reap_ended()
        import tempfile

        try:
            self._store = tempfile.TemporaryFile()  # noqa: SIM115 - unlinked; closed by result/close
            self._done, done = os.pipe()  # the child writes one byte when its result is whole
        except OSError as exc:  # no writable temporary folder, or no pipe: the caller does the work itself
            self._close_files()
            raise NoFork from exc
        try:
            self._pid = fork_child(lambda: self._write(work(), done))
        except NoFork:
            self._close_files()
            raise
        finally:
            os.close(done)  # here: only the child holds the writing end, so its end is an end of file

    def _write(self, data: bytes, done: int) -> None:
        view = memoryview(data)
        fd = self._store.fileno()
        while view:
            view = view[os.write(fd, view) :]
        os.write(done, b"\x01")

    def result(self) -> bytes | None:
        """Wait for the child's result; what it wrote when it ended well. A child that wrote its whole
        result is not waited for further: its end (the kernel freeing its memory) is reaped later."""
        data = None
        if self.ended_well():  # the result is whole; the child touches the file no more
            self._store.seek(0)  # (the child shared this offset)
            data = self._store.read()
        self._close_files()
        return data

    def ended_well(self) -> bool:
        """Wait until the child has written its whole result (True), or has ended without it (False,
        and it is reaped). Its file stays open until `result()` or `close()`."""
        if not self._pid:
            return False
        pid, self._pid = self._pid, 0
        if os.read(self._done, 1):
            _ending(pid)
            return True
        reap(pid, kill=False)  # it ended without its result
        return False

    def close(self) -> None:
        """Stop the child if it still runs (the parent gave up waiting, or failed)."""
        if self._pid:
            reap(self._pid, kill=True)
            self._pid = 0
        self._close_files()

    def _close_files(self) -> None:
        store, done = getattr(self, "_store", None), getattr(self, "_done", -1)
        if store is not None:
            store.close()
        if done >= 0:
            os.close(done)
            self._done = -1


# Children that handed over their result and are ending: reaped without waiting at the next fork, and
# at this process's exit (by then long ended: no zombie is left to a parent that never reaps).
_exiting: list[int] = []


def _ending(pid: int) -> None:
    if not _exiting:
        import atexit

        atexit.register(_reap_ended, wait=True)
    _exiting.append(pid)


def _reap_ended(*, wait: bool = False) -> None:
    for pid in list(_exiting):
        try:
            ended, _ = os.waitpid(pid, 0 if wait else os.WNOHANG)
        except ChildProcessError:
            ended = pid
        if ended:
            _exiting.remove(pid)


class Tail(Generic[_T]):
    """`work()` run in a forked child; `result()` is its value, or None when the child failed.
    `start` is where the child's part of the items begins (`split_off`)."""

    def __init__(self, work: Callable[[], _T], start: int) -> None:
        self.start = start
        self._forked = Forked(lambda: _pickled(work()))

    def result(self) -> _T | None:
        value: _T | None = _unpickled(self._forked.result())
        return value

    def close(self) -> None:
        self._forked.close()


def split_off(
    items: Sequence[_I], minimum: int, share: float, work: Callable[[list[_I]], _T]
) -> Tail[_T] | None:
    """A child doing `work` on the last `share` of `items` (at least one), or None when doing them all
    here is as fast (`worth_forking`), or the fork fails."""
    if not worth_forking(len(items), minimum):
        return None
    start = len(items) - max(1, int(len(items) * share))
    tail = list(items[start:])
    try:
        return Tail(lambda: work(tail), start)
    except NoFork:
        return None


def _unpickled(data: bytes | None) -> Any:
    """A child's value from what it wrote (`_pickled`); None when it wrote nothing (it failed)."""
    if data is None:
        return None
    import pickle

    return pickle.loads(data)


def _pickled(value: object) -> bytes:
    import pickle

    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)


class Meeting(Generic[_T]):
    """`each(chunk)` run in a forked child on chunks of `count` items taken from the back, while this
    process takes them from the front (`front()`); `result()` is the child's values for its chunks, in
    order, from `start` on (where the two met), or None when the child failed.

    The child pickles each chunk's value as soon as it is made and appends it to its records (an
    unlinked file both hold: a `_RECORD` header, then the pickle), and says at its next take how far
    they are whole; this process unpickles what is whole between its own chunks (`_collect`). So the
    unpickling is done while the two still share the work (the child takes more chunks meanwhile),
    and little is left to do when they meet."""

    def __init__(self, count: int, chunk: int, each: Callable[[range], _T]) -> None:
        import mmap

        self._count, self._chunk = count, chunk
        self.start = count
        # [next chunk from the front, first chunk taken from the back, bytes of the records whole]: shared
        # with the child (a shared anonymous mapping), changed only under the lock
        self._ends = mmap.mmap(-1, 24)
        self._ends[:16] = (0).to_bytes(8, "little") + (-(-count // chunk)).to_bytes(8, "little")
        self._read = 0  # bytes of the child's records unpickled here
        self._whole = 0  # how far its records were whole at this process's last take
        self._values: dict[int, _T] = {}  # chunk index -> the child's value for it
        import tempfile

        try:
            self._lock = tempfile.TemporaryFile()  # noqa: SIM115 - unlinked; closed by close()
        except OSError as exc:
            self._ends.close()
            raise NoFork from exc
        try:  # the child's records: written by the child only, read here with pread only (the two
            # share its offset)
            self._records = tempfile.TemporaryFile()  # noqa: SIM115 - unlinked; closed by close()
        except OSError as exc:
            self._lock.close()
            self._ends.close()
            raise NoFork from exc
        try:
            self._forked = Forked(lambda: self._back(each))
        except NoFork:
            self.close()
            raise

    def _back(self, each: Callable[[range], _T]) -> bytes:
        """In the child: the value of each chunk it takes, pickled and appended to the records as one
        record, whose end it publishes at its next take."""
        fd, written = self._records.fileno(), 0
        while (part := self._take(front=False, written=written)) is not None:
            data = _pickled(each(part))
            record = _RECORD.pack(part.start // self._chunk, len(data)) + data
            view = memoryview(record)
            while view:
                view = view[os.write(fd, view) :]
            written += len(record)
        return b""  # all is in the file already

    def _take(self, *, front: bool, written: int = 0) -> range | None:
        """The next chunk from one end, or None when the two ends have met. The child publishes how
        far its records are whole (`written`); this process reads it (`_whole`). The lock is a POSIX
        record lock on an unlinked file: it belongs to one process, and the kernel drops it when that
        process ends, however it ends."""
        import fcntl

        fd, ends = self._lock.fileno(), self._ends
        fcntl.lockf(fd, fcntl.LOCK_EX)
        try:
            if front:
                self._whole = int.from_bytes(ends[16:], "little")
            else:
                ends[16:] = written.to_bytes(8, "little")
            first, last = int.from_bytes(ends[:8], "little"), int.from_bytes(ends[8:16], "little")
            if first >= last:
                return None
            if front:
                index = first
                ends[:8] = (first + 1).to_bytes(8, "little")
            else:
                index = last - 1
                ends[8:16] = index.to_bytes(8, "little")
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
        return range(index * self._chunk, min(self._count, (index + 1) * self._chunk))

    def _collect(self, upto: int) -> None:
        """Unpickle the child's whole records from where this process stopped up to `upto` bytes (a
        record a short read cut is read again next time)."""
        if upto <= self._read:
            return
        data = os.pread(self._records.fileno(), upto - self._read, self._read)
        at, size, head = 0, len(data), _RECORD.size
        while at + head <= size:
            index, length = _RECORD.unpack_from(data, at)
            if at + head + length > size:
                break
            self._values[index] = _unpickled(data[at + head : at + head + length])
            at += head + length
        self._read += at

    def front(self) -> Iterator[range]:
        """This process's chunks, in order, until the next one is the child's; then `start` is where
        the child's part begins. Between two chunks, what the child has finished is unpickled."""
        while (part := self._take(front=True)) is not None:
            self._collect(self._whole)
            yield part
        self.start = min(self._count, int.from_bytes(self._ends[:8], "little") * self._chunk)

    def result(self) -> list[_T] | None:
        """Wait for the child (after `front()` is exhausted); its chunks' values, or None when it failed."""
        if not self._forked.ended_well():
            return None
        size = os.fstat(self._records.fileno()).st_size
        while self._read < size:  # (a short read leaves the rest for the next round)
            before = self._read
            self._collect(size)
            if self._read == before:  # a record cut short: the child's records are not whole
                return None
        first = int.from_bytes(self._ends[:8], "little")
        last = -(-self._count // self._chunk)
        if any(index not in self._values for index in range(first, last)):
            return None  # not every chunk of its part came back: its part is done here
        return [self._values[index] for index in range(first, last)]

    def close(self) -> None:
        """Stop the child if it still runs; free the lock, the shared ends and the child's records."""
        forked = getattr(self, "_forked", None)
        if forked is not None:
            forked.close()
        self._records.close()
        self._lock.close()
        self._ends.close()


# A record of the child's file: the chunk's index and the length of its pickle, then the pickle.
_RECORD = struct.Struct("<QQ")


def meet(count: int, minimum: int, chunk: int, each: Callable[[range], _T]) -> Meeting[_T] | None:
    """A child doing `each` on chunks of `count` items from the back while the caller works from the
    front (`Meeting`); or None when doing them all here is as fast (`worth_forking`), or the fork
    fails."""
    if not worth_forking(count, minimum):
        return None
    try:
        return Meeting(count, chunk, each)
    except NoFork:
        return None
