"""Time every library of one workload in rounds, so that slow drift of the machine hits all alike.

:func:`~spikeforge.bench.runner.run_one` times one library after another: its ``repeats``
calls, then the next library's. On a shared virtual machine the speed of the same BLAS
call can drift by a third over minutes (another tenant, the host's frequency), and for a
workload whose time is mostly one GEMM that drift, not the library, decides the ranking.
Here every library is built, called once (first-call time) and warmed up; then each of
``repeats`` rounds calls every library once, in an order rotated by one place per round
(so no library always runs right after the same one). Each library's median is over its
calls in the rounds, spread over the same minutes as everyone else's. Peak memory is
measured after the rounds, one library at a time, as in the sequential runner.

The price: all closures are alive at once (their weights and compiled code), and a
``torch.compile`` variant is reset only after the workload's rounds.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import statistics
import time
from typing import Any, Callable, Sequence

from .bandwidth import Bandwidth, floor_seconds
from .load import OtherLoad
from .memory import peak_bytes
from .peers import PeerUnavailable, get_adapter
from .peers._common import quiet
from .timing import _faults
from .workloads import Workload

log = logging.getLogger(__name__)

__all__ = ["run_interleaved", "rotated", "failure_note"]


def rotated(items: Sequence[Any], shift: int) -> list[Any]:
    """``items`` rotated left by ``shift`` places (round ``r`` starts with item ``r mod n``)."""
    if not items:
        return []
    k = shift % len(items)
    return list(items[k:]) + list(items[:k])


def failure_note(exc: Exception) -> str:
    """The table's note for a library that raised ``exc``: its type and first line."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"failed: {type(exc).__name__}: {first_line[:160]}"


def run_interleaved(
    workload: Workload,
    pairs: Sequence[tuple[str, str]],
    device: Any = "cpu",
    *,
    repeats: int = 7,
    warmup: int = 5,
    bandwidth: Bandwidth | None = None,
    measure_memory: bool = True,
    sync: Callable[[], object] | None = None,
) -> list:
    """One :class:`~spikeforge.bench.runner.Row` per ``(library, variant)`` of ``workload``, timed in rounds."""
    from .runner import REFERENCE, Row, _release

    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    sync = sync or (lambda: None)
    rows = {pair: Row(workload.name, *pair) for pair in pairs}
    fns: dict[tuple[str, str], Callable[[], object]] = {}

    def silence(library: str) -> contextlib.AbstractContextManager:
        return quiet() if library != REFERENCE else contextlib.nullcontext()

    for pair in pairs:  # build, first call, warm-up
        library, variant = pair
        row = rows[pair]
        if bandwidth is not None:
            row.floor_ms = 1e3 * floor_seconds(workload.floor_bytes(), bandwidth)
        adapter = get_adapter(library)
        if not adapter.available():
            row.note = f"skipped: {library} is not installed (pip install {library})"
            continue
        try:
            with silence(library):
                fn = adapter.build(workload, device, variant)
                gc.collect()
                sync()
                t0 = time.perf_counter()
                fn()
                sync()
                row.first_call_s = time.perf_counter() - t0
                for _ in range(warmup):
                    fn()
                sync()
            fns[pair] = fn
        except PeerUnavailable as exc:
            row.note = f"skipped: {exc}"
        except Exception as exc:  # a peer that breaks must not stop the others
            log.info("%s:%s failed on %s", library, variant, workload.name, exc_info=True)
            row.note = failure_note(exc)

    times: dict[tuple[str, str], list[float]] = {pair: [] for pair in fns}
    faults = {pair: 0 for pair in fns}
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    load = OtherLoad()
    try:
        with load:
            for r in range(repeats):
                for pair in rotated(list(fns), r):
                    try:
                        with silence(pair[0]):
                            f0 = _faults()
                            t0 = time.perf_counter()
                            fns[pair]()
                            sync()
                            times[pair].append(time.perf_counter() - t0)
                            f1 = _faults()
                    except Exception as exc:
                        log.info("%s:%s failed on %s", *pair, workload.name, exc_info=True)
                        rows[pair].note = failure_note(exc)
                        del fns[pair]
                        continue
                    if f0 is not None and f1 is not None:
                        faults[pair] += f1 - f0
    finally:
        if enabled:
            gc.enable()

    for pair, fn in fns.items():
        row = rows[pair]
        ts = times[pair]
        row.median_ms = 1e3 * statistics.median(ts)
        row.min_ms = 1e3 * min(ts)
        row.all_ms = [1e3 * t for t in ts]
        row.faults_per_call = faults[pair] / len(ts) if _faults() is not None else None
        row.other_load = load.cores  # over all the rounds, shared by the libraries
        if measure_memory:
            try:
                with silence(pair[0]):
                    peak = peak_bytes(fn, device)
                row.peak_mb = None if peak is None else peak / 1e6
            except Exception as exc:
                row.note = failure_note(exc)
    variants = {variant for _, variant in pairs}
    fns.clear()
    for variant in variants:
        _release(variant)
    return [rows[pair] for pair in pairs]
