"""CPU (numba) kernels of the plain layer, and the choice between them and :mod:`.glif`'s.

The plain layer is the LIF or IF layer with scalar parameters, none learnable, no
refractory period and a subtracting (or no) reset: the :data:`.glif.LEAN` case with
:func:`shared_coefficients`. Its kernels keep the coefficients in scalars (registers)
instead of loading five coefficient rows at every step of both passes, and its backward
replay evaluates the surrogate derivative inside the step loop instead of storing
``z = u - theta`` and sweeping it again (a loop can only evaluate one surrogate if the
choice is a compile-time constant, so there is one small backward kernel per surrogate).
The arithmetic is :func:`.glif._step_row`'s on scalars: the spikes are the general
kernels' and the reference's bit for bit. Blocks, tasks and the scratch follow
:mod:`.glif`. :func:`forward_kernel_for` and :func:`backward_kernel_for` pick the kernel
a call runs.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from . import glif
from .glif import LEAN, _block, _jit, backward_width, forward_blocks, forward_width, pass2_loop, surrogate_at, \
    surrogate_constants


@_jit
def shared_coefficients(coef):
    """Whether every neuron has the same decay, gain, leak, threshold and reset value
    (coefficient rows 0-4): the usual layer, whose parameters are scalars."""
    if coef.shape[1] == 0:
        return False
    for c in range(5):
        row = coef[c]
        for k in range(1, row.shape[0]):
            if row[k] != row[0]:
                return False
    return True


@numba.njit(inline="always", error_model="numpy")
def _scalar_coefficients(coef, reset):
    """``(d, g, leak, theta, drop)`` from the shared coefficient rows: ``drop`` is what a
    spike subtracts (``theta - v_reset`` for the subtracting reset, else 0)."""
    th = coef[3, 0]
    drop = th - coef[4, 0] if reset == 0 else coef.dtype.type(0)
    return coef[0, 0], coef[1, 0], coef[2, 0], th, drop


@numba.njit(inline="always", error_model="numpy")
def _plain_step(vk, xk, d, g, lk, th, drop, zero):
    """``(u, new membrane, spike)`` of one neuron: :func:`.glif._step_row`'s arithmetic on
    scalar coefficients (so the spikes are the general kernels' bit for bit)."""
    u = lk + d * (vk - lk) + g * xk
    spike = u - th >= zero
    return u, u - spike * drop, spike


def _lean_forward_kernel():
    """The forward kernel of the plain layer: the coefficients are scalars in registers,
    the step is :func:`.glif._step_row`'s arithmetic."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def lean_forward(worker, workers, x, v0, i0, b0, r0, coef, nref, reset, out, v_end, i_end, b_end, r_end):
        """The blocks ``worker, worker + workers, ...`` of the lean forward pass: their
        spikes ``out`` and final state."""
        steps, batch, n_neurons = x.shape
        width = forward_width(n_neurons)
        zero = x.dtype.type(0)
        d, g, lk, th, drop = _scalar_coefficients(coef, reset)
        for task in range(worker, forward_blocks(batch, n_neurons), workers):
            b, n0, n1 = _block(task, n_neurons, width)
            v = v0[b, n0:n1].copy()
            for t in range(steps):
                xr = x[t, b, n0:n1]
                o = out[t, b, n0:n1]
                for k in range(n1 - n0):
                    _, v[k], o[k] = _plain_step(v[k], xr[k], d, g, lk, th, drop, zero)
            v_end[b, n0:n1] = v
            i_end[b, n0:n1] = i0[b, n0:n1]
            b_end[b, n0:n1] = b0[b, n0:n1]
            r_end[b, n0:n1] = r0[b, n0:n1]

    return lean_forward


def _lean_backward_kernel(SID):
    """The backward kernel of the :data:`LEAN` case with :func:`shared_coefficients` (the
    plain LIF or IF layer: scalar parameters, none learnable, no refractory period, a
    reset that subtracts or none) for surrogate ``SID``, a compile-time constant.

    Against the general kernel's LEAN loop, two things: the coefficients are scalars in
    registers (five rows fewer to load at every step, in both passes), and the replay
    computes the surrogate derivative in its step loop instead of storing ``z`` and
    sweeping it again (a loop can evaluate one surrogate only if the choice is a
    constant: a run-time test inside the loop keeps it scalar). Together they made the
    backward pass a quarter faster at (100, 16, 4096) on the 2-core machine of
    ``benchmarks/RESULTS.md``. The arithmetic of the replay is :func:`.glif._step_row`'s on
    scalars, so the spikes and ``z`` are the forward pass's bit for bit. Same arguments as
    :func:`.glif._backward_kernel`'s (those this case does not read are ignored)."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def lean_backward(worker, workers, grad_out, g_v_end, g_i_end, g_b_end, x, v0, i0, b0, r0, coef,
                      nref, reset, detach, sid, p0, p1, p2, p3, coef_grad, grad_x, g_v0, g_i0, g_b0, g_coef):
        """The blocks ``worker, worker + workers, ...`` of the lean backward pass:
        ``u = l + d (v - l) + g x``, ``z = u - theta``, ``v <- u - [z >= 0] c_r``; then in
        reverse time ``g_u = g_v + (g_out - c g_v) sg(z)``, ``g_v <- d g_u``,
        ``g_x = g g_u`` (``c_r = theta - v_reset`` for the subtracting reset, else 0;
        ``c = c_r`` unless the reset is detached, then 0)."""
        steps, batch, n_neurons = x.shape
        width = backward_width(steps, 1, x.itemsize)
        tasks = batch * ((n_neurons + width - 1) // width)
        sc = surrogate_constants(p0, p1, p2, p3, x)
        zero = x.dtype.type(0)
        d, g, lk, th, drop = _scalar_coefficients(coef, reset)
        c_g = zero if detach else drop
        sg = np.empty((max(steps, 1), width), dtype=x.dtype)
        for task in range(worker, tasks, workers):
            b, n0, n1 = _block(task, n_neurons, width)
            w = n1 - n0
            # pass 1: replay the forward pass, keeping only the surrogate derivative
            v = v0[b, n0:n1].copy()
            for t in range(steps):
                xr = x[t, b, n0:n1]
                z = sg[t, :w]
                for k in range(w):
                    u, v[k], _ = _plain_step(v[k], xr[k], d, g, lk, th, drop, zero)
                    z[k] = surrogate_at(u - th, SID, sc)
            # pass 2: reverse time
            gv = g_v_end[b, n0:n1].copy()
            for t in range(steps - 1, -1, -1):
                sgt = sg[t, :w]
                go = grad_out[t, b, n0:n1]
                gx = grad_x[t, b, n0:n1]
                for k in range(w):
                    gvk = gv[k]
                    g_u = gvk + (go[k] - c_g * gvk) * sgt[k]
                    gv[k] = g_u * d
                    gx[k] = g_u * g
            g_v0[b, n0:n1] = gv
            g_i0[b, n0:n1] = g_i_end[b, n0:n1]
            g_b0[b, n0:n1] = g_b_end[b, n0:n1]

    return lean_backward


@functools.lru_cache(maxsize=None)
def lean_forward_kernel():
    """The lean forward kernel (compiled on first use, cached on disk)."""
    return _lean_forward_kernel()


def is_lean(reset: int, has_syn: bool, has_adapt: bool, refractory: bool, coef_grad: bool, coef) -> bool:
    """Whether a call is the lean case: :func:`pass2_loop` says :data:`LEAN` and the
    coefficients (a ``[9, N]`` array) are :func:`shared_coefficients`."""
    return pass2_loop(reset, has_syn, has_adapt, refractory, coef_grad) == LEAN and shared_coefficients(coef)


def forward_kernel_for(reset: int, has_syn: bool, has_adapt: bool, refractory: bool, coef):
    """The forward kernel a call runs: the lean one in the lean case, else the general one."""
    if is_lean(reset, has_syn, has_adapt, refractory, False, coef):
        return lean_forward_kernel()
    return glif.forward_kernel(has_syn, has_adapt, refractory)


@functools.lru_cache(maxsize=None)
def lean_backward_kernel(sid: int):
    """The lean backward kernel for surrogate ``sid`` (compiled on first use, cached on
    disk)."""
    return _lean_backward_kernel(int(sid))


def backward_kernel_for(reset: int, has_syn: bool, has_adapt: bool, refractory: bool, coef_grad: bool,
                        sid: int, coef) -> object:
    """The backward kernel a call runs: the lean one where :func:`pass2_loop` says
    :data:`LEAN` and the coefficients (a ``[9, N]`` array) are shared, else the general
    one for its features."""
    if is_lean(reset, has_syn, has_adapt, refractory, coef_grad, coef):
        return lean_backward_kernel(sid)
    return glif.backward_kernel(has_syn, has_adapt, refractory)
