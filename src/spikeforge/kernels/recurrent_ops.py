"""The recurrent (SRNN) kernel as ``torch.library`` custom ops, with fake (shape-only)
versions and autograd, so ``torch.compile`` and ``torch.export`` see through them.

``spikeforge::recurrent_glif_forward`` runs the generalised LIF recurrence of
:mod:`spikeforge.kernels.spec` over the input currents ``x [T, B, H]`` with the
recurrent product ``W_rec z_{t-1}`` added at every step (``z_{-1}`` is ``z0``);
``spikeforge::recurrent_glif_backward`` is its reverse-time pass, returning the
gradients of ``x``, ``W_rec``, ``z0``, the neuron state and the ``[9, H]``
coefficients. ``save`` is 0 for inference, 1 to store the membrane history and 2 to
recompute it in backward, as for :mod:`.ops` (whenever the histories were not stored,
the backward pass recomputes them). ``backend`` is ``"cpu"`` (the only
implementation so far).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from . import eager, memory


def _history_shapes(x: Tensor, save: int, has_syn: int, has_adapt: int) -> tuple:
    """The shapes of ``u_hist, i_hist, b_hist``: ``x``'s when stored (``save=1``), else empty."""
    full, empty = tuple(x.shape), (0, 0, 0)
    return (full if save == 1 else empty, full if save == 1 and has_syn else empty,
            full if save == 1 and has_adapt else empty)


def _impl(backend: str) -> Any:
    if backend == "cpu":
        from .cpu import recurrent
    else:
        raise ValueError(f"no recurrent kernel for backend {backend!r} (only 'cpu')")
    return recurrent


def _forward_impl(x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save,
                  backend):
    hist = [memory.empty(s, x) for s in _history_shapes(x, save, has_syn, has_adapt)]
    out = memory.empty_like(x)
    ends = [torch.empty_like(v0) for _ in range(4)]
    _impl(backend).run_forward(x, w, z0, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt, out, *ends, *hist)
    return (out, *ends, *hist)


@torch.library.custom_op("spikeforge::recurrent_glif_forward", mutates_args=())
def recurrent_glif_forward(
    x: Tensor, w: Tensor, z0: Tensor, v0: Tensor, i0: Tensor, b0: Tensor, r0: Tensor, coef: Tensor,
    nref: int, reset: int, detach: int, has_syn: int, has_adapt: int, sid: int, sp: list[float],
    save: int, backend: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Forward pass; returns ``(spikes, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist)``."""
    return _forward_impl(x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save,
                         backend)


@recurrent_glif_forward.register_fake
def _(x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend):
    hist = [x.new_empty(s) for s in _history_shapes(x, save, has_syn, has_adapt)]
    return (torch.empty_like(x), *(torch.empty_like(v0) for _ in range(4)), *hist)


def _backward_impl(grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist,
                   b_hist, nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, w_grad, backend):
    grad_x = memory.empty_like(x)
    g0 = [torch.empty_like(v0) for _ in range(4)]
    grad_w, g_coef = _impl(backend).run_backward(
        grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef,
        nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, w_grad, u_hist, i_hist, b_hist,
        grad_x, *g0,
    )
    return grad_x, grad_w, *g0, g_coef


@torch.library.custom_op("spikeforge::recurrent_glif_backward", mutates_args=())
def recurrent_glif_backward(
    grad_out: Tensor, g_v_end: Tensor, g_i_end: Tensor, g_b_end: Tensor,
    x: Tensor, w: Tensor, out: Tensor, z0: Tensor, v0: Tensor, i0: Tensor, b0: Tensor, r0: Tensor, coef: Tensor,
    u_hist: Tensor, i_hist: Tensor, b_hist: Tensor,
    nref: int, reset: int, detach: int, has_syn: int, has_adapt: int, sid: int, sp: list[float],
    coef_grad: int, w_grad: int, backend: str,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Backward pass; returns ``(grad_x, grad_w, grad_z0, grad_v0, grad_i0, grad_b0, grad_coef [9, H])``.

    ``grad_coef`` (``grad_w``) is zeros, and its work skipped, unless ``coef_grad``
    (``w_grad``) is set."""
    return _backward_impl(grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist,
                          b_hist, nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, w_grad, backend)


@recurrent_glif_backward.register_fake
def _(grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist,
      nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, w_grad, backend):
    return (
        torch.empty_like(x), torch.empty_like(w), *(torch.empty_like(v0) for _ in range(4)),
        coef.new_empty(coef.shape),
    )


def _setup_context(ctx: Any, inputs: tuple, output: tuple) -> None:
    x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend = inputs
    out, _, _, _, _, u_hist, i_hist, b_hist = output
    ctx.save_for_backward(x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist)
    ctx.config = (nref, reset, detach, has_syn, has_adapt, sid, sp)
    ctx.backend = backend
    ctx.set_materialize_grads(False)  # the histories and r_end get no gradient: skip their zeros


def _backward(ctx: Any, grad_out, g_v_end, g_i_end, g_b_end, *unused: Any) -> tuple:
    x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist = ctx.saved_tensors  # empty histories: recompute
    grads = [g if g is not None else torch.zeros_like(ref) for g, ref in
             ((grad_out, x), (g_v_end, v0), (g_i_end, v0), (g_b_end, v0))]
    needs = ctx.needs_input_grad
    backward = _backward_impl if getattr(ctx, "eager", False) else recurrent_glif_backward
    grad_x, grad_w, g_z0, g_v0, g_i0, g_b0, g_coef = backward(
        *(g.contiguous() for g in grads), x, w, out, z0, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist,
        *ctx.config, int(needs[7]), int(needs[1]), ctx.backend,
    )
    return (grad_x, grad_w if needs[1] else None, g_z0, g_v0, g_i0, g_b0, None,
            g_coef if needs[7] else None, *([None] * 9))


torch.library.register_autograd(
    "spikeforge::recurrent_glif_forward", _backward, setup_context=_setup_context
)

_RecurrentForward = eager.autograd_function("RecurrentGlifForward", _forward_impl, _setup_context, _backward)


def forward(*args: Any) -> tuple:
    """``recurrent_glif_forward(*args)``: through the custom op where something needs it,
    else straight through the same implementation (see :mod:`.eager`)."""
    return eager.call(recurrent_glif_forward, _RecurrentForward, *args)
