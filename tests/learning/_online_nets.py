"""Small float64 networks and helpers for the online-rule tests (torch backends: no compile time)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

import spikeforge.nn as snn
from spikeforge.learning.objectives import objective_from_name
from spikeforge.learning.rules import BPTT

T, B, I, H, C = 24, 3, 5, 6, 3
DT = torch.float64


def hidden(kind: str, size: int = H, **kw) -> nn.Module:
    """A LIF or ALIF population with per-neuron learnable time constants (and knobs via ``kw``)."""
    g = torch.Generator().manual_seed(size)
    common = dict(tau_mem=torch.rand(size, generator=g, dtype=DT) * 10e-3 + 5e-3, learn_tau_mem=True, r=3.0,
                  backend="torch", dtype=DT)
    if kind == "lif":
        return snn.LIF(size, **common, **kw)
    return snn.ALIF(size, **common, tau_adp=torch.rand(size, generator=g, dtype=DT) * 50e-3 + 20e-3, beta=0.5,
                    v_threshold=0.5, learn_tau_adp=True, **kw)


def readout(tau: float = 10e-3) -> nn.Module:
    """LI readout, one decay for all neurons, learnable; ``tau=1e-6`` with ``dt=1e-3`` makes it
    memoryless (d = e^-1000 = 0, so its time constant is fixed: its gradient is 0)."""
    return snn.LI(C, tau_mem=tau, learn_tau_mem=tau > 1e-4, backend="torch", dtype=DT)


def linear(i: int, o: int, seed: int) -> nn.Linear:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Linear(i, o, dtype=DT)


def data(seed: int = 0, steps: int = T, per_step: bool = True) -> tuple[Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(steps, B, I, generator=g, dtype=DT) * 2
    y = torch.randint(0, C, (steps, B) if per_step else (B,), generator=g)
    return x, y


def grads(model: nn.Module, rule, x: Tensor, y: Tensor, objective) -> dict[str, Tensor]:
    model.zero_grad(set_to_none=True)
    rule.step(model, x, y, objective)
    return {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


def bptt_grads(model: nn.Module, x: Tensor, y: Tensor, objective) -> dict[str, Tensor]:
    return grads(model, BPTT(), x, y, objective)


def assert_exact(model: nn.Module, rule, x: Tensor, y: Tensor, objective, tol: float = 1e-5) -> None:
    """Every parameter's update equals BPTT's gradient within ``tol`` (relative to the largest entry)."""
    want, got = bptt_grads(model, x, y, objective), grads(model, rule, x, y, objective)
    assert set(got) == set(want), (sorted(got), sorted(want))
    for name, w in want.items():
        scale = max(float(w.abs().max()), 1e-12)
        err = float((got[name] - w).abs().max())
        assert err <= tol * scale, f"{name}: max error {err:.3g} vs gradient scale {scale:.3g}"
        assert float(w.abs().max()) > 0, f"{name}: BPTT gradient is zero, the test checks nothing"


def cosine(model: nn.Module, rule, x: Tensor, y: Tensor, objective, names: list[str]) -> float:
    want, got = bptt_grads(model, x, y, objective), grads(model, rule, x, y, objective)
    a = torch.cat([want[n].flatten() for n in names])
    b = torch.cat([got[n].flatten() for n in names])
    return float(torch.nn.functional.cosine_similarity(a, b, 0))


PER_STEP = objective_from_name("per_step")
MEAN = objective_from_name("mean_membrane")
COUNT = objective_from_name("spike_count")
