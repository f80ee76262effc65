"""Bounded thread pools: one per account (account-wide reads) and one per account+region."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")

PER_ACCOUNT = 4
PER_REGION = 8


class Pools:
    """Lazily created executors; ``run_all`` waits for a batch and returns results in order."""

    def __init__(self, per_account: int = PER_ACCOUNT, per_region: int = PER_REGION) -> None:
        self.per_account = per_account
        self.per_region = per_region
        self._pools: dict[tuple[str, str], ThreadPoolExecutor] = {}
        self._lock = threading.Lock()

    def _pool(self, account: str, region: str) -> ThreadPoolExecutor:
        key = (account, region)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                size = self.per_account if region == "" else self.per_region
                pool = ThreadPoolExecutor(max_workers=size, thread_name_prefix=f"r1-{account}-{region}")
                self._pools[key] = pool
            return pool

    def submit(self, account: str, region: str, fn: Callable[..., T], *args: Any) -> Future[T]:
        """Run in the pool of that account and region (region "" = the account's own pool)."""
        return self._pool(account, region).submit(fn, *args)

    @staticmethod
    def wait(futures: Iterable[Future[T]]) -> list[T]:
        return [f.result() for f in list(futures)]

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> Pools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
