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
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

NUMPY_FROM_BYTES = 1 << 20
"""Tensors at least this large (1 MiB) go through NumPy; smaller ones through ``torch.empty``."""

_NUMPY_DTYPES = {torch.float32: np.float32, torch.float64: np.float64}


def empty_like(x: Tensor) -> Tensor:
    """An uninitialised contiguous tensor of ``x``'s shape, dtype and device (see the module
    docstring for why large CPU ones come from NumPy)."""
    return empty(tuple(x.shape), x)


def empty(shape: tuple[int, ...], like: Tensor) -> Tensor:
    """An uninitialised contiguous tensor of ``shape`` with ``like``'s dtype and device."""
    dtype = _NUMPY_DTYPES.get(like.dtype)
    nbytes = like.element_size() * int(np.prod(shape, dtype=np.int64))
    if like.device.type != "cpu" or dtype is None or nbytes < NUMPY_FROM_BYTES:
        return torch.empty(shape, dtype=like.dtype, device=like.device)
    return torch.from_numpy(np.empty(shape, dtype=dtype))
