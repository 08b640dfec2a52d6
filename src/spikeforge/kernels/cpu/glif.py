"""CPU (numba) kernels of the generalised LIF recurrence of :mod:`spikeforge.kernels.spec`.

Layout: ``x`` is ``[T, B, N]``. Each parallel task owns one batch row ``b`` and a chunk
of ``CHUNK`` neighbouring neurons, keeps their state in small local arrays (L1 cache)
and walks time; at every step it runs a few loops over the chunk's contiguous slice,
written without data-dependent branches so that LLVM turns them into SIMD code. The
forward pass computes in the input's dtype, in the same order as the plain-torch
reference, so spikes match it bit for bit.

The backward pass walks time in reverse. It needs the membrane before the spike
decision ``u_t`` (and, for synaptic and adaptive models, ``i_t`` and ``b_{t-1}``):
saved by the forward pass, or, when they were not saved (inference or
``recompute=True``), recomputed chunk by chunk into a scratch buffer of
``T * CHUNK`` values per task.
"""

from __future__ import annotations

import math

import numba
import numpy as np

CHUNK = 8192
_PI = math.pi
_SQRT2PI = math.sqrt(2.0 * math.pi)


@numba.njit(cache=True)
def _pdf(x, mu, sigma, c):
    z = (x - mu) / sigma
    return c[5] * np.exp(-c[4] * z * z) / sigma


@numba.njit(cache=True)
def surrogate_constants(p0, p1, p2, p3, dtype_like):
    """The surrogate's parameters and the constants its formulas use, in the data's dtype
    (a bare ``0.5`` in numba is a float64 and would promote the whole loop)."""
    c = np.empty(8, dtype=dtype_like.dtype)
    c[0], c[1], c[2], c[3] = p0, p1, p2, p3
    c[4], c[5], c[6], c[7] = 0.5, 1.0 / _SQRT2PI, 0.5 * _PI, 1.0
    return c


@numba.njit(cache=True)
def surrogate_rows(z, out, sid, c):
    """``out[k] = derivative of surrogate sid at z[k]`` (ids in ``spec.SURROGATE_IDS``);
    ``c`` from :func:`surrogate_constants`. One loop per surrogate, so the choice is made
    once per row, not per neuron."""
    w = z.shape[0]
    p0, p1, p2, p3, half, one = c[0], c[1], c[2], c[3], c[4], c[7]
    zero = one - one
    if sid == 0:  # FastSigmoid(slope)
        for k in range(w):
            a = one + p0 * abs(z[k])
            out[k] = half * p0 / (a * a)
    elif sid == 1:  # Sigmoid(slope)
        for k in range(w):
            e = one / (one + np.exp(-p0 * z[k]))
            out[k] = p0 * e * (one - e)
    elif sid == 2:  # ATan(alpha)
        for k in range(w):
            q = c[6] * p0 * z[k]
            out[k] = half * p0 / (one + q * q)
    elif sid == 3:  # Triangle(width)
        for k in range(w):
            out[k] = max(one - abs(z[k]) / p0, zero) / p0
    elif sid == 4:  # Rectangular(width)
        for k in range(w):
            out[k] = (one / p0) if abs(z[k]) < half * p0 else zero
    elif sid == 5:  # Gaussian(sigma)
        for k in range(w):
            out[k] = _pdf(z[k], zero, p0, c)
    elif sid == 6:  # MultiGaussian(width, height, scale, gamma)
        for k in range(w):
            out[k] = p3 * ((one + p1) * _pdf(z[k], zero, p0, c)
                           - p1 * _pdf(z[k], p0, p2 * p0, c) - p1 * _pdf(z[k], -p0, p2 * p0, c))
    elif sid == 7:  # Exponential(slope)
        for k in range(w):
            out[k] = half * p0 * np.exp(-p0 * abs(z[k]))
    else:  # StraightThrough
        for k in range(w):
            out[k] = one


