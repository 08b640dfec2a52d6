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
gradient is dense: dot products with the rows of ``W_rec^T`` in register blocks of
four batch rows by two neurons; where three quarters of ``g_c`` are zero, e.g. a compact
surrogate or refractory neurons, a product that skips the zeros; :mod:`.recurrent_product`).
The weight gradient ``sum_t g_{c,t} z_{t-1}^T`` is accumulated event-driven over the
columns that spiked, one accumulator per task (the caller sums them). For models
without a synaptic current ``g_c = g * g_int``, so the kernel accumulates
``E = sum_t g_int z_{t-1}^T`` instead and the caller forms ``dW = diag(g) E`` and the
recurrent drive's share of ``g``'s gradient, ``sum_j W E`` (no need to recompute
``W_rec z_{t-1}`` in the backward pass). The histories ``u_t`` (and ``i_t``,
``b_{t-1}``) are saved by the forward pass, or recomputed per group of rows at the
start of the backward pass when they were not.

The features a call uses (synaptic current, adaptive threshold, refractory period) are
compile-time constants, one compiled kernel per combination, as in :mod:`.glif` (whose
step, :func:`.glif._step_row`, the forward pass runs): a per-neuron test of a run-time
flag keeps LLVM from vectorising the loops.

The tasks run through :func:`.threads.run_tasks`: on torch's own OpenMP threads (a small
cached ``parallel=True`` wrapper per kernel), or a thread pool where those cannot be used.
"""

from __future__ import annotations

import functools

import numba
import numpy as np

from .glif import RECORD_ALL, _step_row, surrogate_constants, surrogate_rows
from .recurrent_product import transposed_product
from .threads import kernel_threads, run_tasks, thread_count


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


@numba.njit(inline="always", error_model="numpy")
def _run_rows(x, hidden, wt, z0, b0, nr, v, i, bb, ref, cf, nref, reset, out, u_h, i_h, b_h, h0,
              SYN, ADAPT, REFRAC):
    """Advance rows ``b0 .. b0 + nr - 1`` through every step, as one vector of ``nr * H``
    neurons: ``x`` is ``[T, B * H]`` (the rows' currents at one step are contiguous)
    and ``cf`` the coefficients tiled for the rows (:func:`_tile`).

    ``v, i, bb, ref`` (flat, ``>= nr * H``) hold the rows' state and are updated in
    place. Spikes go to ``out[t]`` (``[T, B * H]``) when it is not empty, and ``u_t``,
    ``i_t``, ``b_{t-1}`` to ``*_h[t]`` from column ``h0 * H`` on when ``u_h`` is not empty.
    The step is :func:`.glif._step_row` on the drive ``x_t + W_rec z_{t-1}``. ``SYN``,
    ``ADAPT`` and ``REFRAC`` are compile-time constants.
    """
    steps = x.shape[0]
    width = nr * hidden
    lo, ho = b0 * hidden, h0 * hidden
    fref = x.dtype.type(nref)
    zero = fref - fref
    rows_cf = (cf[0, :width], cf[1, :width], cf[2, :width], cf[3, :width], cf[4, :width],
               cf[5, :width], cf[6, :width], cf[7, :width], cf[8, :width])
    v, i, bb, ref = v[:width], i[:width], bb[:width], ref[:width]
    write_out, save = out.shape[0] > 0, u_h.shape[0] > 0
    junk = padded_rows(11, width, x)  # a distinct row per output not kept, and the drive
    rec = junk[10, :width]
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
        spk = out[t, lo:lo + width] if write_out else junk[9, :width]
        # what is not saved goes to junk rows (a few stores to L1): one compiled step, not two
        rows = (junk[0, :width], u_h[t, ho:ho + width] if save else junk[1, :width], junk[2, :width],
                junk[3, :width], junk[4, :width], b_h[t, ho:ho + width] if save and ADAPT else junk[5, :width],
                junk[6, :width], junk[7, :width], i_h[t, ho:ho + width] if save and SYN else junk[8, :width])
        _step_row(rec, v, i, bb, ref, rows_cf, fref, reset, spk, rows, SYN, ADAPT, REFRAC, RECORD_ALL)
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
    """Copies of rows ``b .. b + nr - 1`` of the initial state, flat, as rows of one padded
    array (see :func:`padded_rows`)."""
    width = nr * v0.shape[1]
    state = padded_rows(4, width, v0)
    v, i, bb, ref = state[0, :width], state[1, :width], state[2, :width], state[3, :width]
    _copy(v, _rows(v0, b, nr))
    _copy(i, _rows(i0, b, nr))
    _copy(bb, _rows(b0_, b, nr))
    _copy(ref, _rows(r0, b, nr))
    return v, i, bb, ref


@numba.njit(cache=True, error_model="numpy")
def padded_rows(n, width, like):
    """``n`` scratch rows for ``width`` values (use ``a[j, :width]``) in one array whose rows
    are ``PAD`` values longer: separately allocated rows of a power-of-two width start at the same
    offset within a page, so the loops that walk a dozen of them side by side (the
    backward pass) map them all to the same L1 cache sets and thrash an 8-way cache
    (measured: the backward elementwise loop ran several times slower)."""
    return np.empty((n, width + PAD), dtype=like.dtype)


def _forward_kernel(SYN, ADAPT, REFRAC):
    """The forward task for one combination of features (compile-time constants)."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def forward_task(task, tasks, x, wt, z0, v0, i0, b0, r0, cf, nref, reset, rows,
                     out, v_end, i_end, b_end, r_end, u_save, i_save, b_save):
        """Task ``task`` of ``tasks`` of the forward pass over ``x [T, B, H]`` (``wt = W_rec^T``,
        contiguous; ``cf`` the coefficients tiled for ``rows`` rows): the groups of ``rows``
        batch rows ``task, task + tasks, ...``. Writes their spikes ``out``, final state and,
        when ``u_save`` is not empty, the ``[T, B, H]`` histories ``u_t``, ``i_t``,
        ``b_{t-1}`` that the backward task reads. Releases the GIL: the tasks run on
        threads (see :func:`run_tasks`)."""
        batch, hidden = x.shape[1], x.shape[2]
        for grp in range(task, (batch + rows - 1) // rows, tasks):
            b = grp * rows
            nr = min(rows, batch - b)
            v, i, bb, ref = _load_rows(v0, i0, b0, r0, b, nr)
            _run_rows(_flat(x), hidden, wt, z0, b, nr, v, i, bb, ref, cf, nref, reset,
                      _flat(out), _flat(u_save), _flat(i_save), _flat(b_save), b, SYN, ADAPT, REFRAC)
            _copy(_rows(v_end, b, nr), v)
            _copy(_rows(i_end, b, nr), i)
            _copy(_rows(b_end, b, nr), bb)
            _copy(_rows(r_end, b, nr), ref)

    return forward_task


@functools.lru_cache(maxsize=None)
def forward_kernel(has_syn: bool, has_adapt: bool, refractory: bool):
    """The forward task for these features (compiled on first use, cached on disk)."""
    return _forward_kernel(bool(has_syn), bool(has_adapt), bool(refractory))


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


def _rows_backward_kernel(SYN, ADAPT, REFRAC):
    """The reverse-time pass of a group of rows for one combination of features."""

    @numba.njit(cache=True, error_model="numpy")
    def rows_backward(b0, nr, hidden, grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, out3,
                      v0, i0, r0, cf, nref, reset, detach, sid, p0, p1, p2, p3,
                      coef_grad, e_grad, u_h, i_h, b_h, h0, grad_x, grad_x3,
                      g_z0, g_v0, g_i0, g_b0, g_coef, z0, dwt, act):
        """Reverse-time pass of rows ``b0 .. b0 + nr - 1`` as one vector of ``nr * H`` neurons
        (``[T, B * H]`` arrays, as in :func:`_run_rows`; ``out3``/``grad_x3`` are the
        ``[T, B, H]`` views), in the input's dtype: :func:`.glif`'s backward arithmetic,
        with the spike's gradient from the recurrent path added.

        With ``e_grad``, adds ``ge_t z_{t-1}^T`` into ``dwt`` (``[j, m]``: ``W_rec^T``'s layout),
        event-driven over the neurons ``j`` that spiked at ``t-1``; ``ge_t`` is the current's
        gradient (synaptic models) or the integration's gradient ``g_int`` (the others; the
        caller scales by ``g`` and adds the recurrent drive's share of ``g``'s gradient:
        ``g``'s gradient here covers the input drive only). With ``coef_grad``,
        ``g_coef[:, b]`` receives the rows' coefficient gradients; otherwise that work is
        skipped. ``SYN``, ``ADAPT`` and ``REFRAC`` are compile-time constants (the closure's)."""
        steps = x.shape[0]
        width = nr * hidden
        lo, ho = b0 * hidden, h0 * hidden
        if REFRAC:
            for r in range(nr):
                _free_to_integrate(out3, r0, b0 + r, nref, act[:, r * hidden:(r + 1) * hidden])
        d, g, lk = cf[0, :width], cf[1, :width], cf[2, :width]
        th, vr, ds = cf[3, :width], cf[4, :width], cf[5, :width]
        be, rh, om = cf[6, :width], cf[7, :width], cf[8, :width]
        one = x.dtype.type(1)
        zero = one - one
        c_sub = one if reset == 0 else zero
        c_zero = one if reset == 1 else zero
        keep = zero if detach else one
        loc = padded_rows(12, width, x)  # the rows' local state and per-step values
        gv, gi, gb, theta = loc[0, :width], loc[1, :width], loc[2, :width], loc[3, :width]
        sg, v_prev, i_prev, ge = loc[4, :width], loc[5, :width], loc[6, :width], loc[7, :width]
        gzr, gur, gtr, gir = loc[8, :width], loc[9, :width], loc[10, :width], loc[11, :width]
        _copy(gv, _rows(g_v_end, b0, nr))
        _copy(gi, _rows(g_i_end, b0, nr))
        _copy(gb, _rows(g_b_end, b0, nr))
        _copy(theta, th)
        acc = np.zeros((9 if coef_grad else 1, width + PAD), dtype=x.dtype)
        gzs = np.zeros((nr, hidden), dtype=x.dtype)  # gradient of z_t through the product at t+1
        gz = gzs.reshape(width)
        sc = surrogate_constants(p0, p1, p2, p3, sg)
        for t in range(steps - 1, -1, -1):
            u = u_h[t, ho:ho + width]
            s = out[t, lo:lo + width]
            if ADAPT:
                b_prev = b_h[t, ho:ho + width]
                for k in range(width):
                    theta[k] = th[k] + be[k] * b_prev[k]
            else:
                b_prev = u
            for k in range(width):
                sg[k] = u[k] - theta[k]
            surrogate_rows(sg, sid, sc)
            if coef_grad:  # the state after the previous step, for the coefficient gradients
                if t > 0:
                    up, spv = u_h[t - 1, ho:ho + width], out[t - 1, lo:lo + width]
                    bp2 = b_h[t - 1, ho:ho + width] if ADAPT else up
                    for k in range(width):
                        tp = th[k] + be[k] * bp2[k] if ADAPT else th[k]
                        if reset == 0:
                            drop = tp - vr[k]
                        elif reset == 1:
                            drop = up[k] - vr[k]
                        else:
                            drop = zero
                        v_prev[k] = up[k] - spv[k] * drop
                    if SYN:
                        _copy(i_prev, i_h[t - 1, ho:ho + width])
                else:
                    _copy(v_prev, _rows(v0, b0, nr))
                    _copy(i_prev, _rows(i0, b0, nr))
            drive = i_h[t, ho:ho + width] if SYN else x[t, lo:lo + width]
            go = grad_out[t, lo:lo + width]
            gx = grad_x[t, lo:lo + width]
            at = act[t, :width] if REFRAC else s
            # the gradient, in short loops over few arrays each: one loop over all of them
            # needs more run-time overlap checks than LLVM makes, and stays scalar
            for k in range(width):  # the spike's: output, recurrent path, reset unless detached
                gzr[k] = go[k] + gz[k] - keep * gv[k] * (c_sub * (theta[k] - vr[k]) + c_zero * (u[k] - vr[k]))
            if ADAPT:  # ... and adaptation
                for k in range(width):
                    gzr[k] += gb[k] * om[k]
            for k in range(width):  # through the surrogate: the membrane's, g_z
                gzr[k] *= sg[k]
            if REFRAC:
                for k in range(width):
                    gzr[k] *= at[k]
            for k in range(width):  # g_u
                gur[k] = gv[k] * (one - c_zero * s[k]) + gzr[k]
            if ADAPT or coef_grad:  # g_theta
                for k in range(width):
                    gtr[k] = -c_sub * gv[k] * s[k] - gzr[k]
            if REFRAC:  # through the integration (the membrane is held while refractory)
                for k in range(width):
                    gir[k] = gur[k] * at[k]
                gint = gir
            else:
                gint = gur
            if coef_grad:
                if ADAPT:
                    a6, a7, a8 = acc[6, :width], acc[7, :width], acc[8, :width]
                    for k in range(width):
                        a7[k] += gb[k] * b_prev[k]
                        a8[k] += gb[k] * s[k]
                        a6[k] += gtr[k] * b_prev[k]
                a3, a4 = acc[3, :width], acc[4, :width]
                for k in range(width):
                    a4[k] += (c_sub + c_zero) * gv[k] * s[k]
                    a3[k] += gtr[k]
                a0, a1, a2 = acc[0, :width], acc[1, :width], acc[2, :width]
                for k in range(width):
                    a0[k] += gint[k] * (v_prev[k] - lk[k])
                    a1[k] += gint[k] * drive[k]
                    a2[k] += gint[k] * (one - d[k])
            if ADAPT:
                for k in range(width):
                    gb[k] = gtr[k] * be[k] + gb[k] * rh[k]
            if REFRAC:
                for k in range(width):
                    gv[k] = gint[k] * d[k] + (gur[k] - gint[k])
            else:
                for k in range(width):
                    gv[k] = gur[k] * d[k]
            if SYN:
                for k in range(width):
                    gik = gi[k] + gint[k] * g[k]
                    gx[k] = gik
                    ge[k] = gik
                if coef_grad:
                    a5 = acc[5, :width]
                    for k in range(width):
                        a5[k] += gx[k] * i_prev[k]
                for k in range(width):
                    gi[k] = gx[k] * ds[k]
            else:
                for k in range(width):
                    gx[k] = gint[k] * g[k]
                    ge[k] = gint[k]
            # z_{t-1} receives W_rec^T g_c (dense)
            transposed_product(w, wt, grad_x3[t, b0:b0 + nr], gzs)
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

    return rows_backward


def _backward_kernel(SYN, ADAPT, REFRAC):
    """The backward task for one combination of features (compile-time constants)."""
    rows_backward = _rows_backward_kernel(SYN, ADAPT, REFRAC)

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def backward_task(task, tasks, grad_out, g_v_end, g_i_end, g_b_end, x, w, wt, out, z0, v0, i0, b0, r0, cf,
                      nref, reset, detach, sid, p0, p1, p2, p3, coef_grad, e_grad, rows,
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
        act = np.empty((steps if REFRAC else 0, rows * hidden), dtype=x.dtype)
        if recompute:
            u_h = np.empty((steps, rows * hidden), dtype=x.dtype)
            i_h = np.empty((steps if SYN else 0, rows * hidden), dtype=x.dtype)
            b_h = np.empty((steps if ADAPT else 0, rows * hidden), dtype=x.dtype)
        else:
            u_h, i_h, b_h = _flat(u_save), _flat(i_save), _flat(b_save)
        for grp in range(task, groups, tasks):
            b = grp * rows
            nr = min(rows, batch - b)
            if recompute:
                v, i, bb, ref = _load_rows(v0, i0, b0, r0, b, nr)
                _run_rows(x2, hidden, wt, z0, b, nr, v, i, bb, ref, cf, nref, reset,
                          out2[:0], u_h, i_h, b_h, 0, SYN, ADAPT, REFRAC)
                h0 = 0
            else:
                h0 = b
            rows_backward(b, nr, hidden, go2, g_v_end, g_i_end, g_b_end, x2, w, wt, out2, out,
                          v0, i0, r0, cf, nref, reset, detach, sid, p0, p1, p2, p3,
                          coef_grad, e_grad, u_h, i_h, b_h, h0, gx2, grad_x,
                          g_z0, g_v0, g_i0, g_b0, g_coef, z0, dwt, act)

    return backward_task


@functools.lru_cache(maxsize=None)
def backward_kernel(has_syn: bool, has_adapt: bool, refractory: bool):
    """The backward task for these features (compiled on first use, cached on disk)."""
    return _backward_kernel(bool(has_syn), bool(has_adapt), bool(refractory))


# --- torch entry points (zero-copy through numpy) ---------------------------------


def _np(t):
    return t.detach().contiguous().numpy()


def rows_per_task(batch: int) -> int:
    """How many batch rows a task walks in lockstep: up to 8 (their data at one step is
    contiguous, and each block of ``W_rec`` serves all of them), but at least one
    group of rows per thread."""
    return max(1, min(8, -(-batch // kernel_threads())))


def tasks(batch: int, steps: int, hidden: int) -> int:
    """How many tasks (threads) a call uses: one per group of rows, at most
    torch's thread count, and one for calls too small to gain from threads."""
    return thread_count(batch * steps * hidden, -(-batch // rows_per_task(batch)), serial_below=1 << 15)


def run_forward(x, w, z0, v0, i0, b0, r0, coef, nref, reset, has_syn, has_adapt,
                out, v_end, i_end, b_end, r_end, u_hist, i_hist, b_hist) -> None:
    """The forward pass on torch tensors (``w`` is ``W_rec [H, H]``)."""
    steps, batch, hidden = x.shape
    rows = rows_per_task(batch)
    wt = w.detach().t().contiguous()
    run_tasks(
        forward_kernel(bool(has_syn), bool(has_adapt), nref > 0), tasks(batch, steps, hidden),
        _np(x), _np(wt), _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _tile(_np(coef), rows),
        nref, reset, rows,
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
        backward_kernel(bool(has_syn), bool(has_adapt), nref > 0), n,
        _np(grad_out), _np(g_v_end), _np(g_i_end), _np(g_b_end), _np(x), _np(w), _np(wt), _np(out),
        _np(z0), _np(v0), _np(i0), _np(b0), _np(r0), _tile(_np(coef), rows),
        nref, reset, bool(detach), sid, *[float(v) for v in sp],
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
