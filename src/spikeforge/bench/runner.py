"""Run workloads in every library, one after another in one process, and tabulate.

For each workload, each ``(library, variant)``: build the closure (a library or variant
that cannot run here raises :class:`~spikeforge.bench.peers.PeerUnavailable` and becomes
a note), time it (:func:`~spikeforge.bench.timing.time_fn`: first call, warm-up,
median of the repeats), then measure the peak extra memory of one more call
(:func:`~spikeforge.bench.memory.peak_bytes`). A library that fails while running is
also a note: one broken peer does not stop the benchmark. The bandwidth floor of each
workload comes from one copy-bandwidth measurement made at the start.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import platform
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, Sequence

from .bandwidth import Bandwidth, copy_bandwidth, floor_seconds
from .interleaved import failure_note, run_interleaved
from .load import OtherLoad, wait_until_quiet
from .memory import peak_bytes
from .peers import ADAPTERS, PeerUnavailable, get_adapter, parse_spec
from .peers._common import quiet
from .timing import time_fn
from .workloads import Workload

log = logging.getLogger(__name__)

REFERENCE = "spikeforge"
"""Ratios are against the fastest spikeforge variant of the same workload."""


@dataclass
class Row:
    """One (workload, library, variant): timings in ms / s, memory in MB (10^6 bytes)."""

    workload: str
    library: str
    variant: str
    median_ms: float | None = None
    min_ms: float | None = None
    first_call_s: float | None = None
    peak_mb: float | None = None
    floor_ms: float | None = None
    all_ms: list[float] = field(default_factory=list)
    faults_per_call: float | None = None
    other_load: float | None = None
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.library}:{self.variant}"

    @property
    def ok(self) -> bool:
        return self.median_ms is not None


def default_libraries(device: Any = "cpu", *, compiled: bool = True) -> list[tuple[str, str]]:
    """Every adapter's default variants (unavailable peers included: they become notes).

    ``compiled=False`` leaves out the ``torch.compile`` variants (minutes of compilation).
    """
    out: list[tuple[str, str]] = []
    for name in ADAPTERS:
        out += [p for p in parse_spec(name, str(device)) if compiled or p[1] != "compiled"]
    return out


def _resolve(libraries: Iterable[str | tuple[str, str]] | None, device: Any) -> list[tuple[str, str]]:
    if libraries is None:
        return default_libraries(device)
    out: list[tuple[str, str]] = []
    for spec in libraries:
        out += [tuple(spec)] if isinstance(spec, tuple) else parse_spec(spec, str(device))  # type: ignore[list-item]
    return out


def _sync(device: Any) -> Callable[[], None] | None:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    return None


def run_one(
    workload: Workload,
    library: str,
    variant: str,
    device: Any = "cpu",
    *,
    repeats: int = 7,
    warmup: int = 5,
    bandwidth: Bandwidth | None = None,
    measure_memory: bool = True,
) -> Row:
    """Build, time and measure one ``(library, variant)`` on one workload."""
    row = Row(workload.name, library, variant)
    if bandwidth is not None:
        row.floor_ms = 1e3 * floor_seconds(workload.floor_bytes(), bandwidth)
    adapter = get_adapter(library)
    if not adapter.available():
        row.note = f"skipped: {library} is not installed (pip install {library})"
        return row
    fn = None
    # A peer's warnings (deprecated torch APIs, dynamo's own) are its business, not the table's.
    silence = quiet() if library != REFERENCE else contextlib.nullcontext()
    try:
        load = OtherLoad()  # over the timed calls only: compile workers are other processes
        with silence:
            fn = adapter.build(workload, device, variant)
            timing = time_fn(fn, repeats=repeats, warmup=warmup, sync=_sync(device), monitor=load)
            row.median_ms = 1e3 * timing.median_s
            row.min_ms = 1e3 * min(timing.all_s)
            row.first_call_s = timing.first_call_s
            row.all_ms = [1e3 * t for t in timing.all_s]
            row.faults_per_call = timing.faults_per_call
            if measure_memory:
                peak = peak_bytes(fn, device)
                row.peak_mb = None if peak is None else peak / 1e6
        row.other_load = load.cores
    except PeerUnavailable as exc:
        row.note = f"skipped: {exc}"
    except Exception as exc:  # a peer that breaks here must not stop the others
        log.info("%s:%s failed on %s", library, variant, workload.name, exc_info=True)
        row.note = failure_note(exc)
    finally:
        del fn
        _release(variant)
    return row


def _release(variant: str) -> None:
    gc.collect()
    if variant == "compiled":
        import torch

        torch._dynamo.reset()  # drop compiled graphs (and their memory) before the next library


def run_speed(
    workloads: Sequence[Workload],
    libraries: Iterable[str | tuple[str, str]] | None = None,
    device: Any = "cpu",
    repeats: int = 7,
    *,
    warmup: int = 5,
    bandwidth: Bandwidth | None = None,
    measure_memory: bool = True,
    quiet_wait_s: float = 0.0,
    quiet_threshold: float = 0.25,
    busy_retries: int = 0,
    interleave: bool = False,
    progress: Callable[[str], None] | None = None,
) -> list[Row]:
    """Run every workload in every ``(library, variant)``; returns one :class:`Row` each.

    ``libraries``: names (``"norse"``: its default variants) or ``"name:variant"``
    strings or ``(name, variant)`` pairs; ``None`` runs every adapter's defaults.
    ``bandwidth``: measured here when not given (pass one to skip the measurement).
    ``quiet_wait_s``: before each row, wait up to this long for the other processes
    to use fewer than ``quiet_threshold`` cores (see
    :func:`~spikeforge.bench.load.wait_until_quiet`). ``busy_retries``: measure a row
    again (at most this many times) when other processes used ``quiet_threshold`` cores
    or more during it; the quietest attempt is kept, with the *first* attempt's
    first-call time (later attempts may find compiled code in the caches).
    ``interleave``: time each workload's libraries in rounds, one call of each per round
    (:func:`~spikeforge.bench.interleaved.run_interleaved`), so that drift of the machine
    over minutes hits them alike; ``busy_retries`` does not apply then.
    ``progress`` is called with a line after each row (the CLI prints it).
    """
    pairs = _resolve(libraries, device)
    if bandwidth is None:
        bandwidth = copy_bandwidth(str(device))
    rows = []
    for w in workloads:
        if interleave:
            if quiet_wait_s > 0:
                wait_until_quiet(quiet_wait_s, threshold=quiet_threshold)
            block = run_interleaved(w, pairs, device, repeats=repeats, warmup=warmup, bandwidth=bandwidth,
                                    measure_memory=measure_memory, sync=_sync(device))
            rows += block
            for row in block:
                if progress is not None:
                    progress(_progress_line(row))
            continue
        for library, variant in pairs:
            row = None
            for attempt in range(1 + max(busy_retries, 0)):
                if quiet_wait_s > 0:
                    wait_until_quiet(quiet_wait_s, threshold=quiet_threshold)
                again = run_one(
                    w, library, variant, device,
                    repeats=repeats, warmup=warmup, bandwidth=bandwidth, measure_memory=measure_memory,
                )
                row = _keep_quieter(row, again)
                if not again.ok or again.other_load is None or again.other_load < quiet_threshold:
                    break
                if progress is not None:
                    progress(f"{_progress_line(again)} -- busy, measuring again")
            rows.append(row)
            if progress is not None:
                progress(_progress_line(row))
    return rows


def _keep_quieter(best: Row | None, new: Row) -> Row:
    if best is None:
        return new
    if not new.ok or (best.other_load or 0.0) <= (new.other_load or 0.0):
        return best
    new.first_call_s = best.first_call_s
    return new


def _progress_line(row: Row) -> str:
    if not row.ok:
        return f"{row.workload} | {row.label} | {row.note}"
    peak = "n/a" if row.peak_mb is None else f"{row.peak_mb:.1f} MB"
    busy = "n/a" if row.other_load is None else f"{row.other_load:.2f}"
    return (
        f"{row.workload} | {row.label} | {row.median_ms:.2f} ms (min {row.min_ms:.2f}) | first {row.first_call_s:.2f} s"
        f" | peak {peak} | other load {busy} cores"
    )


def _fmt(value: float | None, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)


def format_table(rows: Sequence[Row], bandwidth: Bandwidth | None = None) -> str:
    """A plain-text table, one block per workload, with the ratio to spikeforge and the floor.

    ``min ms`` is the fastest timed call (less disturbed by other processes than the
    median on a shared machine). ``x spikeforge`` is the row's median over the fastest
    spikeforge variant's median on the same workload (above 1: slower than spikeforge);
    ``x floor`` the row's median over the bandwidth floor; ``faults/call`` the page faults per
    timed call (see :class:`~spikeforge.bench.timing.TimingResult`); ``other load`` the cores other processes kept busy meanwhile
    (see :mod:`~spikeforge.bench.load`; rerun rows where it is well above 0).
    """
    header = ("library:variant", "median ms", "min ms", "first call s", "peak MB", "x spikeforge", "x floor",
              "faults/call", "other load")
    lines: list[str] = []
    if bandwidth is not None:
        lines.append(f"copy bandwidth: {bandwidth.gb_per_s:.1f} GB/s on {bandwidth.device} (read + write)")
    notes: list[str] = []
    for workload in dict.fromkeys(r.workload for r in rows):
        block = [r for r in rows if r.workload == workload]
        ref = [r.median_ms for r in block if r.library == REFERENCE and r.ok]
        best_ref = min(ref) if ref else None  # type: ignore[type-var]
        floor = next((r.floor_ms for r in block if r.floor_ms is not None), None)
        lines.append("")
        lines.append(f"{workload}   floor {_fmt(floor, '.2f')} ms")
        table = [header]
        for r in block:
            if not r.ok:
                notes.append(f"{workload} {r.label}: {r.note}")
                continue
            table.append((
                r.label,
                _fmt(r.median_ms, ".2f"),
                _fmt(r.min_ms, ".2f"),
                _fmt(r.first_call_s, ".2f"),
                _fmt(r.peak_mb, ".1f"),
                _fmt(None if best_ref is None else r.median_ms / best_ref, ".2f"),
                _fmt(None if not r.floor_ms else r.median_ms / r.floor_ms, ".1f"),
                _fmt(r.faults_per_call, ".0f"),
                _fmt(r.other_load, ".2f"),
            ))
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for i, cells in enumerate(table):
            lines.append("  ".join(c.ljust(widths[0]) if j == 0 else c.rjust(widths[j]) for j, c in enumerate(cells)))
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
    if notes:
        lines.append("")
        lines.append("notes:")
        lines += [f"  {n}" for n in notes]
    return "\n".join(lines)


def machine_info(device: Any = "cpu") -> dict[str, Any]:
    """What the figures were measured on: CPU, cores, threads, torch and peer versions."""
    import torch

    info: dict[str, Any] = {
        "platform": platform.platform(),
        "processor": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
    }
    if str(device).startswith("cuda") and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(torch.device(device))
    from importlib.metadata import PackageNotFoundError, version

    for dist in ("spikeforge", "snntorch", "spikingjelly", "norse"):
        try:
            info[dist] = version(dist)
        except PackageNotFoundError:
            info[dist] = None
    return info


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def rows_to_dicts(rows: Sequence[Row]) -> list[dict[str, Any]]:
    return [asdict(r) for r in rows]
