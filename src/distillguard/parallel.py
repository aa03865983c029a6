"""Workers for the steps that would otherwise run on one core: Python code (processes), and engine calls that
use one thread each (threads)."""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def usable_cores(at_most: int | None = None) -> int:
    """Cores this process may run on (its affinity mask, where the platform has one), at most `at_most`:
    workers that each hold a batch or a model must not multiply memory on a many-core machine."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cores, at_most) if at_most else cores


def ordered_map(fn: Callable[[T], R], items: Iterable[T], workers: int, initializer: Callable | None = None,
                initargs: tuple = (), *, threads: bool = False) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) in input order, computed on `workers` spawned processes, or threads with `threads`
    (for calls that release the GIL), and in this thread when `workers` is 1. At most two items per worker
    are in flight, so a long stream of large items holds bounded memory. Processes are spawned, not forked:
    the engine's threads and locks are not copied into them."""
    if workers <= 1:
        if initializer:
            initializer(*initargs)
        for item in items:
            yield item, fn(item)
        return
    executor = ThreadPoolExecutor(workers, initializer=initializer, initargs=initargs) if threads else \
        ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"), initializer=initializer,
                            initargs=initargs)
    with executor as pool:
        pending: deque = deque()
        for item in items:
            pending.append((item, pool.submit(fn, item)))
            if len(pending) >= 2 * workers:
                first, future = pending.popleft()
                yield first, future.result()
        while pending:
            first, future = pending.popleft()
            yield first, future.result()
