"""CPU (numba) kernels of the generalised LIF recurrence of :mod:`spikeforge.kernels.spec`.

Layout: ``x`` is ``[T, B, N]``; each parallel task owns one batch row ``b`` and a
chunk of ``CHUNK`` neighbouring neurons, keeps their state in small local arrays
(in L1 cache) and walks time with the neuron loop innermost, so every time step reads
and writes contiguous memory and the inner loop can use SIMD. Arithmetic in the
forward pass happens in the input's dtype, in the same order as the plain-torch
reference, so spikes match it bit for bit.

The backward pass walks time in reverse. It needs the membrane before the spike
decision ``u_t`` (and, for synaptic and adaptive models, ``i_t`` and ``b_{t-1}``):
either saved by the forward pass (``save=1``) or recomputed chunk by chunk into a
small scratch buffer at the start of the backward pass (``save=2``, memory
``O(T * CHUNK)`` per task instead of ``O(T * B * N)``).
"""

from __future__ import annotations

import math

import numba
import numpy as np

CHUNK = 512
_PI = math.pi
_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)


@numba.njit(cache=True, inline="always")
def _pdf(x, mu, sigma):
    z = (x - mu) / sigma
    return math.exp(-0.5 * z * z) / (sigma * _SQRT2PI)


@numba.njit(cache=True)
def surrogate_derivative(z, sid, p0, p1, p2, p3):
    """The derivative of surrogate ``sid`` (ids in ``spec.SURROGATE_IDS``) at ``z``."""
    z = float(z)
    if sid == 0:  # FastSigmoid(slope)
        a = 1.0 + p0 * abs(z)
        return 0.5 * p0 / (a * a)
    if sid == 1:  # Sigmoid(slope)
        e = 1.0 / (1.0 + math.exp(-p0 * z))
        return p0 * e * (1.0 - e)
    if sid == 2:  # ATan(alpha)
        c = 0.5 * _PI * p0 * z
        return 0.5 * p0 / (1.0 + c * c)
    if sid == 3:  # Triangle(width)
        return max(1.0 - abs(z) / p0, 0.0) / p0
    if sid == 4:  # Rectangular(width)
        return (1.0 / p0) if abs(z) < 0.5 * p0 else 0.0
    if sid == 5:  # Gaussian(sigma)
        return _pdf(z, 0.0, p0)
    if sid == 6:  # MultiGaussian(width, height, scale, gamma)
        w, h, s = p0, p1, p2
        return p3 * ((1.0 + h) * _pdf(z, 0.0, w) - h * _pdf(z, w, s * w) - h * _pdf(z, -w, s * w))
    if sid == 7:  # Exponential(slope)
        return 0.5 * p0 * math.exp(-p0 * abs(z))
    return 1.0  # StraightThrough


@numba.njit(cache=True, inline="always")
def _reset(u, spike, theta, vr, mode):
    if mode == 0:
        return u - spike * (theta - vr)
    if mode == 1:
        return u - spike * (u - vr)
    return u


@numba.njit(cache=True, inline="always")
def _chunk_bounds(task, n_neurons):
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    b = task // chunks
    n0 = (task % chunks) * CHUNK
    return b, n0, min(n0 + CHUNK, n_neurons)


