r"""CPU (numba) kernels of a recurrent layer of generalised LIF neurons (the SRNN layer).

The layer's neurons get, at every step, the input current (projected for all steps
at once by a torch matmul, outside this kernel) plus the recurrent product of the
layer's own spikes from the previous step:

.. math::
    c_t = x_t + W_\text{rec}\, z_{t-1}, \qquad (z_t, \text{state}_t) = \text{GLIF step}(c_t, \text{state}_{t-1})

with the GLIF step of :mod:`spikeforge.kernels.spec` (the same arithmetic, in the
same order, as :mod:`.glif` and the plain-torch reference).

Layout: ``x`` is ``[T, B, H]``, ``W_rec`` is ``[H, H]``. Each parallel task owns
batch rows and walks time with the state of all ``H`` neurons of a row in small
local arrays. The recurrent product is event-driven: spikes are 0/1 and sparse, so
``W_rec z_{t-1}`` is the sum of the columns of the neurons that fired at ``t-1``
(rows of ``W_rec^T``, contiguous), added in ascending neuron order. The initial
spikes ``z_{-1}`` (the state passed in) may hold any values: they are multiplied in.

The backward pass walks time in reverse. The spike ``z_t`` gets gradient from the
output, from the adaptation and reset as in :mod:`.glif`, and from the recurrent
path, ``W_rec^T g_{c,t+1}`` (a dense product: the current's gradient is dense). The
weight gradient ``sum_t g_{c,t} z_{t-1}^T`` is accumulated event-driven over the
columns that spiked, in float64, one accumulator per task (the caller sums them).
The histories ``u_t`` (and ``i_t``, ``b_{t-1}``) are saved by the forward pass
(``save=1``) or recomputed row by row at the start of the backward pass (``save=2``).
"""

from __future__ import annotations

import numba
import numpy as np

from .glif import _active_rows, _load_state, surrogate_rows


@numba.njit(cache=True)
def _spiking(out, z0, b, t, idx, val):
    """The neurons with non-zero ``z_{t-1}`` in row ``b`` (ascending) into ``idx``, their
    values into ``val``; returns their count. ``z_{-1}`` is the initial ``z0``."""
    count = 0
    if t > 0:
        for j in range(out.shape[2]):
            if out[t - 1, b, j] != 0:
                idx[count] = j
                val[count] = out[t - 1, b, j]
                count += 1
    else:
        for j in range(z0.shape[1]):
            if z0[b, j] != 0:
                idx[count] = j
                val[count] = z0[b, j]
                count += 1
    return count


@numba.njit(cache=True)
def _recurrent_input(wt, idx, val, count, unit, rec):
    """``rec = W_rec z`` from the ``count`` non-zero entries of ``z`` (``wt = W_rec^T``),
    added in ascending column order; ``unit``: they are all 1 (spikes)."""
    rec[:] = 0
    for q in range(count):
        row = wt[idx[q]]
        if unit:
            for n in range(rec.shape[0]):
                rec[n] += row[n]
        else:
            zj = val[q]
            for n in range(rec.shape[0]):
                rec[n] += zj * row[n]


@numba.njit(cache=True)
def _run_row(x, wt, z0, b, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt, out, u_h, i_h, b_h, hb):
    """Advance the ``H`` neurons of row ``b`` through every step of ``x``.

    ``v, i, bb, ref`` hold the row's state and are updated in place. Spikes go to
    ``out[t, b]`` and ``u_t``, ``i_t``, ``b_{t-1}`` to ``*_h[t, hb]``, each only when
    that array is not empty. The arithmetic is :func:`.glif.run_chunk`'s, on the drive
    ``x_t + W_rec z_{t-1}``.
    """
    steps, hidden = x.shape[0], x.shape[2]
    zero = np.zeros(1, dtype=x.dtype)[0]  # typed constants: a bare 0 or 1 would be int64
    one = zero + 1
    fref = zero + nref
    d, g, lk = coef[0], coef[1], coef[2]
    th, vr, ds = coef[3], coef[4], coef[5]
    be, rh, om = coef[6], coef[7], coef[8]
    write_out, save_u = out.shape[0] > 0, u_h.shape[0] > 0
    save_i, save_b = i_h.shape[0] > 0, b_h.shape[0] > 0
    rec = np.empty(hidden, dtype=x.dtype)
    spk = np.empty(hidden, dtype=x.dtype)
    prev = np.empty(hidden, dtype=np.int64)
    cur = np.empty(hidden, dtype=np.int64)
    val = np.empty(hidden, dtype=x.dtype)
    count = _spiking(out, z0, b, 0, prev, val)
    for t in range(steps):
        _recurrent_input(wt, prev, val, count, t > 0, rec)
        xt = x[t, b]
        for k in range(hidden):
            rec[k] = xt[k] + rec[k]
        drive = rec
        if has_syn:
            for k in range(hidden):
                i[k] = ds[k] * i[k] + drive[k]
            drive = i
            if save_i:
                i_h[t, hb] = i
        if save_b:
            b_h[t, hb] = bb
        ut = u_h[t, hb] if save_u else u_h[0, 0, :0]
        for k in range(hidden):
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
            spk[k] = spike
            if save_u:
                ut[k] = u
        if write_out:
            out[t, b] = spk
        fired = 0
        for k in range(hidden):
            if spk[k] != zero:
                cur[fired] = k
                fired += 1
        prev, cur = cur, prev
        count = fired


