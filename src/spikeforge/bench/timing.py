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
    """

    median_s: float
    all_s: tuple[float, ...]
    first_call_s: float


def _noop() -> None:
    return None


def time_fn(
    fn: Callable[[], object],
    *,
    repeats: int = 7,
    warmup: int = 2,
    sync: Callable[[], object] | None = None,
    monitor: ContextManager | None = None,
) -> TimingResult:
    """Time ``fn()``: one first call, ``warmup`` untimed calls, ``repeats`` timed calls.

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
    return TimingResult(median_s=statistics.median(times), all_s=tuple(times), first_call_s=first)
