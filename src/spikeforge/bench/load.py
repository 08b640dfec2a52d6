"""How busy the rest of the machine was while we measured (Linux ``/proc``).

On a small machine another process skews timings badly: with 2 cores and 2 torch
threads, one busy core stalls every parallel region at its barrier (a 2 ms step can
take 24 ms). :class:`OtherLoad` reads the machine's busy CPU time (``/proc/stat``) and
this process's own (``/proc/self/stat``) before and after a block; the difference is
the CPU the *other* processes used, in cores. Figures measured while it is well above
0 should be rerun on a quiet machine. Without ``/proc`` it reports ``None``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _machine_busy_ticks() -> int | None:
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
    except (OSError, IndexError):
        return None
    if fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:]]
    # user nice system idle iowait irq softirq steal [guest guest_nice: already in user/nice]
    busy = values[0] + values[1] + values[2] + sum(values[5:8])
    return busy


def _own_ticks() -> int | None:
    try:
        text = Path("/proc/self/stat").read_text()
    except OSError:
        return None
    rest = text.rsplit(")", 1)[1].split()  # fields after "(comm)"; utime, stime are 14, 15
    return int(rest[11]) + int(rest[12])


class OtherLoad:
    """Context manager: ``with OtherLoad() as load: ...``; then ``load.cores`` (or ``None``)."""

    cores: float | None = None

    def __enter__(self) -> "OtherLoad":
        self._t0 = time.perf_counter()
        self._busy0 = _machine_busy_ticks()
        self._own0 = _own_ticks()
        return self

    def __exit__(self, *exc: object) -> None:
        wall = time.perf_counter() - self._t0
        busy1, own1 = _machine_busy_ticks(), _own_ticks()
        if None in (self._busy0, self._own0, busy1, own1) or wall <= 0:
            self.cores = None
            return
        other = (busy1 - self._busy0) - (own1 - self._own0)  # type: ignore[operator]
        self.cores = max(other, 0) / _TICKS / wall


def wait_until_quiet(max_wait_s: float, *, threshold: float = 0.25, window_s: float = 1.0) -> float | None:
    """Wait (up to ``max_wait_s``) until other processes use under ``threshold`` cores
    over a ``window_s`` window; returns the last reading (``None`` without ``/proc``)."""
    deadline = time.perf_counter() + max_wait_s
    while True:
        with OtherLoad() as load:
            time.sleep(window_s)
        if load.cores is None or load.cores < threshold or time.perf_counter() >= deadline:
            return load.cores
