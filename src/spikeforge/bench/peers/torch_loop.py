r"""The baseline: a LIF loop written by hand in plain PyTorch, the way most users would.

.. math::
    u_t = 0.5\,v_{t-1} + 0.5\,x_t, \qquad s_t = \Theta(u_t - 1), \qquad v_t = u_t - s_t

(decay 0.5 with the input scaled by ``1 - decay``, threshold 1, reset by subtraction
outside the gradient), with the ATan surrogate (``alpha = 2``) in the backward pass.
Variants: ``"eager"``, ``"compiled"`` (the same function under ``torch.compile``).
"""

from __future__ import annotations

import math
from typing import Any, Callable

from ..workloads import DECAY, SRNN, THRESHOLD, LIFOnly, LinearLIF, Workload
from ._common import (
    check_device,
    check_variant,
    closure,
    make_linear,
    make_srnn_weights,
    maybe_compile,
    srnn_loop,
    unsupported,
)

NAME = "torch_loop"
VARIANTS = ("eager", "compiled")
ALPHA = 2.0


def default_variants(device: Any = "cpu") -> tuple[str, ...]:
    return ("eager",)


def available() -> bool:
    try:
        import torch  # noqa: F401
    except Exception:
        return False
    return True


def _spike_function() -> Any:
    import torch

    class ATanSpike(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any) -> Any:
            ctx.save_for_backward(x)
            return (x >= 0).to(x.dtype)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            (x,) = ctx.saved_tensors
            return grad * (ALPHA / 2) / (1 + (math.pi / 2 * ALPHA * x) ** 2)

    return ATanSpike.apply


def _step(spike: Callable) -> Callable:
    def step(x: Any, v: Any) -> tuple[Any, Any]:
        u = DECAY * v + (1 - DECAY) * x
        s = spike(u - THRESHOLD)
        return s, u - s.detach() * THRESHOLD

    return step


def lif_loop(x: Any, spike: Callable) -> Any:
    """Plain LIF over ``x [T, B, N]``; returns the spikes ``[T, B, N]``."""
    import torch

    step = _step(spike)
    v = torch.zeros_like(x[0])
    outs = []
    for x_t in x.unbind(0):  # unbind: T selects would make the backward quadratic in T
        s, v = step(x_t, v)
        outs.append(s)
    return torch.stack(outs)


def build(workload: Workload, device: Any = "cpu", variant: str = "eager") -> Callable[[], None]:
    check_variant(NAME, variant, VARIANTS)
    device = check_device(device)
    import torch

    spike = _spike_function()
    if isinstance(workload, LIFOnly):
        fwd = maybe_compile(lambda x: lif_loop(x, spike), variant == "compiled", workload)
        return closure(fwd, workload, device)
    if isinstance(workload, LinearLIF):
        linear = make_linear(workload, device)
        fwd = maybe_compile(lambda x: lif_loop(linear(x), spike), variant == "compiled", workload)
        return closure(fwd, workload, device, linear.parameters())
    if isinstance(workload, SRNN):
        w_in, w_rec = make_srnn_weights(workload, device)
        step = _step(spike)

        def srnn(x: Any) -> Any:
            return srnn_loop(x, w_in, w_rec, step, torch.zeros(x.shape[1], workload.N, device=x.device))

        fwd = maybe_compile(srnn, variant == "compiled", workload)
        return closure(fwd, workload, device, [*w_in.parameters(), *w_rec.parameters()])
    raise unsupported(NAME, workload)
