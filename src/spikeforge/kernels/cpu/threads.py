"""Run a compiled kernel's tasks on several threads.

The kernels are ``nogil`` numba functions taking ``(task, tasks, ...)`` and doing every
``tasks``-th piece of work from ``task`` on. :func:`run_tasks` runs ``tasks`` of them at
once, on one of two kinds of threads:

- **the OpenMP team torch uses** (numba's ``omp`` threading layer, which loads the same
  libgomp as torch): a ``prange`` over the tasks in a small wrapper compiled per kernel
  (:func:`_team_runner`, cached on disk like the kernels). This is the fast path. After
  every parallel torch op libgomp's idle threads spin for a while before they sleep; a
  thread of our own that wants a core then shares it with a spinning thread, and the
  two-thread kernels ran no faster than one (24-33 ms against 19 ms at (100, 16, 4096)
  forward+backward on the 2-core machine of ``benchmarks/RESULTS.md``). The spinning
  threads *are* the team, so they pick the tasks up at once.
- **a small thread pool of our own** (:func:`_pool`), where the team cannot be used:
  numba picked another threading layer (tbb, workqueue), or this is a process forked
  from one that had started the team (GNU OpenMP does not survive ``fork``, and numba
  ends such a child rather than hang it).

The wrapper costs one more compilation per kernel (numba links the kernel into it and
optimises the whole), paid once: it is cached on disk, keyed by the kernel's name, its
compile-time features and the modification stamps of the kernel's source files (the
cached wrapper holds a copy of the kernel's machine code, so an edited kernel must not
reuse it). Calls small enough to run on one thread never build it.

How many threads: **torch's setting** (``torch.set_num_threads``, ``--threads``), so one
knob governs the matrix products and the fused loops. Not ``numba.get_num_threads()``:
asking numba launches its threading layer, and its OpenMP layer shares libgomp with torch
and resets torch's thread count to numba's (all cores) as it starts. The kernels compiled
with ``parallel=True`` (the plasticity kernels and the team wrappers) run inside
:func:`numba_parallel`, which sets numba's count to torch's and puts torch's back
afterwards.
"""

from __future__ import annotations

import os
import types
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import torch

_POOL: list = []  # [(process id, ThreadPoolExecutor)]
_TEAM: dict = {}  # kernel -> its team wrapper (None where the kernel cannot have one)
_TEAM_PROCESS: list = []  # [id of the process that started numba's threading layer, its layer]


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


def _team_template(KEY):
    """The body of every team wrapper: ``KERNEL(task, tasks, *args)`` for ``task < tasks``
    in a ``prange`` (the team's threads share the tasks). ``KERNEL`` is a global of each
    wrapper's own (see :func:`_team_runner`); ``KEY`` is a closure cell, which numba's
    cache index hashes, so the wrappers of different kernels (or of an edited kernel)
    never share a cache entry."""

    def run(tasks, args):
        KEY  # noqa: B018 -- read so that it is a closure cell
        for task in numba.prange(tasks):  # noqa: F821 -- numba is a global of the wrapper
            KERNEL(task, tasks, *args)  # noqa: F821

    return run


def _source_stamps(kernel) -> tuple:
    """Modification stamps of the source files of the kernel's package (its helpers live
    beside it)."""
    folder = Path(kernel.py_func.__code__.co_filename).parent
    stats = [(p.name, p.stat()) for p in sorted(folder.glob("*.py"))]
    return tuple((name, st.st_mtime_ns, st.st_size) for name, st in stats)


def _identity(kernel) -> tuple | None:
    """What tells a kernel apart across processes: its module, name and closure cells
    (compile-time flags, or kernels it calls, by their own identity); ``None`` if a cell
    holds anything else."""
    cells = []
    for cell in kernel.py_func.__closure__ or ():
        value = cell.cell_contents
        if isinstance(value, (bool, int, str)):
            cells.append(value)
        elif hasattr(value, "py_func"):  # another compiled function
            inner = _identity(value)
            if inner is None:
                return None
            cells.append(inner)
        else:
            return None
    return (kernel.py_func.__module__, kernel.py_func.__qualname__, tuple(cells))


def _team_runner(kernel):
    """The kernel's team wrapper, compiled ``parallel=True`` on first use (cached on disk),
    or ``None`` when the kernel has no :func:`_identity`."""
    if kernel in _TEAM:
        return _TEAM[kernel]
    import numba

    py = kernel.py_func
    identity = _identity(kernel)
    runner = None
    if identity is not None:
        flags = "".join(str(int(c)) for c in identity[2] if isinstance(c, (bool, int)))
        name = f"team__{py.__module__.rsplit('.', 1)[-1]}__{py.__name__}__{flags}"
        template = _team_template((identity, _source_stamps(kernel)))
        scope = dict(template.__globals__, KERNEL=kernel, numba=numba)
        fn = types.FunctionType(template.__code__, scope, name, None, template.__closure__)
        fn.__qualname__ = name
        runner = numba.njit(parallel=True, cache=True, nogil=True, error_model="numpy")(fn)
    _TEAM[kernel] = runner
    return runner


def _team_usable() -> bool:
    """Whether numba's threading layer is OpenMP, started in this very process."""
    if not _TEAM_PROCESS:
        import numba

        torch_threads = torch.get_num_threads()
        numba.get_num_threads()  # starts the layer (and may reset torch's thread count)
        torch.set_num_threads(torch_threads)
        _TEAM_PROCESS[:] = [os.getpid(), numba.threading_layer()]
    return _TEAM_PROCESS[0] == os.getpid() and _TEAM_PROCESS[1] == "omp"


def run_tasks(fn: Callable[..., Any], n: int, *args: Any) -> None:
    """``fn(k, n, *args)`` for ``k < n``: on torch's OpenMP team where it can (see the
    module's docstring), else task 0 on this thread and the others on the pool (the
    compiled functions release the GIL)."""
    if n == 1:
        fn(0, 1, *args)
        return
    if os.environ.get("SPIKEFORGE_KERNEL_THREADS", "team") == "team" and _team_usable():
        runner = _team_runner(fn)
        if runner is not None:
            with numba_parallel(n):  # at most n threads; the n tasks are shared among them
                runner(n, args)
            return
    futures = [_pool(n - 1).submit(fn, k, n, *args) for k in range(1, n)]
    try:
        fn(0, n, *args)
    finally:
        for f in futures:
            f.result()
