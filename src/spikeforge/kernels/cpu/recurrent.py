r"""CPU (numba) kernels of a recurrent layer of generalised LIF neurons (the SRNN layer).

The layer's neurons get, at every step, the input current (projected for all steps
at once by a torch matmul, outside this kernel) plus the recurrent product of the
layer's own spikes from the previous step:

.. math::
    c_t = x_t + W_\text{rec}\, z_{t-1}, \qquad (z_t, \text{state}_t) = \text{GLIF step}(c_t, \text{state}_{t-1})

with the GLIF step of :mod:`spikeforge.kernels.spec` (the same arithmetic, in the
same order, as :mod:`.glif` and the plain-torch reference).

Layout: ``x`` is ``[T, B, H]``, ``W_rec`` is ``[H, H]``. A task (one per thread) walks
time for groups of up to 8 neighbouring batch rows in lockstep: their currents at
one step are contiguous, so the group is one vector of ``rows * H`` neurons with the
coefficients tiled to match, its state in small local arrays. The recurrent product
is event-driven: spikes are 0/1 and sparse, so ``W_rec z_{t-1}`` is the sum of the
columns of the neurons that fired at ``t-1`` (rows of ``W_rec^T``, contiguous),
added in ascending neuron order, then added to ``x_t`` as the reference adds them
(with ``W_rec`` entries that sum exactly, e.g. multiples of 1/64, the spikes match the
reference bit for bit; otherwise the sums may differ in the last bit, as two BLAS
libraries do). The initial spikes ``z_{-1}`` (the state passed in) may hold any
values: they are multiplied in.

The backward pass walks time in reverse, in the input's dtype. The spike ``z_t`` gets
gradient from the output, from the adaptation and reset as in :mod:`.glif`, and from
the recurrent path, ``W_rec^T g_{c,t+1}`` (a dense product, since the current's
gradient is dense: eight rows of ``W_rec`` at a time, shared by the group's rows).
The weight gradient ``sum_t g_{c,t} z_{t-1}^T`` is accumulated event-driven over the
columns that spiked, one accumulator per task (the caller sums them). For models
without a synaptic current ``g_c = g * g_int``, so the kernel accumulates
``E = sum_t g_int z_{t-1}^T`` instead and the caller forms ``dW = diag(g) E`` and the
recurrent drive's share of ``g``'s gradient, ``sum_j W E`` (no need to recompute
``W_rec z_{t-1}`` in the backward pass). The histories ``u_t`` (and ``i_t``,
``b_{t-1}``) are saved by the forward pass, or recomputed per group of rows at the
start of the backward pass when they were not.

The tasks run on a small thread pool (the compiled functions release the GIL) rather
than with numba's ``parallel=True``, which would compile the kernel a second time.
"""

from __future__ import annotations

import numba
import numpy as np

from .glif import surrogate_constants, surrogate_rows


@numba.njit(cache=True, error_model="numpy")
def _free_to_integrate(out, r0, b, nref, act):
    """``act[t, n]``: 1 if neuron ``n`` of row ``b`` integrated its input at step ``t`` (not
    refractory), else 0. Replays the refractory counter from ``r0`` and the spikes."""
    steps, hidden = act.shape
    ref = r0[b].astype(np.float64)
    for t in range(steps):
        st = out[t, b]
        for k in range(hidden):
            act[t, k] = 1.0 if ref[k] <= 0.0 else 0.0
            ref[k] = float(nref) if st[k] > 0 else max(ref[k] - 1.0, 0.0)


@numba.njit(cache=True, error_model="numpy")
def _nonzero(z, idx, val):
    """The non-zero entries of ``z`` (ascending) into ``idx``, their values into ``val``;
    returns their count."""
    count = 0
    for j in range(z.shape[0]):
        if z[j] != 0:
            idx[count] = j
            val[count] = z[j]
            count += 1
    return count


@numba.njit(cache=True, error_model="numpy")
def _recurrent_input(wt, idx, val, count, unit, rec):
    """``rec = W_rec z`` from the ``count`` non-zero entries of ``z`` (``wt = W_rec^T``),
    added in ascending column order; ``unit``: they are all 1 (spikes)."""
    for n in range(rec.shape[0]):
        rec[n] = 0
    for q in range(count):
        row = wt[idx[q]]
        if unit:
            for n in range(rec.shape[0]):
                rec[n] += row[n]
        else:
            zj = val[q]
            for n in range(rec.shape[0]):
                rec[n] += zj * row[n]


