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

`core.meeting.meet` balances the work instead of splitting it beforehand (its own module).

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
import sys
from collections.abc import Callable, Sequence
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
        self._forked = Forked(lambda: pickled(work()))

    def result(self) -> _T | None:
        value: _T | None = unpickled(self._forked.result())
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


def unpickled(data: bytes | None) -> Any:
    """A child's value from what it wrote (`pickled`); None when it wrote nothing (it failed)."""
    if data is None:
        return None
    import pickle

    return pickle.loads(data)


def pickled(value: object) -> bytes:
    import pickle

    return pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