@numba.njit(cache=True)
def _run_chunk(x, b, n0, n1, v, i, bb, ref, d, g, vleak, vth, vr, dsyn, beta, rho, omr,
               nref, reset, has_syn, has_adapt, out, u_hist, i_hist, b_hist, hb, off):
    """Advance neurons ``n0:n1`` of row ``b`` through all steps of ``x``.

    ``v, i, bb, ref`` are the chunk's state, indexed ``n - n0`` (updated in place).
    ``out`` receives the spikes when it is not empty; ``u_hist``/``i_hist``/``b_hist``
    receive ``u_t``, ``i_t`` and ``b_{t-1}`` at ``[t, hb, n - off]`` when not empty.
    """
    steps = x.shape[0]
    write_out = out.shape[0] > 0
    save_u = u_hist.shape[0] > 0
    save_i = i_hist.shape[0] > 0
    save_b = b_hist.shape[0] > 0
    for t in range(steps):
        for n in range(n0, n1):
            k = n - n0
            drive = x[t, b, n]
            if has_syn:
                i[k] = dsyn[n] * i[k] + drive
                drive = i[k]
            theta = vth[n]
            if has_adapt:
                theta = vth[n] + beta[n] * bb[k]
            active = True
            if nref > 0:
                active = ref[k] <= 0
            if active:
                u = vleak[n] + d[n] * (v[k] - vleak[n]) + g[n] * drive
            else:
                u = v[k]
            spike = active and (u - theta >= 0)
            if save_u:
                u_hist[t, hb, n - off] = u
            if save_i:
                i_hist[t, hb, n - off] = i[k]
            if save_b:
                b_hist[t, hb, n - off] = bb[k]
            v[k] = _reset(u, spike, theta, vr[n], reset)
            if has_adapt:
                bb[k] = rho[n] * bb[k] + omr[n] * spike
            if nref > 0:
                ref[k] = nref if spike else max(ref[k] - 1, 0)
            if write_out:
                out[t, b, n] = spike
    return


@numba.njit(cache=True, inline="always")
def _load_state(v0, i0, b0, r0, b, n0, n1):
    v = v0[b, n0:n1].copy()
    i = i0[b, n0:n1].copy()
    bb = b0[b, n0:n1].copy()
    ref = np.empty(n1 - n0, dtype=np.int64)
    for k in range(n1 - n0):
        ref[k] = int(r0[b, n0 + k])
    return v, i, bb, ref


@numba.njit(parallel=True, cache=True)
def forward(x, v0, i0, b0, r0, d, g, vleak, vth, vr, dsyn, beta, rho, omr,
            nref, reset, has_syn, has_adapt, out, v_end, i_end, b_end, r_end,
            u_save, i_save, b_save):
    """Forward pass over ``x [T, B, N]``: writes the spikes ``out``, the final state and,
    when they are not empty, the ``[T, B, N]`` histories ``u_t``, ``i_t``, ``b_{t-1}``
    that :func:`backward` needs."""
    steps, batch, n_neurons = x.shape
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    for task in numba.prange(batch * chunks):
        b, n0, n1 = _chunk_bounds(task, n_neurons)
        v, i, bb, ref = _load_state(v0, i0, b0, r0, b, n0, n1)
        _run_chunk(x, b, n0, n1, v, i, bb, ref, d, g, vleak, vth, vr, dsyn, beta, rho, omr,
                   nref, reset, has_syn, has_adapt, out, u_save, i_save, b_save, b, 0)
        for k in range(n1 - n0):
            v_end[b, n0 + k] = v[k]
            i_end[b, n0 + k] = i[k]
            b_end[b, n0 + k] = bb[k]
            r_end[b, n0 + k] = ref[k]


