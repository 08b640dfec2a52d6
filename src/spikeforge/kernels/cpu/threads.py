"""Run a compiled kernel's tasks on a small thread pool.

The kernels are ``nogil`` numba functions taking ``(task, tasks, ...)`` and doing every
``tasks``-th piece of work from ``task`` on. Threads rather than numba's
``parallel=True``: the parallel compiler lowers a ``prange`` body as a separate
function and compiles it a second time (for the backward pass of the LIF kernel, 11 of
its 17 s of compilation), and every kernel here is compiled once per feature set.

How many threads: **torch's setting** (``torch.set_num_threads``, ``--threads``), so one
knob governs the matrix products and the fused loops. Not ``numba.get_num_threads()``:
asking numba launches its threading layer, and its OpenMP layer shares libgomp with torch
and resets torch's thread count to numba's (all cores) as it starts. The kernels compiled
with ``parallel=True`` (the plasticity kernels) run inside :func:`numba_parallel`, which
sets numba's count to torch's and puts torch's back afterwards.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import torch

_POOL: list = []  # [(process id, ThreadPoolExecutor)]


def _pool(workers: int) -> ThreadPoolExecutor:
    """A thread pool with at least ``workers`` threads, made anew in a forked child (the
    parent's threads do not exist there)."""
    if not _POOL or _POOL[0][0] != os.getpid() or _POOL[0][1]._max_workers < workers:
        _POOL[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spikeforge"))]
    return _POOL[0][1]


def kernel_threads() -> int:
    """The threads a kernel may use: torch's intra-op thread count."""
    return max(1, torch.get_num_threads())


def thread_count(work: int, pieces: int, *, serial_below: int = 1 << 18) -> int:
    """How many threads a call uses: :func:`kernel_threads`, at most one per piece of
    work, and one for calls of fewer than ``serial_below`` elements (waking threads costs
    more than such a call, and on a busy machine waiting for a second core can take
    milliseconds)."""
    if work < serial_below:
        return 1
    return max(1, min(kernel_threads(), pieces))


@contextmanager
def numba_parallel(threads: int | None = None) -> Iterator[int]:
    """Run numba ``parallel=True`` kernels on ``threads`` threads (default: torch's count),
    leaving torch's thread count as it was. Yields the count used."""
    import numba

    torch_threads = torch.get_num_threads()
    n = max(1, min(threads or torch_threads, numba.config.NUMBA_NUM_THREADS))
    previous = numba.get_num_threads()  # launches numba's threading layer (may reset torch's count)
    numba.set_num_threads(n)
    try:
        yield n
    finally:
        numba.set_num_threads(previous)
        torch.set_num_threads(torch_threads)


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
