"""Output buffers of the CPU kernels, allocated where fresh memory is cheap.

``torch.empty`` on the CPU asks the C library for every large tensor anew, and glibc
hands out large blocks as new mappings and returns them to the system when freed:
the next call touches fresh pages again, one page fault per 4 KB. In a virtual
machine a fault costs microseconds, so for a 26 MB tensor (``T, B, N = 100, 16, 4096``
in float32) the faults alone took about 12 ms on the machine this was written on,
longer than the kernel that fills it. NumPy's allocator backs large arrays with
transparent huge pages where the system allows it and its freed blocks get reused, so
the same buffer allocated through NumPy cost 0 faults and 2 ms to fill in a loop. The
kernels' large outputs (spikes, input gradients) are therefore NumPy arrays viewed as
tensors (``torch.from_numpy``: the tensor owns the array, nothing is copied).

Fresh NumPy memory still costs its first touch: each new huge page is zeroed by the
system when first written (at (100, 16, 4096) the forward kernel took 4.7 ms writing
into a fresh buffer against 3.3 ms into one it had written before). So the buffers are
also **recycled**: each large buffer is kept in a pool with a weak reference to the
array the tensor was made from; once that array is gone (the tensor and every view of
its storage have been freed) the buffer is handed out again for the next request of
the same size. The pool keeps at most :data:`RECYCLE_LIMIT_BYTES` of free buffers
(oldest dropped first); :func:`release_cached` empties it, which a memory measurement
does first so that it counts what a call really allocates.
"""

from __future__ import annotations

import math
import threading
import weakref

import numpy as np
import torch
from torch import Tensor

NUMPY_FROM_BYTES = 1 << 20
"""Tensors at least this large (1 MiB) go through NumPy; smaller ones through ``torch.empty``."""

RECYCLE_LIMIT_BYTES = 1 << 31
"""Free buffers the pool keeps at most (2 GiB); more are returned to the system."""

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}
_POOL: list = []  # [(nbytes, uint8 buffer, weak reference to the array handed out, or None)], oldest first
_LOCK = threading.Lock()


def _is_free(entry) -> bool:
    return entry[2] is None or entry[2]() is None


def _recycled(shape: tuple[int, ...], dtype, nbytes: int) -> np.ndarray:
    """An array of ``shape`` on a free pooled buffer of ``nbytes`` bytes, or on a new one."""
    with _LOCK:
        for k, entry in enumerate(_POOL):
            if entry[0] == nbytes and _is_free(entry):
                buf = entry[1]
                del _POOL[k]
                break
        else:
            buf = np.empty(nbytes, dtype=np.uint8)
        array = buf.view(dtype).reshape(shape)
        _POOL.append((nbytes, buf, weakref.ref(array)))
        _trim()
    return array


def _trim() -> None:
    """Drop the oldest free buffers until at most :data:`RECYCLE_LIMIT_BYTES` are free."""
    free = sum(entry[0] for entry in _POOL if _is_free(entry))
    k = 0
    while free > RECYCLE_LIMIT_BYTES and k < len(_POOL):
        if _is_free(_POOL[k]):
            free -= _POOL[k][0]
            del _POOL[k]
        else:
            k += 1


def release_cached() -> int:
    """Return every free pooled buffer to the system; the number of bytes released."""
    with _LOCK:
        free = [entry for entry in _POOL if _is_free(entry)]
        _POOL[:] = [entry for entry in _POOL if not _is_free(entry)]
    return sum(entry[0] for entry in free)


def cached_bytes() -> int:
    """Bytes of free buffers the pool holds now."""
    with _LOCK:
        return sum(entry[0] for entry in _POOL if _is_free(entry))


def empty_like(x: Tensor) -> Tensor:
    """An uninitialised contiguous tensor of ``x``'s shape, dtype and device (see the module
    docstring for why large CPU ones come from NumPy)."""
    return empty(tuple(x.shape), x)


def empty(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """An uninitialised contiguous tensor of ``shape`` with ``like``'s dtype and device."""
    dtype = _NUMPY_DTYPES.get(like.dtype)
    nbytes = like.element_size() * math.prod(shape)
    if like.device.type != "cpu" or dtype is None or nbytes < NUMPY_FROM_BYTES:
        return torch.empty(shape, dtype=like.dtype, device=like.device)
    return torch.from_numpy(_recycled(shape, dtype, nbytes))