@numba.njit(parallel=True, cache=True)
def forward(x, wt, z0, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt,
            out, v_end, i_end, b_end, r_end, u_save, i_save, b_save):
    """Forward pass over ``x [T, B, H]`` with ``wt = W_rec^T`` (contiguous): the spikes
    ``out``, the final state and, when those arrays are not empty, the ``[T, B, H]``
    histories ``u_t``, ``i_t``, ``b_{t-1}`` that :func:`backward` needs."""
    hidden = x.shape[2]
    for b in numba.prange(x.shape[1]):
        v, i, bb, ref = _load_state(v0, i0, b0, r0, b, 0, hidden)
        _run_row(x, wt, z0, b, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt,
                 out, u_save, i_save, b_save, b)
        v_end[b] = v
        i_end[b] = i
        b_end[b] = bb
        r_end[b] = ref


@numba.njit(cache=True)
def _row_backward(b, grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, z0, v0, i0, r0, coef,
                  nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
                  u_h, i_h, b_h, hb, grad_x, g_z0, g_v0, g_i0, g_b0, g_coef, dwt):
    """Reverse-time pass of row ``b``: :func:`.glif.backward`'s arithmetic plus the
    recurrent path. Adds the row's weight gradient into ``dwt`` (``W_rec^T``'s layout)."""
    steps, hidden = x.shape[0], x.shape[2]
    act = _active_rows(out, r0, b, 0, hidden, nref) if nref > 0 else np.empty((0, 0), dtype=np.bool_)
    d, g, lk = coef[0], coef[1], coef[2]
    th, vr, ds = coef[3], coef[4], coef[5]
    be, rh, om = coef[6], coef[7], coef[8]
    gv = g_v_end[b].astype(np.float64)
    gi = g_i_end[b].astype(np.float64)
    gb = g_b_end[b].astype(np.float64)
    acc = np.zeros((9, hidden))
    theta = np.empty(hidden)
    z = np.empty(hidden)
    sg = np.empty(hidden)
    v_prev = np.empty(hidden)
    i_prev = np.empty(hidden)
    gz = np.zeros(hidden, dtype=x.dtype)  # gradient of z_t through the recurrent product at t+1
    rec = np.empty(hidden, dtype=x.dtype)
    idx = np.empty(hidden, dtype=np.int64)
    val = np.empty(hidden, dtype=x.dtype)
    for t in range(steps - 1, -1, -1):
        count = _spiking(out, z0, b, t, idx, val)
        u = u_h[t, hb]
        s = out[t, b]
        b_prev = b_h[t, hb] if has_adapt else u[:0]
        if has_syn:
            drive = i_h[t, hb]
        else:
            _recurrent_input(wt, idx, val, count, t > 0, rec)
            xt = x[t, b]
            for k in range(hidden):
                rec[k] = xt[k] + rec[k]
            drive = rec
        for k in range(hidden):
            theta[k] = th[k] + be[k] * b_prev[k] if has_adapt else th[k]
            z[k] = u[k] - theta[k]
        surrogate_rows(z, sg, sid, p0, p1, p2, p3)
        # the state after the previous step
        if t > 0:
            up, sp_ = u_h[t - 1, hb], out[t - 1, b]
            bp2 = b_h[t - 1, hb] if has_adapt else u[:0]
            for k in range(hidden):
                tp = th[k] + be[k] * bp2[k] if has_adapt else th[k]
                if reset == 0:
                    v_prev[k] = up[k] - sp_[k] * (tp - vr[k])
                elif reset == 1:
                    v_prev[k] = up[k] - sp_[k] * (up[k] - vr[k])
                else:
                    v_prev[k] = up[k]
            if has_syn:
                i_prev[:] = i_h[t - 1, hb]
        else:
            v_prev[:] = v0[b]
            i_prev[:] = i0[b]
        go = grad_out[t, b]
        gx = grad_x[t, b]
        for k in range(hidden):
            a = (1.0 if act[t, k] else 0.0) if nref > 0 else 1.0
            sk = float(s[k])
            # the spike's gradient: output, recurrent path, adaptation, reset unless detached
            g_s = float(go[k]) + float(gz[k])
            if has_adapt:
                g_s += gb[k] * om[k]
                acc[7, k] += gb[k] * b_prev[k]
                acc[8, k] += gb[k] * sk
            if not detach:
                if reset == 0:
                    g_s -= gv[k] * (theta[k] - vr[k])
                elif reset == 1:
                    g_s -= gv[k] * (u[k] - vr[k])
            g_z = g_s * sg[k] * a
            if reset == 0:
                g_u = gv[k] + g_z
                g_theta = -gv[k] * sk - g_z
                acc[4, k] += gv[k] * sk
            elif reset == 1:
                g_u = gv[k] * (1.0 - sk) + g_z
                g_theta = -g_z
                acc[4, k] += gv[k] * sk
            else:
                g_u = gv[k] + g_z
                g_theta = -g_z
            acc[3, k] += g_theta
            if has_adapt:
                acc[6, k] += g_theta * b_prev[k]
                gb[k] = g_theta * be[k] + gb[k] * rh[k]
            # through the integration (held membrane while refractory)
            g_int = g_u * a
            gv[k] = g_int * d[k] + g_u * (1.0 - a)
            acc[0, k] += g_int * (v_prev[k] - lk[k])
            acc[1, k] += g_int * drive[k]
            acc[2, k] += g_int * (1.0 - d[k])
            g_drive = g_int * g[k]
            if has_syn:
                gi[k] += g_drive
                gx[k] = gi[k]
                acc[5, k] += gi[k] * i_prev[k]
                gi[k] *= ds[k]
            else:
                gx[k] = g_drive
        # z_{t-1} receives W_rec^T g_c (dense; rows with a zero current gradient skipped)
        gz[:] = 0
        for m in range(hidden):
            gm = gx[m]
            if gm != 0:
                row = w[m]
                for n in range(hidden):
                    gz[n] += gm * row[n]
        # the weight gradient, over the columns that spiked at t-1
        for q in range(count):
            zj = float(val[q])
            acc_row = dwt[idx[q]]
            for m in range(hidden):
                acc_row[m] += zj * gx[m]
    g_z0[b] = gz
    g_v0[b] = gv
    g_i0[b] = gi
    g_b0[b] = gb
    for c in range(9):
        g_coef[c, b] = acc[c]


