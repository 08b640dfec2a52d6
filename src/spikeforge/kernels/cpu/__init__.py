"""CPU backend: numba kernels (extra ``cpu-kernels``)."""

from __future__ import annotations

import importlib.util


def available() -> bool:
    """Whether numba is installed (the kernels compile on first use and are cached)."""
    return importlib.util.find_spec("numba") is not None
