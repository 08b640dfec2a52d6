"""Run a compiled kernel's tasks on a small thread pool.

The kernels are ``nogil`` numba functions taking ``(task, tasks, ...)`` and doing every
``tasks``-th piece of work from ``task`` on. Threads rather than numba's
``parallel=True``: the parallel compiler lowers a ``prange`` body as a separate
function and compiles it a second time (for the backward pass of the LIF kernel, 11 of
its 17 s of compilation), and every kernel here is compiled once per feature set.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import numba

_POOL: list = []  # [(process id, ThreadPoolExecutor)]


def _pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool with at least ``workers`` threads, made anew in a forked child (the
    parent's threads do not exist there)."""
    if not _POOL or _POOL[0][0] != os.getpid() or _POOL[0][1]._max_workers < workers:
        _POOL[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spikeforge"))]
    return _POOL[0][1]


def thread_count(work: int, pieces: int, *, serial_below: int = 1 << 18) -> int:
    """How many threads a call uses: ``numba.get_num_threads()``, at most one per piece of
    work, and one for calls of fewer than ``serial_below`` elements (waking threads costs
    more than such a call, and on a busy machine waiting for a second core can take
    milliseconds)."""
    if work < serial_below:
        return 1
    return max(1, min(numba.get_num_threads(), pieces))


def run_tasks(fn: Callable[..., Any], n: int, *args: Any) -> None:
    """``fn(k, n, *args)`` for ``k < n``: task 0 on this thread, the others on the pool (the
    compiled functions release the GIL)."""
    if n == 1:
        fn(0, 1, *args)
        return
    futures = [_pool(n - 1).submit(fn, k, n, *args) for k in range(1, n)]
    try:
        fn(0, n, *args)
    finally:
        for f in futures:
            f.result()