@numba.njit(parallel=True, cache=True)
def backward(grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, z0, v0, i0, b0, r0, coef,
             nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
             u_save, i_save, b_save,
             grad_x, g_z0, g_v0, g_i0, g_b0, g_coef, g_wt):
    """Backward pass, time reversed. With empty ``u_save`` the histories are recomputed
    per row. ``g_coef [9, B, H]`` receives per-row coefficient gradients (in
    ``spec.COEFFICIENTS`` order); ``g_wt [tasks, H, H]`` (float64) one ``W_rec^T``
    gradient per task, task ``k`` taking rows ``k, k + tasks, ...``. The caller sums both."""
    steps, batch, hidden = x.shape
    tasks = g_wt.shape[0]
    recompute = u_save.shape[0] == 0 and steps > 0
    for task in numba.prange(tasks):
        dwt = g_wt[task]
        dwt[:] = 0.0
        for b in range(task, batch, tasks):
            if recompute:
                u_h = np.empty((steps, 1, hidden), dtype=x.dtype)
                i_h = np.empty((steps if has_syn else 0, 1, hidden), dtype=x.dtype)
                b_h = np.empty((steps if has_adapt else 0, 1, hidden), dtype=x.dtype)
                v, i, bb, ref = _load_state(v0, i0, b0, r0, b, 0, hidden)
                _run_row(x, wt, z0, b, v, i, bb, ref, coef, nref, reset, has_syn, has_adapt,
                         out[:0], u_h, i_h, b_h, 0)
                hb = 0
            else:
                u_h, i_h, b_h = u_save, i_save, b_save
                hb = b
            _row_backward(b, grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, z0, v0, i0, r0, coef,
                          nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
                          u_h, i_h, b_h, hb, grad_x, g_z0, g_v0, g_i0, g_b0, g_coef, dwt)


# --- torch entry points (zero-copy through numpy) ---------------------------------


def _np(t):
    return t.detach().numpy()


def tasks(batch: int) -> int:
    """How many weight-gradient accumulators the backward pass uses (one per thread)."""
    return max(1, min(batch, numba.get_num_threads()))


def run_forward(x, w, z0, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt,
                out, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist) -> None:
    """:func:`forward` on torch tensors (``w`` is ``W_rec [H, H]``)."""
    wt = w.detach().t().contiguous()
    forward(
        _np(x), _np(wt), _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _np(coef),
        nref, reset, bool(has_syn), bool(has_adapt),
        _np(out), _np(v_end), _np(i_end), _np(b_end), _np(r_end), _np(u_hist), _np(i_hist), _np(b_hist),
    )


def run_backward(grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef,
                 nref, reset, detach, has_syn, has_adapt, sid, sp, u_hist, i_hist, b_hist,
                 grad_x, g_z0, g_v0, g_i0, g_b0, g_coef, g_wt) -> None:
    """:func:`backward` on torch tensors; ``g_wt`` is ``[tasks, H, H]`` float64."""
    wt = w.detach().t().contiguous()
    backward(
        _np(grad_out), _np(g_v_end), _np(g_i_end), _np(g_b_end), _np(x), _np(w), _np(wt), _np(out),
        _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _np(coef),
        nref, reset, bool(detach), bool(has_syn), bool(has_adapt), sid, *[float(v) for v in sp],
        _np(u_hist), _np(i_hist), _np(b_hist),
        _np(grad_x), _np(g_z0), _np(g_v0), _np(g_i0), _np(g_b0), _np(g_coef), _np(g_wt),
    )