@numba.njit(cache=True)
def _chunk_bounds(task, n_neurons):
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    b = task // chunks
    n0 = (task % chunks) * CHUNK
    return b, n0, min(n0 + CHUNK, n_neurons)


@numba.njit(cache=True)
def _load_state(v0, i0, b0, r0, b, n0, n1):
    return v0[b, n0:n1].copy(), i0[b, n0:n1].copy(), b0[b, n0:n1].copy(), r0[b, n0:n1].copy()


@numba.njit(cache=True)
def run_chunk(x, b, n0, n1, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt,
              out, u_h, i_h, b_h, hb, h0):
    """Advance neurons ``n0:n1`` of row ``b`` through every step of ``x``.

    ``v, i, bb, ref`` hold the chunk's state and are updated in place. Spikes go to
    ``out[t, b, n0:n1]`` and ``u_t``, ``i_t``, ``b_{t-1}`` to ``*_h[t, hb, h0:h0 + w]``,
    each only when that array is not empty.
    """
    w = n1 - n0
    zero = np.zeros(1, dtype=x.dtype)[0]  # typed constants: a bare 0 or 1 would be int64
    one = zero + 1
    fref = zero + nref
    d, g, lk = coef[0, n0:n1], coef[1, n0:n1], coef[2, n0:n1]
    th, vr, ds = coef[3, n0:n1], coef[4, n0:n1], coef[5, n0:n1]
    be, rh, om = coef[6, n0:n1], coef[7, n0:n1], coef[8, n0:n1]
    write_out, save_u = out.shape[0] > 0, u_h.shape[0] > 0
    save_i, save_b = i_h.shape[0] > 0, b_h.shape[0] > 0
    for t in range(x.shape[0]):
        drive = x[t, b, n0:n1]
        if has_syn:
            for k in range(w):
                i[k] = ds[k] * i[k] + drive[k]
            drive = i
            if save_i:
                i_h[t, hb, h0:h0 + w] = i
        if save_b:
            b_h[t, hb, h0:h0 + w] = bb
        ut = u_h[t, hb, h0:h0 + w] if save_u else u_h.ravel()[:0]
        ot = out[t, b, n0:n1] if write_out else out.ravel()[:0]
        for k in range(w):
            theta = th[k] + be[k] * bb[k] if has_adapt else th[k]
            u = lk[k] + d[k] * (v[k] - lk[k]) + g[k] * drive[k]
            if nref > 0:
                active = ref[k] <= zero
                u = u if active else v[k]
                spike = (u - theta >= zero) & active
            else:
                spike = u - theta >= zero
            if reset == 0:
                v[k] = u - spike * (theta - vr[k])
            elif reset == 1:
                v[k] = u - spike * (u - vr[k])
            else:
                v[k] = u
            if has_adapt:
                bb[k] = rh[k] * bb[k] + om[k] * spike
            if nref > 0:
                left = ref[k] - one
                ref[k] = fref if spike else (left if left > zero else zero)
            if write_out:
                ot[k] = spike
            if save_u:
                ut[k] = u


@numba.njit(parallel=True, cache=True)
def forward(x, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt,
            out, v_end, i_end, b_end, r_end, u_save, i_save, b_save):
    """Forward pass over ``x [T, B, N]``: the spikes ``out``, the final state and, when
    those arrays are not empty, the histories ``u_t``, ``i_t``, ``b_{t-1}``."""
    n_neurons = x.shape[2]
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    for task in numba.prange(x.shape[1] * chunks):
        b, n0, n1 = _chunk_bounds(task, n_neurons)
        v, i, bb, ref = _load_state(v0, i0, b0, r0, b, n0, n1)
        run_chunk(x, b, n0, n1, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt,
                  out, u_save, i_save, b_save, b, n0)
        v_end[b, n0:n1] = v
        i_end[b, n0:n1] = i
        b_end[b, n0:n1] = bb
        r_end[b, n0:n1] = ref


