"""Which backend runs a sequence module: ``backend="auto" | "torch" | "cpu" | "triton"``.

``"torch"`` is the plain-torch reference (the specification). ``"cpu"`` is the numba
kernel (extra ``cpu-kernels``), ``"triton"`` the Triton kernel for CUDA tensors (extra
``triton``; on the CPU only under ``TRITON_INTERPRET=1``, for tests). ``"auto"`` takes
the fastest backend that supports the call and falls back to ``"torch"``; a backend
named explicitly either runs or raises an error that says why — never a silent
fallback.
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

import torch
from torch import Tensor

from ..functional.model import NeuronModel
from .spec import surrogate_id

BACKENDS = ("auto", "torch", "cpu", "triton")
KERNEL_MODELS = ("lif", "if", "cuba_lif", "alif")
_EXTRA = {"cpu": ("numba", "cpu-kernels"), "triton": ("triton", "triton")}


_INSTALLED: dict[str, bool] = {}


def backend_installed(backend: str) -> bool:
    """Whether the package a kernel backend needs is importable (looked up once per process;
    a plain dict rather than ``functools.lru_cache``, which ``torch.compile`` warns about)."""
    if backend == "torch":
        return True
    if backend not in _INSTALLED:
        _INSTALLED[backend] = importlib.util.find_spec(_EXTRA[backend][0]) is not None
    return _INSTALLED[backend]


def _triton_interpreted() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def unsupported_reason(backend: str, model: NeuronModel, x: Tensor, p: Any) -> str | None:
    """Why ``backend`` cannot run this call, or ``None`` when it can."""
    if backend == "torch":
        return None
    if not backend_installed(backend):
        module, extra = _EXTRA[backend]
        return f"backend {backend!r} needs {module}: pip install 'spikeforge[{extra}]'"
    if model.name not in KERNEL_MODELS:
        return f"no fused kernel for the {model.name!r} model"
    if surrogate_id(p.surrogate) is None:
        return f"no fused kernel implements the surrogate {type(p.surrogate).__name__}"
    if x.dtype not in (torch.float32, torch.float64):
        return f"fused kernels take float32 or float64, got {x.dtype}"
    if backend == "cpu" and x.device.type != "cpu":
        return f"backend 'cpu' needs a CPU tensor, got one on {x.device}"
    if backend == "triton" and not (x.is_cuda or _triton_interpreted()):
        return "backend 'triton' needs a CUDA tensor (or TRITON_INTERPRET=1 for testing on the CPU)"
    neuron_shape = tuple(x.shape[2:])
    for name in model.continuous:
        value = getattr(p, name)
        if not isinstance(value, Tensor) or value.dim() == 0:
            continue  # a number broadcasts to any shape
        if value.dim() > len(neuron_shape):
            return f"parameter {name} has more dimensions than the neuron shape {neuron_shape}"
        if any(a != b and a != 1 for a, b in zip(reversed(value.shape), reversed(neuron_shape))):
            return f"parameter {name} does not broadcast to the neuron shape {neuron_shape}"
    return None


def resolve(backend: str, model: NeuronModel, x: Tensor, p: Any) -> str:
    """The backend that will run: ``backend`` itself, or the best one for ``"auto"``."""
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}; got {backend!r}")
    if backend == "auto":
        preferred = "triton" if x.is_cuda else "cpu"
        return preferred if unsupported_reason(preferred, model, x, p) is None else "torch"
    reason = unsupported_reason(backend, model, x, p)
    if reason is not None:
        error = ImportError if not backend_installed(backend) else ValueError
        raise error(reason)
    return backend
