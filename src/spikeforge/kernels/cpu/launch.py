"""Call the numba kernels of :mod:`.glif` on torch tensors (zero-copy through numpy).

The kernels' blocks are spread over torch's thread count
(:mod:`.threads`); calls of fewer than :data:`SERIAL_BELOW` elements run on one: waking
threads costs more than the work, and on a busy machine waiting for a second core to
be scheduled can take milliseconds.
"""

from __future__ import annotations

from torch import Tensor

from . import glif, lean
from .threads import run_tasks, thread_count

SERIAL_BELOW = 1 << 18  # elements of x


def _np(t: Tensor):
    return t.detach().numpy()


def forward(x, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt, out, v_end, i_end, b_end, r_end,
            u_hist, i_hist, b_hist) -> None:
    """The spikes and the final state. The CPU kernels never store a history (see
    :mod:`.glif`): ``u_hist, i_hist, b_hist`` must be empty."""
    if u_hist.numel() or i_hist.numel() or b_hist.numel():
        raise ValueError("the CPU kernels recompute the history in the backward pass; pass empty histories")
    kernel = lean.forward_kernel_for(reset, bool(has_syn), bool(has_adapt), nref > 0, _np(coef))
    steps, batch, n = x.shape
    threads = thread_count(x.numel(), glif.forward_blocks(batch, n), serial_below=SERIAL_BELOW)
    run_tasks(kernel, threads, _np(x), _np(v0), _np(i0), _np(b0), _np(r0), _np(coef), nref, reset,
              _np(out), _np(v_end), _np(i_end), _np(b_end), _np(r_end))


def backward(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef,
             nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, u_hist, i_hist, b_hist,
             grad_x, g_v0, g_i0, g_b0, g_coef) -> None:
    """The reverse-time pass; recomputes the history from ``x`` and the initial state
    (``out`` and the histories are not read)."""
    kernel = lean.backward_kernel_for(reset, bool(has_syn), bool(has_adapt), nref > 0, bool(coef_grad), sid,
                                      _np(coef))
    steps, batch, n = x.shape
    blocks = glif.backward_blocks(steps, batch, n, reset, bool(has_syn), bool(has_adapt), nref > 0,
                                  bool(coef_grad), x.element_size())
    run_tasks(
        kernel, thread_count(x.numel(), blocks, serial_below=SERIAL_BELOW),
        _np(grad_out), _np(g_v_end), _np(g_i_end), _np(g_b_end), _np(x),
        _np(v0), _np(i0), _np(b0), _np(r0), _np(coef),
        nref, reset, bool(detach), sid, *[float(v) for v in sp], bool(coef_grad),
        _np(grad_x), _np(g_v0), _np(g_i0), _np(g_b0), _np(g_coef),
    )