# Rows of the small per-task 2D arrays are padded by this many elements, so that rows of
# a power-of-two length do not all map to the same L1 cache sets (with 8 rows of 256
# neurons in float32 they would be 8 KiB apart: a slowdown of several times).
PAD = 16


@numba.njit(cache=True, error_model="numpy")
def _tile(coef, rows):
    """The ``[9, H]`` coefficients repeated for ``rows`` rows side by side: ``[9, rows * H]``
    (rows padded by ``PAD``)."""
    hidden = coef.shape[1]
    tiled = np.zeros((coef.shape[0], rows * hidden + PAD), dtype=coef.dtype)
    for c in range(coef.shape[0]):
        for r in range(rows):
            _copy(tiled[c, r * hidden:(r + 1) * hidden], coef[c])
    return tiled


@numba.njit(cache=True, error_model="numpy")
def _copy(dst, src):
    """``dst[k] = src[k]`` (an explicit loop compiles faster than a slice assignment)."""
    for k in range(src.shape[0]):
        dst[k] = src[k]


@numba.njit(cache=True, error_model="numpy")
def _rows(a, b, nr):
    """Rows ``b .. b + nr - 1`` of a C-contiguous ``[B, H]`` array, as one flat view."""
    hidden = a.shape[1]
    return a.reshape(a.shape[0] * hidden)[b * hidden:(b + nr) * hidden]


@numba.njit(cache=True, error_model="numpy")
def _flat(a):
    """A ``[T, B, H]`` array (possibly empty) as ``[T, B * H]``."""
    return a.reshape((a.shape[0], a.shape[1] * a.shape[2]))


@numba.njit(cache=True, error_model="numpy")
def _run_rows(x, hidden, wt, z0, b0, nr, v, i, bb, ref, cf, nref, reset, has_syn, has_adapt,
              out, u_h, i_h, b_h, h0):
    """Advance rows ``b0 .. b0 + nr - 1`` through every step, as one vector of ``nr * H``
    neurons: ``x`` is ``[T, B * H]`` (the rows' currents at one step are contiguous)
    and ``cf`` the coefficients tiled for the rows (:func:`_tile`).

    ``v, i, bb, ref`` (flat, ``>= nr * H``) hold the rows' state and are updated in
    place. Spikes go to ``out[t]`` (``[T, B * H]``) and ``u_t``, ``i_t``, ``b_{t-1}`` to
    ``*_h[t]`` from column ``h0 * H`` on, each only when that array is not empty. The
    arithmetic is :func:`.glif._step_row`'s, on the drive ``x_t + W_rec z_{t-1}``.
    """
    steps = x.shape[0]
    width = nr * hidden
    lo, ho = b0 * hidden, h0 * hidden
    zero = np.zeros(1, dtype=x.dtype)[0]  # typed constants: a bare 0 or 1 would be int64
    one = zero + 1
    fref = zero + nref
    d, g, lk = cf[0, :width], cf[1, :width], cf[2, :width]
    th, vr, ds = cf[3, :width], cf[4, :width], cf[5, :width]
    be, rh, om = cf[6, :width], cf[7, :width], cf[8, :width]
    v, i, bb, ref = v[:width], i[:width], bb[:width], ref[:width]
    write_out, save_u = out.shape[0] > 0, u_h.shape[0] > 0
    save_i, save_b = i_h.shape[0] > 0, b_h.shape[0] > 0
    rec = np.empty(width, dtype=x.dtype)
    spk = np.empty(width, dtype=x.dtype)
    u_tmp = np.empty(width, dtype=x.dtype)  # u when it is not saved
    val = np.empty(hidden, dtype=x.dtype)
    prev = np.empty((nr, hidden), dtype=np.int64)  # who fired at the previous step, per row
    cur = np.empty((nr, hidden), dtype=np.int64)
    counts = np.zeros(nr, dtype=np.int64)
    for t in range(steps):
        for r in range(nr):
            rec_r = rec[r * hidden:(r + 1) * hidden]
            if t == 0:  # z_{-1} is the initial z0: any values
                n0 = _nonzero(z0[b0 + r], cur[r], val)
                _recurrent_input(wt, cur[r], val, n0, False, rec_r)
            else:
                _recurrent_input(wt, prev[r], val, counts[r], True, rec_r)
        xt = x[t, lo:lo + width]
        for k in range(width):
            rec[k] = xt[k] + rec[k]
        drive = rec
        if has_syn:
            for k in range(width):
                i[k] = ds[k] * i[k] + drive[k]
            drive = i
            if save_i:
                _copy(i_h[t, ho:ho + width], i)
        if save_b:
            _copy(b_h[t, ho:ho + width], bb)
        ut = u_h[t, ho:ho + width] if save_u else u_tmp
        # one branch-free loop (the flags pick values, not paths) so that it vectorizes;
        # without adaptation b stays 0 and beta is 0, so theta is exactly V_th
        for k in range(width):
            vk, bk, rk = v[k], bb[k], ref[k]
            theta = th[k] + be[k] * bk
            u = lk[k] + d[k] * (vk - lk[k]) + g[k] * drive[k]
            active = rk <= zero  # always true without a refractory period
            u = u if active else vk
            spike = one if (u - theta >= zero) and active else zero
            cut = (theta - vr[k]) if reset == 0 else (u - vr[k])
            v[k] = u - spike * cut if reset != 2 else u
            bb[k] = rh[k] * bk + om[k] * spike if has_adapt else bk
            left = rk - one
            ref[k] = fref if spike > zero else (left if left > zero else zero)
            spk[k] = spike
            ut[k] = u
        if write_out:
            _copy(out[t, lo:lo + width], spk)
        for r in range(nr):  # who fired, per row; branch-free: spikes are rare and unpredictable
            fired = 0
            cr = cur[r]
            sr = spk[r * hidden:(r + 1) * hidden]
            for k in range(hidden):
                cr[fired] = k
                fired += sr[k] != zero
            counts[r] = fired
        prev, cur = cur, prev


