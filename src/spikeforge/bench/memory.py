"""Peak extra memory of one call, measured in-process.

CPU (Linux): the kernel keeps the peak resident set size of the process (``VmHWM``
in ``/proc/self/status``); writing ``5`` to ``/proc/self/clear_refs`` resets it to
the current resident size. So: collect garbage, reset the peak, read the baseline
``VmRSS``, run the call once, read ``VmHWM``; the difference is the most memory the
call held at once above what was already resident. PyTorch's CPU allocator is plain
``malloc``/``free``; glibc keeps freed blocks below its (adaptive, up to 32 MB) mmap
threshold resident for reuse, so a warmed-up call could reuse pages that are already
counted in the baseline and show ~0. The probe therefore calls glibc's
``malloc_trim(0)`` first, which hands every free page back to the system: pages the
call touches again are counted. Without ``/proc`` (macOS, Windows, some sandboxes)
the probe reports ``None`` ("n/a").

CUDA: ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, less
the memory allocated before the call.

Run the closure at least once before measuring (warm-up), so that one-off
allocations (compiled code, caches, lazily built buffers) are not counted.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
from functools import lru_cache
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])  # "VmHWM:   123456 kB"
    return None


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        lib = ctypes.CDLL(name or "libc.so.6")
        lib.malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None
    return lib


def release_free_memory() -> None:
    """``gc.collect()``, the kernels' recycled buffers returned
    (:func:`spikeforge.kernels.memory.release_cached`), then glibc's ``malloc_trim(0)``
    (a no-op elsewhere)."""
    from ..kernels.memory import release_cached

    gc.collect()
    release_cached()
    lib = _libc()
    if lib is not None:
        lib.malloc_trim(0)


def rss_probe_available() -> bool:
    """Whether the peak-RSS reset works here (Linux ``/proc`` present and writable)."""
    if _status_kib("VmHWM") is None:
        return False
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_bytes(fn: Callable[[], object]) -> int | None:
    """Peak resident memory above the baseline while ``fn()`` runs once, in bytes.

    Returns ``None`` when ``/proc`` does not allow the measurement.
    """
    release_free_memory()
    try:
        _CLEAR_REFS.write_text("5")  # VmHWM := VmRSS
    except OSError as exc:
        log.debug("peak RSS probe unavailable: %s", exc)
        return None
    base = _status_kib("VmRSS")
    if base is None:
        return None
    fn()
    peak = _status_kib("VmHWM")
    if peak is None:
        return None
    return max(peak - base, 0) * 1024


def peak_cuda_bytes(fn: Callable[[], object], device: object = None) -> int:
    """Peak CUDA memory allocated above the baseline while ``fn()`` runs once, in bytes."""
    import torch

    gc.collect()
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    fn()
    torch.cuda.synchronize(device)
    return max(torch.cuda.max_memory_allocated(device) - base, 0)


def peak_bytes(fn: Callable[[], object], device: object = "cpu") -> int | None:
    """Peak extra memory of one call of ``fn`` on ``device`` (``None``: not measurable)."""
    import torch

    dev = torch.device(device)
    if dev.type == "cuda":
        return peak_cuda_bytes(fn, dev)
    if dev.type == "cpu":
        return peak_rss_bytes(fn)
    return None


def format_mb(nbytes: int | None) -> str:
    """``"123.4"`` (MB, 10^6 bytes) or ``"n/a"``."""
    return "n/a" if nbytes is None else f"{nbytes / 1e6:.1f}"