@numba.njit(cache=True)
def _active_rows(out, r0, b, n0, n1, nref):
    """``act[t, k]``: 1 if neuron ``n0 + k`` was free to integrate at step ``t``, else 0.
    Replays the refractory counter from the initial state and the spikes."""
    steps, w = out.shape[0], n1 - n0
    act = np.empty((steps, w), dtype=out.dtype)
    ref = r0[b, n0:n1].astype(np.float64)
    for t in range(steps):
        st = out[t, b, n0:n1]
        for k in range(w):
            act[t, k] = 1.0 if ref[k] <= 0.0 else 0.0
            ref[k] = float(nref) if st[k] > 0 else max(ref[k] - 1.0, 0.0)
    return act


@numba.njit(parallel=True, cache=True)
def backward(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0, coef,
             nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3, coef_grad,
             u_save, i_save, b_save, grad_x, g_v0, g_i0, g_b0, g_coef):
    """Backward pass, time reversed, in the input's dtype. With empty ``u_save`` the
    histories are recomputed per chunk. With ``coef_grad`` set, ``g_coef [9, B, N]``
    receives per-row gradients of the coefficients in ``spec.COEFFICIENTS`` order (the
    caller sums over the batch); otherwise it is left untouched and that work skipped."""
    steps, n_neurons = x.shape[0], x.shape[2]
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    recompute = u_save.shape[0] == 0 and steps > 0
    for task in numba.prange(x.shape[1] * chunks):
        b, n0, n1 = _chunk_bounds(task, n_neurons)
        w = n1 - n0
        if recompute:
            u_h = np.empty((steps, 1, w), dtype=x.dtype)
            i_h = np.empty((steps if has_syn else 0, 1, w), dtype=x.dtype)
            b_h = np.empty((steps if has_adapt else 0, 1, w), dtype=x.dtype)
            v, i, bb, ref = _load_state(v0, i0, b0, r0, b, n0, n1)
            run_chunk(x, b, n0, n1, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt,
                      out[:0], u_h, i_h, b_h, 0, 0)
            hb, h0 = 0, 0
        else:
            u_h, i_h, b_h = u_save, i_save, b_save
            hb, h0 = b, n0
        act = _active_rows(out, r0, b, n0, n1, nref) if nref > 0 else np.empty((0, 0), dtype=x.dtype)
        d, g, lk = coef[0, n0:n1], coef[1, n0:n1], coef[2, n0:n1]
        th, vr, ds = coef[3, n0:n1], coef[4, n0:n1], coef[5, n0:n1]
        be, rh, om = coef[6, n0:n1], coef[7, n0:n1], coef[8, n0:n1]
        one = np.ones(1, dtype=x.dtype)[0]
        consts = surrogate_constants(p0, p1, p2, p3, x)
        c_sub = one if reset == 0 else one - one
        c_zero = one if reset == 1 else one - one
        keep_reset = one - one if detach else one
        simple = not (has_adapt or has_syn or coef_grad)
        gv = g_v_end[b, n0:n1].copy()
        gi = g_i_end[b, n0:n1].copy()
        gb = g_b_end[b, n0:n1].copy()
        acc = np.zeros((9, w), dtype=x.dtype)
        theta = th.copy()
        z = np.empty(w, dtype=x.dtype)
        sg = np.empty(w, dtype=x.dtype)
        v_prev = np.empty(w, dtype=x.dtype)
        i_prev = np.empty(w, dtype=x.dtype)
        for t in range(steps - 1, -1, -1):
            u = u_h[t, hb, h0:h0 + w]
            s = out[t, b, n0:n1]
            b_prev = b_h[t, hb, h0:h0 + w] if has_adapt else u[:0]
            if has_adapt:
                for k in range(w):
                    theta[k] = th[k] + be[k] * b_prev[k]
            for k in range(w):
                z[k] = u[k] - theta[k]
            surrogate_rows(z, sg, sid, consts)
            if coef_grad:  # the state after the previous step, for the coefficient gradients
                if t > 0:
                    up, spv = u_h[t - 1, hb, h0:h0 + w], out[t - 1, b, n0:n1]
                    bp2 = b_h[t - 1, hb, h0:h0 + w] if has_adapt else u[:0]
                    for k in range(w):
                        tp = th[k] + be[k] * bp2[k] if has_adapt else th[k]
                        if reset == 0:
                            v_prev[k] = up[k] - spv[k] * (tp - vr[k])
                        elif reset == 1:
                            v_prev[k] = up[k] - spv[k] * (up[k] - vr[k])
                        else:
                            v_prev[k] = up[k]
                    if has_syn:
                        i_prev[:] = i_h[t - 1, hb, h0:h0 + w]
                else:
                    v_prev[:] = v0[b, n0:n1]
                    i_prev[:] = i0[b, n0:n1]
            drive = i_h[t, hb, h0:h0 + w] if has_syn else x[t, b, n0:n1]
            go = grad_out[t, b, n0:n1]
            gx = grad_x[t, b, n0:n1]
            at = act[t] if nref > 0 else z
            if simple and reset != 1 and nref == 0:  # the leanest loop: no spike or refractory read
                for k in range(w):
                    gvk = gv[k]
                    g_u = gvk + (go[k] - keep_reset * c_sub * gvk * (theta[k] - vr[k])) * sg[k]
                    gv[k] = g_u * d[k]
                    gx[k] = g_u * g[k]
                continue
            if simple:
                for k in range(w):
                    a = at[k] if nref > 0 else one
                    gvk = gv[k]
                    g_s = go[k] - keep_reset * gvk * (c_sub * (theta[k] - vr[k]) + c_zero * (u[k] - vr[k]))
                    g_z = g_s * sg[k] * a
                    g_u = gvk * (one - c_zero * s[k]) + g_z
                    g_int = g_u * a
                    gv[k] = g_int * d[k] + (g_u - g_int)
                    gx[k] = g_int * g[k]
                continue
            for k in range(w):
                a = at[k] if nref > 0 else one
                sk = s[k]
                gvk = gv[k]
                # the spike's gradient: output, adaptation, and the reset unless detached
                g_s = go[k] - keep_reset * gvk * (c_sub * (theta[k] - vr[k]) + c_zero * (u[k] - vr[k]))
                if has_adapt:
                    g_s += gb[k] * om[k]
                g_z = g_s * sg[k] * a
                g_u = gvk * (one - c_zero * sk) + g_z
                g_theta = -c_sub * gvk * sk - g_z
                g_int = g_u * a  # through the integration (the membrane is held while refractory)
                if coef_grad:
                    if has_adapt:
                        acc[7, k] += gb[k] * b_prev[k]
                        acc[8, k] += gb[k] * sk
                        acc[6, k] += g_theta * b_prev[k]
                    acc[4, k] += (c_sub + c_zero) * gvk * sk
                    acc[3, k] += g_theta
                    acc[0, k] += g_int * (v_prev[k] - lk[k])
                    acc[1, k] += g_int * drive[k]
                    acc[2, k] += g_int * (one - d[k])
                if has_adapt:
                    gb[k] = g_theta * be[k] + gb[k] * rh[k]
                gv[k] = g_int * d[k] + (g_u - g_int)
                g_drive = g_int * g[k]
                if has_syn:
                    gi[k] += g_drive
                    gx[k] = gi[k]
                    if coef_grad:
                        acc[5, k] += gi[k] * i_prev[k]
                    gi[k] *= ds[k]
                else:
                    gx[k] = g_drive
        g_v0[b, n0:n1] = gv
        g_i0[b, n0:n1] = gi
        g_b0[b, n0:n1] = gb
        if coef_grad:
            for c in range(9):
                g_coef[c, b, n0:n1] = acc[c]