@numba.njit(parallel=True, cache=True)
def backward(grad_out, g_v_end, g_i_end, g_b_end, x, out, v0, i0, b0, r0,
             d, g, vleak, vth, vr, dsyn, beta, rho, omr,
             nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
             u_save, i_save, b_save,
             grad_x, g_v0, g_i0, g_b0, g_coef):
    """Backward pass, time reversed. With empty ``u_save`` the histories are recomputed
    per chunk. ``g_coef`` is ``[9, B, N]``: per-row gradients of the coefficients in
    ``spec.COEFFICIENTS`` order (the caller sums over the batch)."""
    steps, batch, n_neurons = x.shape
    chunks = (n_neurons + CHUNK - 1) // CHUNK
    recompute = u_save.shape[0] == 0 and steps > 0
    for task in numba.prange(batch * chunks):
        b, n0, n1 = _chunk_bounds(task, n_neurons)
        width = n1 - n0
        if recompute:
            u_h = np.empty((steps, 1, width), dtype=x.dtype)
            i_h = np.empty((steps if has_syn else 0, 1, width), dtype=x.dtype)
            b_h = np.empty((steps if has_adapt else 0, 1, width), dtype=x.dtype)
            v, i, bb, ref = _load_state(v0, i0, b0, r0, b, n0, n1)
            _run_chunk(x, b, n0, n1, v, i, bb, ref, d, g, vleak, vth, vr, dsyn, beta, rho, omr,
                       nref, reset, has_syn, has_adapt, np.empty((0, 0, 0), dtype=x.dtype),
                       u_h, i_h, b_h, 0, n0)
            hb, off = 0, n0
        else:
            u_h, i_h, b_h = u_save, i_save, b_save
            hb, off = b, 0
        gv = np.empty(width)
        gi = np.empty(width)
        gb = np.empty(width)
        acc = np.zeros((9, width))
        for k in range(width):
            gv[k] = g_v_end[b, n0 + k]
            gi[k] = g_i_end[b, n0 + k]
            gb[k] = g_b_end[b, n0 + k]
        for t in range(steps - 1, -1, -1):
            for n in range(n0, n1):
                k = n - n0
                j = n - off
                u = float(u_h[t, hb, j])
                s = float(out[t, b, n])
                vrn = float(vr[n])
                b_prev = float(b_h[t, hb, j]) if has_adapt else 0.0
                theta = float(vth[n]) + float(beta[n]) * b_prev if has_adapt else float(vth[n])
                # refractory at step t <=> counter still running from r0, or a spike in the last nref steps
                active = 1.0
                if nref > 0:
                    if r0[b, n] - t > 0:
                        active = 0.0
                    else:
                        for back in range(1, min(nref, t) + 1):
                            if out[t - back, b, n] > 0:
                                active = 0.0
                                break
                # the membrane after the previous step, rebuilt from its u and spike
                if t > 0:
                    theta_prev = float(vth[n])
                    if has_adapt:
                        theta_prev += float(beta[n]) * float(b_h[t - 1, hb, j])
                    v_prev = _reset(float(u_h[t - 1, hb, j]), float(out[t - 1, b, n]), theta_prev, vrn, reset)
                    i_prev = float(i_h[t - 1, hb, j]) if has_syn else 0.0
                else:
                    v_prev = float(v0[b, n])
                    i_prev = float(i0[b, n])
                # the spike's gradient: output, adaptation, and the reset unless detached
                g_s = float(grad_out[t, b, n])
                if has_adapt:
                    g_s += gb[k] * float(omr[n])
                    acc[7, k] += gb[k] * b_prev
                    acc[8, k] += gb[k] * s
                if not detach:
                    if reset == 0:
                        g_s -= gv[k] * (theta - vrn)
                    elif reset == 1:
                        g_s -= gv[k] * (u - vrn)
                g_z = g_s * surrogate_derivative(u - theta, sid, p0, p1, p2, p3) * active
                if reset == 0:
                    g_u = gv[k] + g_z
                    g_theta = -gv[k] * s - g_z
                    acc[4, k] += gv[k] * s
                elif reset == 1:
                    g_u = gv[k] * (1.0 - s) + g_z
                    g_theta = -g_z
                    acc[4, k] += gv[k] * s
                else:
                    g_u = gv[k] + g_z
                    g_theta = -g_z
                acc[3, k] += g_theta
                if has_adapt:
                    acc[6, k] += g_theta * b_prev
                    gb[k] = g_theta * float(beta[n]) + gb[k] * float(rho[n])
                if active > 0:
                    dn = float(d[n])
                    drive = float(i_h[t, hb, j]) if has_syn else float(x[t, b, n])
                    gv[k] = g_u * dn
                    acc[0, k] += g_u * (v_prev - float(vleak[n]))
                    acc[1, k] += g_u * drive
                    acc[2, k] += g_u * (1.0 - dn)
                    g_drive = g_u * float(g[n])
                else:
                    gv[k] = g_u
                    g_drive = 0.0
                if has_syn:
                    gi[k] += g_drive
                    grad_x[t, b, n] = gi[k]
                    acc[5, k] += gi[k] * i_prev
                    gi[k] *= float(dsyn[n])
                else:
                    grad_x[t, b, n] = g_drive
        for k in range(width):
            g_v0[b, n0 + k] = gv[k]
            g_i0[b, n0 + k] = gi[k]
            g_b0[b, n0 + k] = gb[k]
            for c in range(9):
                g_coef[c, b, n0 + k] = acc[c, k]
