"""The fused kernels as ``torch.library`` custom ops, with fake (shape-only) versions
and autograd, so ``torch.compile`` and ``torch.export`` see through them.

``spikeforge::glif_forward`` runs the generalised LIF recurrence of
:mod:`spikeforge.kernels.spec` over ``x [T, B, N]``; ``spikeforge::glif_backward`` is
its reverse-time pass. ``backend`` (``"cpu"`` or ``"triton"``) picks the
implementation. With ``save=1`` the forward pass stores the membrane history ``u``
(and ``i``, ``b``) for the backward pass; with ``save=0`` it stores nothing (inference,
or ``recompute=True``) and a backward pass, if one comes, recomputes the history from
the saved input and initial state: ``O(T)`` less memory for one more pass over time.
The CPU backend always recomputes (``save`` is ignored there).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import eager, memory
from .spec import COEFFICIENTS

N_COEF = len(COEFFICIENTS)
_EMPTY3 = (0, 0, 0)


def _impl(backend: str) -> Any:
    if backend == "cpu":
        from .cpu import launch
    elif backend == "triton":
        from .triton import launch
    else:
        raise ValueError(f"unknown kernel backend {backend!r}")
    return launch


def _history_shapes(x: Tensor, save: int, has_syn: int, has_adapt: int, backend: str) -> tuple:
    """Shapes of the stored ``u, i, b`` histories: full with ``save=1``, except on the CPU,
    whose kernels always recompute them (faster there than storing; see ``cpu/glif.py``)."""
    save = save if backend != "cpu" else 0
    full = tuple(x.shape)
    return (
        full if save == 1 else _EMPTY3,
        full if save == 1 and has_syn else _EMPTY3,
        full if save == 1 and has_adapt else _EMPTY3,
    )


def _forward_impl(x, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend):
    hist = [memory.empty(s, x) for s in _history_shapes(x, save, has_syn, has_adapt, backend)]
    out = memory.empty_like(x)
    ends = [torch.empty_like(v0) for _ in range(4)]
    _impl(backend).forward(x, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt, out, *ends, *hist)
    return (out, *ends, *hist)


@torch.library.custom_op("spikeforge::glif_forward", mutates_args=())
def glif_forward(
    x: Tensor, v0: Tensor, i0: Tensor, b0: Tensor, r0: Tensor, coef: Tensor,
    nref: int, reset: int, detach: int, has_syn: int, has_adapt: int, sid: int, sp: list[float],
    save: int, backend: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Forward pass; returns ``(spikes, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist)``."""
    return _forward_impl(x, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend)


@glif_forward.register_fake
def _(x, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend):
    hist = [x.new_empty(s) for s in _history_shapes(x, save, has_syn, has_adapt, backend)]
    return (torch.empty_like(x), *(torch.empty_like(v0) for _ in range(4)), *hist)


def _backward_impl(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist,
                   nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, backend):
    grad_x = memory.empty_like(x)
    g0 = [torch.empty_like(v0) for _ in range(3)]
    # per-row coefficient gradients [9, B, N]: written in full when asked for (the Triton
    # kernel always computes them); the CPU kernel leaves them alone otherwise
    rows = bool(coef_grad) or backend == "triton"
    g_coef = memory.empty((N_COEF, *v0.shape), x) if rows else x.new_empty((N_COEF, 0, 0))
    _impl(backend).backward(
        grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef,
        nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, u_hist, i_hist, b_hist,
        grad_x, *g0, g_coef,
    )
    grad_coef = g_coef.sum(1) if coef_grad else x.new_zeros((N_COEF, v0.shape[1]))
    return grad_x, *g0, grad_coef


@torch.library.custom_op("spikeforge::glif_backward", mutates_args=())
def glif_backward(
    grad_out: Tensor, g_v_end: Tensor, g_i_end: Tensor, g_b_end: Tensor,
    x: Tensor, out: Tensor, v0: Tensor, i0: Tensor, b0: Tensor, r0: Tensor, coef: Tensor,
    u_hist: Tensor, i_hist: Tensor, b_hist: Tensor,
    nref: int, reset: int, detach: int, has_syn: int, has_adapt: int, sid: int, sp: list[float],
    coef_grad: int, backend: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward pass; returns ``(grad_x, grad_v0, grad_i0, grad_b0, grad_coef [9, N])``.

    With ``coef_grad=0`` the coefficient gradient is not computed (returned as zeros).
    """
    return _backward_impl(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef, u_hist, i_hist,
                          b_hist, nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, backend)


@glif_backward.register_fake
def _(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist,
      nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, backend):
    return (torch.empty_like(x), *(torch.empty_like(v0) for _ in range(3)), coef.new_empty(coef.shape))


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    x, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend = inputs
    out, _, _, _, _, u_hist, i_hist, b_hist = output
    ctx.save_for_backward(x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist)
    ctx.config = (nref, reset, detach, has_syn, has_adapt, sid, sp)
    ctx.backend = backend


def _backward(ctx: Any, grad_out, g_v_end, g_i_end, g_b_end, *unused: Any) -> tuple:
    x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist = ctx.saved_tensors  # empty histories: recompute
    grads = [g if g is not None else torch.zeros_like(ref) for g, ref in
             ((grad_out, x), (g_v_end, v0), (g_i_end, v0), (g_b_end, v0))]
    backward = _backward_impl if getattr(ctx, "eager", False) else glif_backward
    grad_x, g_v0, g_i0, g_b0, g_coef = backward(
        *(g.contiguous() for g in grads), x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist, *ctx.config,
        int(ctx.needs_input_grad[5]), ctx.backend,
    )
    return grad_x, g_v0, g_i0, g_b0, None, g_coef, *([None] * 9)


torch.library.register_autograd("spikeforge::glif_forward", _backward, setup_context=_setup_context)

_GlifForward = eager.autograd_function("GlifForward", _forward_impl, _setup_context, _backward)


def forward(*args: Any) -> tuple:
    """``glif_forward(*args)``: through the custom op where something needs it (compiling,
    tracing, fake tensors), else straight through the same implementation (see
    :mod:`.eager`)."""
    return eager.call(glif_forward, _GlifForward, *args)
