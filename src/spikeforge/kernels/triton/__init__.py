"""Triton backend: GPU kernels (extra ``triton``).

On CUDA tensors the kernels compile for the GPU; with ``TRITON_INTERPRET=1`` set before
:mod:`.glif` is first imported, Triton's interpreter runs them on CPU tensors (slowly,
for tests).
"""

from __future__ import annotations

import importlib.util


def available() -> bool:
    """Whether triton is installed (the kernels compile on first use and are cached)."""
    return importlib.util.find_spec("triton") is not None
