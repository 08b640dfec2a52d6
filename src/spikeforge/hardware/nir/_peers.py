"""Run NIR graphs in snnTorch and Norse, for the interoperability tests and benchmark.

Not part of the public API. Each peer simulates a NIR graph one step at a time with its
own modules; these helpers feed a time-major input ``[T, B, ...]`` step by step and
stack the outputs, so the result compares directly with a spikeforge sequence module.

The networks are built so that the three libraries integrate the same equations: forward
Euler (``method="euler"``), reset to ``v_reset = 0`` in the step that spiked, no leak
potential, and the step each peer assumes (snnTorch's importer fixes ``dt = 1e-4``; Norse's
takes ``dt``, default ``1e-3``).
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["snntorch_from_nir", "norse_from_nir", "run_snntorch", "run_norse", "SNNTORCH_DT", "quiet"]

SNNTORCH_DT = 1e-4  # snnTorch's exporter and importer both fix this step


@contextlib.contextmanager
def quiet():
    """Silence the peers' prints, log lines and deprecation warnings while they load or run graphs."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        root.setLevel(level)


def snntorch_from_nir(graph: Any) -> nn.Module:
    from snntorch.import_nir import import_from_nir

    with quiet():
        return import_from_nir(graph)


def norse_from_nir(graph: Any, dt: float = 1e-3) -> nn.Module:
    import norse.torch as norse

    with quiet():
        return norse.from_nir(graph, dt=dt)


@torch.no_grad()
def run_snntorch(net: nn.Module, x: Tensor) -> Tensor:
    """Step an snnTorch network (hidden state in its modules, reset first) over ``x [T, B, ...]``."""
    import snntorch.utils

    snntorch.utils.reset(net)
    outs, state = [], None
    with quiet():
        for x_t in x.unbind(0):
            out = net(x_t) if state is None else net(x_t, state)
            if isinstance(out, tuple):
                out, state = out[0], (out[1] if len(out) > 1 else None)
                if isinstance(out, tuple):  # a neuron returning (spikes, mem)
                    out = out[0]
            outs.append(out)
    return torch.stack(outs)


@torch.no_grad()
def run_norse(net: nn.Module, x: Tensor) -> Tensor:
    """Step a Norse module (``out, state = net(x_t, state)``) over ``x [T, B, ...]``."""
    outs, state = [], None
    with quiet():
        for x_t in x.unbind(0):
            out, state = net(x_t, state)
            outs.append(out)
    return torch.stack(outs)
