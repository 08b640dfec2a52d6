"""Launch the Triton kernels of :mod:`.glif` on torch tensors (same signatures as the
CPU backend's :mod:`spikeforge.kernels.cpu.launch`; outputs are written in place).

Recompute (an empty ``u_hist``) allocates, for the backward pass only, ``ceil(T / K)``
checkpoints of the 4-value state and ``K`` scratch rows of the histories, with
``K = ceil(sqrt(T))``: ``O(sqrt(T) * B * N)`` memory instead of the ``O(T * B * N)``
that saving the histories keeps alive from forward to backward.
"""

from __future__ import annotations

import contextlib
import math

import torch
import triton
from torch import Tensor

from . import glif

BLOCK = 128
NUM_WARPS = 4


def _grid(m: int) -> tuple[int]:
    return (triton.cdiv(m, BLOCK),)


def _check(m: int, *tensors: Tensor) -> contextlib.AbstractContextManager:
    """Validate the call; the context launches on the tensors' GPU (Triton uses the current one)."""
    if m >= 2**31:
        raise ValueError(f"spikeforge triton kernels take at most 2**31 - 1 neurons x batch, got {m}")
    if not all(t.is_contiguous() for t in tensors):
        raise ValueError("spikeforge triton kernels need contiguous tensors")
    x = tensors[0]
    return torch.cuda.device(x.device) if x.is_cuda else contextlib.nullcontext()


def _flags(nref, reset, has_syn, has_adapt) -> dict:
    return dict(NREF=int(nref), RESET=int(reset), HAS_SYN=bool(has_syn), HAS_ADAPT=bool(has_adapt),
                BLOCK=BLOCK, num_warps=NUM_WARPS, enable_fp_fusion=False)


def forward(x, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt, out, v_end, i_end, b_end, r_end,
            u_hist, i_hist, b_hist) -> None:
    steps, batch, n = x.shape
    m = batch * n
    if m == 0:
        return
    save = u_hist.numel() > 0
    hist = (u_hist, i_hist if has_syn else u_hist, b_hist if has_adapt else u_hist) if save else (x, x, x)
    with _check(m, x, v0, i0, b0, r0, coef, out, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist):
        glif.glif_forward_kernel[_grid(m)](
            x, v0, i0, b0, r0, coef, out, v_end, i_end, b_end, r_end, *hist, steps, m, n,
            SAVE=save, **_flags(nref, reset, has_syn, has_adapt),
        )


def backward(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef,
             nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, u_hist, i_hist, b_hist,
             grad_x, g_v0, g_i0, g_b0, g_coef) -> None:
    # coef_grad: the Triton kernel always computes the coefficient gradients (cheap on a GPU)
    steps, batch, n = x.shape
    m = batch * n
    if m == 0:
        return
    context = _check(m, x, grad_out, g_v_end, g_i_end, g_b_end, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist,
                     grad_x, g_v0, g_i0, g_b0, g_coef)
    recompute = u_hist.numel() == 0 and steps > 0
    if recompute:
        k = math.isqrt(steps - 1) + 1  # ceil(sqrt(T))
        checkpoints = x.new_empty((triton.cdiv(steps, k), 4, m))
        scratch = x.new_empty((1 + bool(has_syn) + bool(has_adapt), k, m))
        u_hist = scratch[0]
        i_hist = scratch[1] if has_syn else u_hist
        b_hist = scratch[-1] if has_adapt else u_hist
    else:
        k = max(steps, 1)
        checkpoints = x
        u_hist = u_hist if steps > 0 else x
        i_hist = i_hist if has_syn and steps > 0 else u_hist
        b_hist = b_hist if has_adapt and steps > 0 else u_hist
    p0, p1, p2, p3 = (float(v) for v in sp)
    with context:
        glif.glif_backward_kernel[_grid(m)](
            grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef, u_hist, i_hist, b_hist, checkpoints,
            grad_x, g_v0, g_i0, g_b0, g_coef, p0, p1, p2, p3, steps, m, n, k,
            DETACH=bool(detach), SID=int(sid), RECOMPUTE=recompute, **_flags(nref, reset, has_syn, has_adapt),
        )
