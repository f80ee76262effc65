"""Two processes meeting in the middle of a list of items (issue 23: two cores, not one).

`meet(count, minimum, chunk, each)` balances the work instead of splitting it beforehand
(`core.forked.split_off`): a forked child takes chunks of the items from the back and the caller takes
them from the front (`Meeting.front()`), each under a lock, until they meet; so the part each does
follows its speed at the minute (on a shared virtual machine one core may run at half the other's
speed). The child's values, one per chunk, cover the items from the meeting point (`Meeting.start`)
on; each is handed over as soon as it is made, and the caller takes it in between its own chunks. A
child that dies holding the lock releases it as it ends. When a process may fork at all, how the child
is started, ended and reaped, and what crosses between the two: core/forked.py.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from r1policy.core.forked import Forked, NoFork, pickled, unpickled, worth_forking

_T = TypeVar("_T")


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
        import tempfile

        self._count, self._chunk = count, chunk
        self.start = count
        self._read = 0  # bytes of the child's records unpickled here
        self._whole = 0  # how far its records were whole at this process's last take
        self._values: dict[int, _T] = {}  # chunk index -> the child's value for it
        with contextlib.ExitStack() as undo:  # what was opened is closed again when a later step fails
            # [next chunk from the front, first chunk taken from the back, bytes of the records whole]:
            # shared with the child (a shared anonymous mapping), changed only under the lock
            self._ends = undo.enter_context(mmap.mmap(-1, 24))
            self._ends[:16] = (0).to_bytes(8, "little") + (-(-count // chunk)).to_bytes(8, "little")
            try:  # both unlinked; closed by close(). The child's records: written by the child only,
                # read here with pread only (the two share its offset)
                self._lock = undo.enter_context(tempfile.TemporaryFile())
                self._records = undo.enter_context(tempfile.TemporaryFile())
            except OSError as exc:  # no writable temporary folder: the caller does the work itself
                raise NoFork from exc
            self._forked = Forked(lambda: self._back(each))
            undo.pop_all()

    def _back(self, each: Callable[[range], _T]) -> bytes:
        """In the child: the value of each chunk it takes, pickled and appended to the records as one
        record, whose end it publishes at its next take."""
        fd, written = self._records.fileno(), 0
        while (part := self._take(front=False, written=written)) is not None:
            data = pickled(each(part))
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
            self._values[index] = unpickled(data[at + head : at + head + length])
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
        self._forked.close()
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