@numba.njit(cache=True, error_model="numpy")
def _load_rows(v0, i0, b0_, r0, b, nr):
    """Flat copies of rows ``b .. b + nr - 1`` of the initial state."""
    return (_rows(v0, b, nr).copy(), _rows(i0, b, nr).copy(), _rows(b0_, b, nr).copy(),
            _rows(r0, b, nr).copy())


@numba.njit(nogil=True, cache=True, error_model="numpy")
def forward_task(task, tasks, x, wt, z0, v0, i0, b0, r0, cf, nref, reset, has_syn, has_adapt, rows,
                 out, v_end, i_end, b_end, r_end, u_save, i_save, b_save):
    """Task ``task`` of ``tasks`` of the forward pass over ``x [T, B, H]`` (``wt = W_rec^T``,
    contiguous; ``cf`` the coefficients tiled for ``rows`` rows): the groups of ``rows``
    batch rows ``task, task + tasks, ...``. Writes their spikes ``out``, final state and,
    when those arrays are not empty, the ``[T, B, H]`` histories ``u_t``, ``i_t``,
    ``b_{t-1}`` that :func:`backward_task` needs. Releases the GIL: the tasks run on
    threads (see :func:`run_tasks`)."""
    batch, hidden = x.shape[1], x.shape[2]
    for grp in range(task, (batch + rows - 1) // rows, tasks):
        b = grp * rows
        nr = min(rows, batch - b)
        v, i, bb, ref = _load_rows(v0, i0, b0, r0, b, nr)
        _run_rows(_flat(x), hidden, wt, z0, b, nr, v, i, bb, ref, cf, nref, reset, has_syn, has_adapt,
                  _flat(out), _flat(u_save), _flat(i_save), _flat(b_save), b)
        _copy(_rows(v_end, b, nr), v)
        _copy(_rows(i_end, b, nr), i)
        _copy(_rows(b_end, b, nr), bb)
        _copy(_rows(r_end, b, nr), ref)


@numba.njit(cache=True, error_model="numpy")
def _add_outer(dwt, z, ge, unit):
    """``dwt[j] += z[j] * ge`` for every ``j`` with ``z[j] != 0`` (``unit``: those are 1)."""
    for j in range(z.shape[0]):
        zj = z[j]
        if zj != 0:
            row = dwt[j]
            if unit:
                for m in range(ge.shape[0]):
                    row[m] += ge[m]
            else:
                for m in range(ge.shape[0]):
                    row[m] += zj * ge[m]


@numba.njit(cache=True, error_model="numpy")
def _transposed_product(w, gc, gz):
    """``gz[r] = W^T gc[r]`` for every row ``r`` of ``gc``: eight rows of ``W`` at a time,
    each block shared by all rows (fewer passes over ``W`` and ``gz``); blocks whose
    ``gc`` entries are all zero (refractory, or outside a compact surrogate) are skipped."""
    nr, hidden = gc.shape
    for r in range(nr):
        for n in range(hidden):
            gz[r, n] = 0
    m = 0
    while m + 8 <= hidden:
        w0, w1, w2, w3 = w[m], w[m + 1], w[m + 2], w[m + 3]
        w4, w5, w6, w7 = w[m + 4], w[m + 5], w[m + 6], w[m + 7]
        for r in range(nr):
            c = gc[r]
            g0, g1, g2, g3 = c[m], c[m + 1], c[m + 2], c[m + 3]
            g4, g5, g6, g7 = c[m + 4], c[m + 5], c[m + 6], c[m + 7]
            if (g0 != 0 or g1 != 0 or g2 != 0 or g3 != 0 or g4 != 0 or g5 != 0 or g6 != 0
                    or g7 != 0):
                o = gz[r]
                for n in range(hidden):
                    o[n] += ((g0 * w0[n] + g1 * w1[n]) + (g2 * w2[n] + g3 * w3[n])
                             + ((g4 * w4[n] + g5 * w5[n]) + (g6 * w6[n] + g7 * w7[n])))
        m += 8
    while m < hidden:
        wm = w[m]
        for r in range(nr):
            gm = gc[r, m]
            if gm != 0:
                o = gz[r]
                for n in range(hidden):
                    o[n] += gm * wm[n]
        m += 1


@numba.njit(cache=True, error_model="numpy")
def _rows_backward(b0, nr, hidden, grad_out, g_v_end, g_i_end, g_b_end, x, w, out, out3,
                   v0, i0, r0, cf, nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
                   coef_grad, e_grad, u_h, i_h, b_h, h0, grad_x, grad_x3,
                   g_z0, g_v0, g_i0, g_b0, g_coef, z0, dwt, act):
    """Reverse-time pass of rows ``b0 .. b0 + nr - 1`` as one vector of ``nr * H`` neurons
    (``[T, B * H]`` arrays, as in :func:`_run_rows`; ``out3``/``grad_x3`` are the
    ``[T, B, H]`` views), in the input's dtype: :func:`.glif.backward`'s arithmetic,
    with the spike's gradient from the recurrent path added.

    With ``e_grad``, adds ``ge_t z_{t-1}^T`` into ``dwt`` (``[j, m]``: ``W_rec^T``'s layout),
    event-driven over the neurons ``j`` that spiked at ``t-1``; ``ge_t`` is the current's
    gradient (synaptic models) or the integration's gradient ``g_int`` (the others; the
    caller scales by ``g`` and adds the recurrent drive's share of ``g``'s gradient:
    ``g``'s gradient here covers the input drive only). With ``coef_grad``,
    ``g_coef[:, b]`` receives the rows' coefficient gradients; otherwise that work is
    skipped."""
    steps = x.shape[0]
    width = nr * hidden
    lo, ho = b0 * hidden, h0 * hidden
    if nref > 0:
        for r in range(nr):
            _free_to_integrate(out3, r0, b0 + r, nref, act[:, r * hidden:(r + 1) * hidden])
    d, g, lk = cf[0, :width], cf[1, :width], cf[2, :width]
    th, vr, ds = cf[3, :width], cf[4, :width], cf[5, :width]
    be, rh, om = cf[6, :width], cf[7, :width], cf[8, :width]
    one = np.ones(1, dtype=x.dtype)[0]
    gv = _rows(g_v_end, b0, nr).copy()
    gi = _rows(g_i_end, b0, nr).copy()
    gb = _rows(g_b_end, b0, nr).copy()
    acc = np.zeros((9 if coef_grad else 0, width + PAD), dtype=x.dtype)
    gzs = np.zeros((nr, hidden), dtype=x.dtype)  # gradient of z_t through the product at t+1
    gz = gzs.reshape(width)
    theta = th.copy()
    sg = np.empty(width, dtype=x.dtype)
    v_prev = np.empty(width, dtype=x.dtype)
    i_prev = np.empty(width, dtype=x.dtype)
    ge = np.empty(width, dtype=x.dtype)
    sc = surrogate_constants(p0, p1, p2, p3, sg)
    for t in range(steps - 1, -1, -1):
        u = u_h[t, ho:ho + width]
        s = out[t, lo:lo + width]
        b_prev = b_h[t, ho:ho + width] if has_adapt else u[:0]
        if has_adapt:
            for k in range(width):
                theta[k] = th[k] + be[k] * b_prev[k]
        for k in range(width):
            sg[k] = u[k] - theta[k]
        surrogate_rows(sg, sid, sc)
        if coef_grad:  # the state after the previous step, for the coefficient gradients
            if t > 0:
                up, spv = u_h[t - 1, ho:ho + width], out[t - 1, lo:lo + width]
                bp2 = b_h[t - 1, ho:ho + width] if has_adapt else u[:0]
                for k in range(width):
                    tp = th[k] + be[k] * bp2[k] if has_adapt else th[k]
                    if reset == 0:
                        v_prev[k] = up[k] - spv[k] * (tp - vr[k])
                    elif reset == 1:
                        v_prev[k] = up[k] - spv[k] * (up[k] - vr[k])
                    else:
                        v_prev[k] = up[k]
                if has_syn:
                    _copy(i_prev, i_h[t - 1, ho:ho + width])
            else:
                _copy(v_prev, _rows(v0, b0, nr))
                _copy(i_prev, _rows(i0, b0, nr))
        drive = i_h[t, ho:ho + width] if has_syn else x[t, lo:lo + width]
        go = grad_out[t, lo:lo + width]
        gx = grad_x[t, lo:lo + width]
        at = act[t, :width] if nref > 0 else s
        for k in range(width):
            a = at[k] if nref > 0 else one
            sk = s[k]
            # the spike's gradient: output, recurrent path, adaptation, reset unless detached
            g_s = go[k] + gz[k]
            if has_adapt:
                g_s += gb[k] * om[k]
            if not detach:
                if reset == 0:
                    g_s -= gv[k] * (theta[k] - vr[k])
                elif reset == 1:
                    g_s -= gv[k] * (u[k] - vr[k])
            g_z = g_s * sg[k] * a
            if reset == 0:
                g_u = gv[k] + g_z
                g_theta = -gv[k] * sk - g_z
            elif reset == 1:
                g_u = gv[k] * (one - sk) + g_z
                g_theta = -g_z
            else:
                g_u = gv[k] + g_z
                g_theta = -g_z
            g_int = g_u * a  # through the integration (the membrane is held while refractory)
            if coef_grad:
                if has_adapt:
                    acc[7, k] += gb[k] * b_prev[k]
                    acc[8, k] += gb[k] * sk
                    acc[6, k] += g_theta * b_prev[k]
                if reset != 2:
                    acc[4, k] += gv[k] * sk
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
                if e_grad:
                    ge[k] = gi[k]
                if coef_grad:
                    acc[5, k] += gi[k] * i_prev[k]
                gi[k] *= ds[k]
            else:
                gx[k] = g_drive
                if e_grad:
                    ge[k] = g_int
        # z_{t-1} receives W_rec^T g_c (dense)
        _transposed_product(w, grad_x3[t, b0:b0 + nr], gzs)
        if e_grad:  # the weight gradient, over the neurons that spiked at t-1
            for r in range(nr):
                ge_r = ge[r * hidden:(r + 1) * hidden]
                if t > 0:
                    _add_outer(dwt, out[t - 1, lo + r * hidden:lo + (r + 1) * hidden], ge_r, True)
                else:
                    _add_outer(dwt, z0[b0 + r], ge_r, False)
    _copy(_rows(g_z0, b0, nr), gz)
    _copy(_rows(g_v0, b0, nr), gv)
    _copy(_rows(g_i0, b0, nr), gi)
    _copy(_rows(g_b0, b0, nr), gb)
    if coef_grad:
        for c in range(9):
            _copy(_rows(g_coef[c], b0, nr), acc[c, :width])


@numba.njit(nogil=True, cache=True, error_model="numpy")
def backward_task(task, tasks, grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, z0, v0, i0, b0, r0, cf,
                  nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3, coef_grad, e_grad, rows,
                  u_save, i_save, b_save, grad_x, g_z0, g_v0, g_i0, g_b0, g_coef, g_wt):
    """Task ``task`` of ``tasks`` of the backward pass, time reversed: the groups of ``rows``
    batch rows ``task, task + tasks, ...`` (``cf`` the coefficients tiled for ``rows``
    rows). With empty ``u_save`` the histories are recomputed per group.

    With ``coef_grad``, ``g_coef [9, B, H]`` receives per-row coefficient gradients (in
    ``spec.COEFFICIENTS`` order; for models without a synaptic current, ``g``'s covers
    the input drive only). With ``e_grad``, ``g_wt[task]`` (``[tasks, H, H]``) receives
    ``E^T`` for this task's rows, ``E = sum_t ge_t z_{t-1}^T``: the weight gradient for
    synaptic models, and ``diag(g)^{-1}`` times it for the others (see
    :func:`run_backward`). Releases the GIL: the tasks run on threads."""
    steps, batch, hidden = x.shape
    dwt = g_wt[task]
    groups = (batch + rows - 1) // rows
    recompute = u_save.shape[0] == 0 and steps > 0
    x2, out2, go2, gx2 = _flat(x), _flat(out), _flat(grad_out), _flat(grad_x)
    if e_grad:
        for j in range(hidden):
            for m in range(hidden):
                dwt[j, m] = 0
    act = np.empty((steps if nref > 0 else 0, rows * hidden), dtype=x.dtype)
    if recompute:
        u_h = np.empty((steps, rows * hidden), dtype=x.dtype)
        i_h = np.empty((steps if has_syn else 0, rows * hidden), dtype=x.dtype)
        b_h = np.empty((steps if has_adapt else 0, rows * hidden), dtype=x.dtype)
    else:
        u_h, i_h, b_h = _flat(u_save), _flat(i_save), _flat(b_save)
    for grp in range(task, groups, tasks):
        b = grp * rows
        nr = min(rows, batch - b)
        if recompute:
            v, i, bb, ref = _load_rows(v0, i0, b0, r0, b, nr)
            _run_rows(x2, hidden, wt, z0, b, nr, v, i, bb, ref, cf, nref, reset, has_syn, has_adapt,
                      out2[:0], u_h, i_h, b_h, 0)
            h0 = 0
        else:
            h0 = b
        _rows_backward(b, nr, hidden, go2, g_v_end, g_i_end, g_b_end, x2, w, out2, out,
                       v0, i0, r0, cf, nref, reset, detach, has_syn, has_adapt, sid, p0, p1, p2, p3,
                       coef_grad, e_grad, u_h, i_h, b_h, h0, gx2, grad_x,
                       g_z0, g_v0, g_i0, g_b0, g_coef, z0, dwt, act)


# --- torch entry points (zero-copy through numpy) ---------------------------------


def _np(t):
    return t.detach().contiguous().numpy()


def rows_per_task(batch: int) -> int:
    """How many batch rows a task walks in lockstep: up to 8 (their data at one step is
    contiguous, and each block of ``W_rec`` serves all of them), but at least one
    group of rows per thread."""
    return max(1, min(8, -(-batch // numba.get_num_threads())))


def tasks(batch: int, steps: int, hidden: int) -> int:
    """How many tasks (threads) a call uses: one per group of rows, at most
    ``numba.get_num_threads()``, and one for calls too small to gain from threads."""
    if batch * steps * hidden < 1 << 15:
        return 1
    return max(1, min(-(-batch // rows_per_task(batch)), numba.get_num_threads()))


_POOL: list = []  # [(process id, ThreadPoolExecutor)]


def _pool(workers: int):
    """A thread pool with at least ``workers`` threads, made anew in a forked child (the
    parent's threads do not exist there)."""
    import os

    if not _POOL or _POOL[0][0] != os.getpid() or _POOL[0][1]._max_workers < workers:
        from concurrent.futures import ThreadPoolExecutor

        _POOL[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spikeforge-srnn"))]
    return _POOL[0][1]


def run_tasks(fn, n: int, *args) -> None:
    """``fn(k, n, *args)`` for ``k < n``: task 0 on this thread, the others on a thread pool
    (the numba functions release the GIL). Threads rather than ``parallel=True``: the
    parallel compiler would compile the whole kernel a second time."""
    if n == 1:
        fn(0, 1, *args)
        return
    futures = [_pool(n - 1).submit(fn, k, n, *args) for k in range(1, n)]
    try:
        fn(0, n, *args)
    finally:
        for f in futures:
            f.result()


def run_forward(x, w, z0, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt,
                out, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist) -> None:
    """The forward pass on torch tensors (``w`` is ``W_rec [H, H]``)."""
    steps, batch, hidden = x.shape
    rows = rows_per_task(batch)
    wt = w.detach().t().contiguous()
    run_tasks(
        forward_task, tasks(batch, steps, hidden),
        _np(x), _np(wt), _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _tile(_np(coef), rows),
        nref, reset, bool(has_syn), bool(has_adapt), rows,
        _np(out), _np(v_end), _np(i_end), _np(b_end), _np(r_end), _np(u_hist), _np(i_hist), _np(b_hist),
    )


def run_backward(grad_out, g_v_end, g_i_end, g_b_end, x, w, out, z0, v0, i0, b0, r0, coef,
                 nref, reset, detach, has_syn, has_adapt, sid, sp, coef_grad, w_grad,
                 u_hist, i_hist, b_hist, grad_x, g_z0, g_v0, g_i0, g_b0):
    """The backward pass on torch tensors. Fills ``grad_x``, ``g_z0``, ``g_v0``, ``g_i0`` and
    ``g_b0``; returns ``(grad_w [H, H], grad_coef [9, H])``, each zeros when not asked
    for (``w_grad``, ``coef_grad``)."""
    import torch

    steps, batch, hidden = x.shape
    rows = rows_per_task(batch)
    n = tasks(batch, steps, hidden)
    # E (the summed ge z^T) serves the weight gradient and, without a synaptic current, g's
    e_grad = bool(w_grad or (coef_grad and not has_syn))
    g_wt = torch.empty((n, hidden, hidden) if e_grad else (n, 0, 0), dtype=x.dtype)
    g_coef = (torch.empty if coef_grad else torch.zeros)((9, batch, hidden), dtype=x.dtype)
    wt = w.detach().t().contiguous()
    run_tasks(
        backward_task, n,
        _np(grad_out), _np(g_v_end), _np(g_i_end), _np(g_b_end), _np(x), _np(w), _np(wt), _np(out),
        _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _tile(_np(coef), rows),
        nref, reset, bool(detach), bool(has_syn), bool(has_adapt), sid, *[float(v) for v in sp],
        bool(coef_grad), e_grad, rows, _np(u_hist), _np(i_hist), _np(b_hist),
        _np(grad_x), _np(g_z0), _np(g_v0), _np(g_i0), _np(g_b0), _np(g_coef), _np(g_wt),
    )
    grad_coef = g_coef.sum(1)
    if not e_grad:
        return torch.zeros_like(w), grad_coef
    e = g_wt.to(torch.float64).sum(0).t()  # [m, j]: sum over rows and steps of ge_t[m] z_{t-1}[j]
    if has_syn:
        return e.to(w.dtype).contiguous(), grad_coef
    # c_t = x_t + W z_{t-1} enters as g * c_t: dW = diag(g) E, and g's gradient gains sum_j W E
    grad_w = coef[1].detach().to(torch.float64)[:, None] * e
    if coef_grad:
        grad_coef[1] += (w.detach().to(torch.float64) * e).sum(1).to(x.dtype)
    return grad_w.to(w.dtype).contiguous(), grad_coef
