"""Executors for account tasks: `local[N]` (threads in this process, the default) or `dask://HOST:PORT`
(an existing Dask cluster, through `distributed`, imported only then).

Both run the same task function on the same plain inputs and hand back the results as they finish;
the caller orders them, so the report does not depend on the executor or on timing. Inside a task
the per-account collection keeps its own bounds (a pool per account and per account+region, see
``r1policy.aws.pools``) and botocore's adaptive retries.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from r1policy.aws.errors import CollectorError
from r1policy.core.errors import UsageError

T = TypeVar("T")
R = TypeVar("R")

DEFAULT_THREADS = 8
MAX_THREADS = 256
CONNECT_TIMEOUT = 30
_LOCAL = re.compile(r"^local(?:\[(\d+)\])?$")
_DASK = re.compile(r"^dask://([A-Za-z0-9.\-]+|\[[0-9A-Fa-f:]+\]):(\d{1,5})$")


@dataclass(frozen=True)
class ExecutorSpec:
    kind: str  # "local" | "dask"
    threads: int = DEFAULT_THREADS
    address: str = ""  # tcp://HOST:PORT for dask

    def __str__(self) -> str:
        return f"local[{self.threads}]" if self.kind == "local" else f"dask://{self.address[6:]}"


def parse_executor(value: str) -> ExecutorSpec:
    """`local`, `local[N]` (1 to 256 threads) or `dask://HOST:PORT`; anything else is a usage error."""
    text = value.strip()
    local = _LOCAL.match(text)
    if local:
        threads = int(local.group(1) or DEFAULT_THREADS)
        if not 1 <= threads <= MAX_THREADS:
            raise UsageError(f"--executor {value}: the thread count must be 1 to {MAX_THREADS}")
        return ExecutorSpec("local", threads)
    dask = _DASK.match(text)
    if dask and 0 < int(dask.group(2)) < 65536:
        return ExecutorSpec("dask", address=f"tcp://{dask.group(1)}:{dask.group(2)}")
    raise UsageError(f"--executor {value!r}: expected local, local[N] or dask://HOST:PORT")


def run_tasks(spec: ExecutorSpec, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
    """Run ``fn`` on every task; yield each result as it completes (in completion order)."""
    if not tasks:
        return iter(())
    if spec.kind == "dask":
        return _dask(spec.address, fn, tasks)
    return _local(spec.threads, fn, tasks)


def _local(threads: int, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(max_workers=min(threads, len(tasks)), thread_name_prefix="r1-task") as pool:
        futures = [pool.submit(fn, task) for task in tasks]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def _dask(address: str, fn: Callable[[T], R], tasks: Sequence[T]) -> Iterator[R]:
    try:
        distributed: Any = importlib.import_module("distributed")
    except ImportError as exc:
        raise UsageError(
            "--executor dask:// needs the `distributed` package: pip install 'r1policy[dask]'"
        ) from exc
    try:
        client: Any = distributed.Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise CollectorError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
    lost = (distributed.KilledWorker, distributed.CancelledError, OSError, TimeoutError)
    try:
        futures = client.map(fn, list(tasks), pure=False)
        for future in distributed.as_completed(futures, loop=client.loop):
            try:
                yield future.result()
            except lost as exc:  # the cluster lost the task: the run as a whole cannot be complete
                raise CollectorError(f"a task on the Dask cluster at {address} was lost: {exc!r}") from exc
    finally:
        client.close()
