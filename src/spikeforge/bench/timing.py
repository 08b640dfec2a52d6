"""Wall-clock timing of one closure: first call, warm-up, then the median of repeats."""

from __future__ import annotations

import contextlib
import gc
import statistics
import time
from dataclasses import dataclass
from typing import Callable, ContextManager


@dataclass(frozen=True)
class TimingResult:
    """Seconds per call.

    Attributes:
        median_s: median of the timed calls (after the first call and the warm-up).
        all_s: every timed call, in order.
        first_call_s: the very first call, which pays for compilation / JIT / caches.
        faults_per_call: page faults the process took per timed call (``None`` where
            ``resource`` is missing). Touching freshly mapped memory costs a fault per
            4 KB page, a few microseconds each in a virtual machine, so a call that
            gets new pages from the allocator each time can spend more in faults than
            in computing; this says whether a timing is made of that.
    """

    median_s: float
    all_s: tuple[float, ...]
    first_call_s: float
    faults_per_call: float | None = None


def _faults() -> int | None:
    try:
        import resource
    except ImportError:  # not Unix
        return None
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_minflt + usage.ru_majflt


def _noop() -> None:
    return None


def time_fn(
    fn: Callable[[], object],
    *,
    repeats: int = 7,
    warmup: int = 5,
    sync: Callable[[], object] | None = None,
    monitor: ContextManager | None = None,
) -> TimingResult:
    """Time ``fn()``: one first call, ``warmup`` untimed calls, ``repeats`` timed calls.

    The warm-up also lets the C allocator settle: glibc adapts its mmap threshold to
    the sizes a loop frees, and for the first few calls of a loop over large tensors
    it maps (and faults in) fresh memory for them.

    ``gc.collect()`` runs once before timing, and the garbage collector is disabled
    during the timed calls so that a collection does not land inside one of them.
    ``sync`` (e.g. ``torch.cuda.synchronize``) is called before each clock read so
    that asynchronous device work is counted. ``monitor`` (e.g. a
    :class:`~spikeforge.bench.load.OtherLoad`) is entered around the timed calls only.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    sync = sync or _noop
    gc.collect()
    sync()
    t0 = time.perf_counter()
    fn()
    sync()
    first = time.perf_counter() - t0
    for _ in range(warmup):
        fn()
    sync()
    gc.collect()
    times = []
    enabled = gc.isenabled()
    gc.disable()
    faults0 = _faults()
    try:
        with monitor or contextlib.nullcontext():
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                sync()
                times.append(time.perf_counter() - t0)
    finally:
        if enabled:
            gc.enable()
    faults1 = _faults()
    faults = None if faults0 is None or faults1 is None else (faults1 - faults0) / repeats
    return TimingResult(median_s=statistics.median(times), all_s=tuple(times), first_call_s=first,
                        faults_per_call=faults)
