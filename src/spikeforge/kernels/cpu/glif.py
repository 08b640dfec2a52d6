"""CPU (numba) kernels of the generalised LIF recurrence of :mod:`spikeforge.kernels.spec`.

Layout: ``x`` is ``[T, B, N]``. Each task owns one batch row ``b`` and a block of
neighbouring neurons, keeps their state in small local arrays (L1 cache) and walks
time; at every step it runs one loop over the block's contiguous slice. The forward
pass computes in the input's dtype, in the same order as the plain-torch reference,
so the spikes match it bit for bit.

What makes the loops vectorise (each point was measured; breaking any one of them made
a loop several times slower):

- the features a call uses (synaptic current, adaptive threshold, refractory period)
  are compile-time constants: each combination is its own compiled kernel
  (:func:`forward_kernel`, :func:`backward_kernel`, built on first use and cached on
  disk). A per-neuron test of a run-time flag kept LLVM from vectorising the loop;
- the reset mode, which stays a run-time value, picks the amount subtracted, so every
  mode ends in one store to the membrane;
- ``error_model="numpy"``: with numba's default (Python) error model every float
  division carries a zero-division branch, which keeps the surrogate loops scalar;
- loops that update an array in place read and write it through one name (an output
  given as a second name for the same memory fails LLVM's overlap test at run time).

The forward pass stores nothing for the backward pass. The backward pass recomputes
the history block by block: pass 1 replays the forward pass of a block into a scratch
buffer of ``T x width`` values per recorded quantity, sized to stay in the core's L2
cache (:func:`backward_width`), and evaluates the surrogate derivative there; pass 2
walks time in reverse. The memory traffic is then the fewest passes a fused kernel can
make: forward reads ``x`` and writes the spikes; backward reads ``x`` and the output
gradient and writes the input gradient. (Storing the membrane instead costs one more
pass to write it and reads as many bytes back as re-reading ``x`` does; on a CPU, where
arithmetic is cheap next to memory, recomputing is faster as well as smaller.)

The plain layer (scalar parameters, none learnable, no synaptic current, adaptation or
refractory period, a subtracting or no reset) has kernels of its own in :mod:`.lean`,
which also chooses between them and these.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np

FORWARD_WIDTH = 2048
"""Neurons per forward task (their state is 8 KB per variable in float32)."""
SCRATCH_BYTES = 2 * 1024 * 1024
"""Scratch budget per backward worker. Wide blocks matter more than an L2-sized buffer:
each time step of a block is a separate stretch of memory (``x[t, b, n0:n1]``), and
short stretches defeat the hardware prefetcher (on the 2-core EPYC this was tuned on,
blocks of 512 neurons made the backward pass 1.8x slower than blocks of 4096 whose
scratch lives in L3)."""
MIN_WIDTH, MAX_WIDTH = 16, 8192

_PI = math.pi
_SQRT2PI = math.sqrt(2.0 * math.pi)

# Rows of the backward pass's scratch buffer ``[slot, t, k]``.
SG, U, S, A, TH, BP, VP, IP, DRV = range(9)
N_SLOTS = 9

# What one step records for the backward pass (a compile-time constant at each call).
RECORD_NOTHING, RECORD_Z, RECORD_ALL = 0, 1, 2

_jit = functools.partial(numba.njit, cache=True, error_model="numpy")


@_jit
def _pdf(x, mu, sigma, c):
    z = (x - mu) / sigma
    return c[5] * np.exp(-c[4] * z * z) / sigma


@_jit
def surrogate_constants(p0, p1, p2, p3, dtype_like):
    """The surrogate's parameters and the constants its formulas use, in the data's dtype
    (a bare ``0.5`` in numba is a float64 and would promote the whole loop)."""
    c = np.empty(8, dtype=dtype_like.dtype)
    c[0], c[1], c[2], c[3] = p0, p1, p2, p3
    c[4], c[5], c[6], c[7] = 0.5, 1.0 / _SQRT2PI, 0.5 * _PI, 1.0
    return c


@numba.njit(inline="always", error_model="numpy")
def surrogate_at(z, SID, c):
    """The derivative of surrogate ``SID`` (ids in ``spec.SURROGATE_IDS``) at ``z``; ``c``
    from :func:`surrogate_constants`. ``SID`` must be a constant where this is inlined
    (each loop is compiled for one surrogate: a run-time choice inside a loop keeps it
    scalar)."""
    p0, p1, p2, p3, half, one = c[0], c[1], c[2], c[3], c[4], c[7]
    zero = one - one
    if SID == 0:  # FastSigmoid(slope)
        a = one + p0 * abs(z)
        return half * p0 / (a * a)
    elif SID == 1:  # Sigmoid(slope)
        e = one / (one + np.exp(-p0 * z))
        return p0 * e * (one - e)
    elif SID == 2:  # ATan(alpha)
        q = c[6] * p0 * z
        return half * p0 / (one + q * q)
    elif SID == 3:  # Triangle(width)
        return max(one - abs(z) / p0, zero) / p0
    elif SID == 4:  # Rectangular(width)
        return one / p0 if abs(z) < half * p0 else zero
    elif SID == 5:  # Gaussian(sigma)
        return _pdf(z, zero, p0, c)
    elif SID == 6:  # MultiGaussian(width, height, scale, gamma)
        side = p2 * p0
        return p3 * ((one + p1) * _pdf(z, zero, p0, c) - p1 * _pdf(z, p0, side, c) - p1 * _pdf(z, -p0, side, c))
    elif SID == 7:  # Exponential(slope)
        return half * p0 * np.exp(-p0 * abs(z))
    return one  # StraightThrough


@numba.njit(inline="always", error_model="numpy")
def _surrogate_loop(z, SID, c):
    for k in range(z.shape[0]):
        z[k] = surrogate_at(z[k], SID, c)


@_jit
def surrogate_rows(z, sid, c):
    """``z[k] <- derivative of surrogate sid at z[k]``, in place (ids in
    ``spec.SURROGATE_IDS``; ``c`` from :func:`surrogate_constants`). One loop per
    surrogate, so the choice is made once per row, not per neuron: each branch passes
    its id as a literal, which is what makes it a constant inside that loop."""
    if sid == 0:
        _surrogate_loop(z, 0, c)
    elif sid == 1:
        _surrogate_loop(z, 1, c)
    elif sid == 2:
        _surrogate_loop(z, 2, c)
    elif sid == 3:
        _surrogate_loop(z, 3, c)
    elif sid == 4:
        _surrogate_loop(z, 4, c)
    elif sid == 5:
        _surrogate_loop(z, 5, c)
    elif sid == 6:
        _surrogate_loop(z, 6, c)
    elif sid == 7:
        _surrogate_loop(z, 7, c)
    else:
        _surrogate_loop(z, 8, c)


@_jit
def backward_width(steps, n_slots, itemsize):
    """Neurons per backward task: the largest power of two whose scratch
    (``n_slots x steps x width`` values) fits :data:`SCRATCH_BYTES`, within
    [:data:`MIN_WIDTH`, :data:`MAX_WIDTH`]."""
    width = MAX_WIDTH
    while width > MIN_WIDTH and n_slots * max(steps, 1) * width * itemsize > SCRATCH_BYTES:
        width //= 2
    return width


@numba.njit(inline="always", error_model="numpy")
def _step_row(drive, v, i, bb, ref, cf, fref, reset, s_out, rec, SYN, ADAPT, REFRAC, RECORD):
    """One step of the recurrence for one block of neurons, in place on ``v, i, bb, ref``.

    ``cf`` holds the block's coefficient rows in ``spec.COEFFICIENTS`` order; spikes go
    to ``s_out``. ``RECORD`` says what the step also writes for the backward pass:
    nothing, only ``z = u - theta`` (``rec[0]``), or every row of
    ``rec = (z, u, s, a, theta, b_prev, v_prev, i_prev, drive)`` (rows a caller does
    not need point to distinct junk rows). ``SYN``, ``ADAPT``, ``REFRAC`` and
    ``RECORD`` are compile-time constants at every call site.
    """
    d, g, lk, th, vr, ds, be, rh, om = cf
    z_o, u_o, s_o, a_o, th_o, bp_o, vp_o, ip_o, dr_o = rec
    zero = v.dtype.type(0)
    one = zero + 1
    for k in range(v.shape[0]):
        vk = v[k]
        if SYN:
            ik = i[k]
            if RECORD == RECORD_ALL:
                ip_o[k] = ik
            ik = ds[k] * ik + drive[k]
            i[k] = ik
            dk = ik
        else:
            dk = drive[k]
        if ADAPT:
            bk = bb[k]
            theta = th[k] + be[k] * bk
        else:
            theta = th[k]
        u = lk[k] + d[k] * (vk - lk[k]) + g[k] * dk
        if REFRAC:
            active = ref[k] <= zero
            u = u if active else vk
            spike = (u - theta >= zero) & active
        else:
            spike = u - theta >= zero
        # one store for every reset mode, so the mode does not branch the loop
        if reset == 0:
            drop = theta - vr[k]
        elif reset == 1:
            drop = u - vr[k]
        else:
            drop = zero
        v[k] = u - spike * drop
        if ADAPT:
            bb[k] = rh[k] * bk + om[k] * spike
        if REFRAC:
            left = ref[k] - one
            ref[k] = fref if spike else (left if left > zero else zero)
        s_out[k] = spike
        if RECORD != RECORD_NOTHING:
            z_o[k] = u - theta
        if RECORD == RECORD_ALL:
            u_o[k] = u
            s_o[k] = spike
            th_o[k] = theta
            vp_o[k] = vk
            dr_o[k] = dk
            if ADAPT:
                bp_o[k] = bk
            if REFRAC:
                a_o[k] = active


@_jit
def forward_width(n_neurons):
    """Neurons per forward block."""
    return min(FORWARD_WIDTH, max(n_neurons, 1))


@_jit
def forward_blocks(batch, n_neurons):
    """How many blocks (batch row, neuron range) the forward pass has."""
    width = forward_width(n_neurons)
    return batch * ((n_neurons + width - 1) // width)


@_jit
def backward_blocks(steps, batch, n_neurons, reset, has_syn, has_adapt, refractory, coef_grad, itemsize):
    """How many blocks the backward pass has (their width depends on what it records)."""
    loop = pass2_loop(reset, has_syn, has_adapt, refractory, coef_grad)
    width = backward_width(steps, needed_slots(loop, reset, has_syn, has_adapt, refractory, coef_grad).sum(), itemsize)
    return batch * ((n_neurons + width - 1) // width)


@_jit
def _block(task, n_neurons, width):
    blocks = (n_neurons + width - 1) // width
    b = task // blocks
    n0 = (task % blocks) * width
    return b, n0, min(n0 + width, n_neurons)


@_jit
def _coefficient_rows(coef, n0, n1):
    return (coef[0, n0:n1], coef[1, n0:n1], coef[2, n0:n1], coef[3, n0:n1], coef[4, n0:n1],
            coef[5, n0:n1], coef[6, n0:n1], coef[7, n0:n1], coef[8, n0:n1])


def _forward_kernel(SYN, ADAPT, REFRAC):
    """The forward kernel for one combination of features (compile-time constants)."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def forward(worker, workers, x, v0, i0, b0, r0, coef, nref, reset, out, v_end, i_end, b_end, r_end):
        """The blocks ``worker, worker + workers, ...`` of the forward pass (see
        :func:`forward_blocks`): their spikes ``out`` and final state."""
        steps, batch, n_neurons = x.shape
        width = forward_width(n_neurons)
        fref = x.dtype.type(nref)
        for task in range(worker, forward_blocks(batch, n_neurons), workers):
            b, n0, n1 = _block(task, n_neurons, width)
            v, i = v0[b, n0:n1].copy(), i0[b, n0:n1].copy()
            bb, ref = b0[b, n0:n1].copy(), r0[b, n0:n1].copy()
            cf = _coefficient_rows(coef, n0, n1)
            none = v[:0]
            rec = (none, none, none, none, none, none, none, none, none)
            for t in range(steps):
                _step_row(x[t, b, n0:n1], v, i, bb, ref, cf, fref, reset, out[t, b, n0:n1], rec,
                          SYN, ADAPT, REFRAC, RECORD_NOTHING)
            v_end[b, n0:n1] = v
            i_end[b, n0:n1] = i
            b_end[b, n0:n1] = bb
            r_end[b, n0:n1] = ref

    return forward


LEAN, SIMPLE, GENERAL = 0, 1, 2
"""The pass-2 loops: only the surrogate (no refractory period, adaptation, synaptic
current, coefficient gradient or reset to a value); no adaptation, synaptic current or
coefficient gradient; everything."""


@_jit
def pass2_loop(reset, has_syn, has_adapt, refractory, coef_grad):
    """Which pass-2 loop a call runs (:data:`LEAN`, :data:`SIMPLE`, :data:`GENERAL`)."""
    if has_adapt or has_syn or coef_grad:
        return GENERAL
    return SIMPLE if refractory or reset == 1 else LEAN


@_jit
def needed_slots(loop, reset, has_syn, has_adapt, refractory, coef_grad):
    """Which scratch rows pass 2 reads (``need[slot]``). A loop never reads a row it does
    not ask for (not even to multiply it by zero: unwritten memory may hold a NaN)."""
    need = np.zeros(N_SLOTS, dtype=np.bool_)
    need[SG] = True
    need[U] = need[S] = loop == GENERAL or (loop == SIMPLE and reset == 1)
    need[A] = refractory
    need[TH] = has_adapt
    need[BP] = has_adapt and coef_grad
    need[VP] = need[DRV] = coef_grad
    need[IP] = has_syn and coef_grad
    return need


def _backward_kernel(SYN, ADAPT, REFRAC):
    """The backward kernel for one combination of features (compile-time constants)."""

    @numba.njit(nogil=True, cache=True, error_model="numpy")
    def backward(worker, workers, grad_out, g_v_end, g_i_end, g_b_end, x, v0, i0, b0, r0, coef,
                 nref, reset, detach, sid, p0, p1, p2, p3, coef_grad, grad_x, g_v0, g_i0, g_b0, g_coef):
        """The blocks ``worker, worker + workers, ...`` of the backward pass (see
        :func:`backward_blocks`), time reversed, in the input's dtype, recomputing the history.

        With ``coef_grad`` set, ``g_coef [9, B, N]`` receives per-row gradients of the
        coefficients in ``spec.COEFFICIENTS`` order (the caller sums over the batch);
        otherwise it is left untouched and that work skipped."""
        steps, batch, n_neurons = x.shape
        loop = pass2_loop(reset, SYN, ADAPT, REFRAC, coef_grad)
        need = needed_slots(loop, reset, SYN, ADAPT, REFRAC, coef_grad)
        width = backward_width(steps, need.sum(), x.itemsize)
        tasks = batch * ((n_neurons + width - 1) // width)
        fref = x.dtype.type(nref)
        consts = surrogate_constants(p0, p1, p2, p3, x)
        one = x.dtype.type(1)
        zero = one - one
        c_sub = one if reset == 0 else zero
        c_zero = one if reset == 1 else zero
        keep = zero if detach else one
        # one scratch buffer per worker, reused for each of its blocks
        scratch = np.empty((N_SLOTS, max(steps, 1), width), dtype=x.dtype)
        junk = np.empty((N_SLOTS + 1, width), dtype=x.dtype)  # a distinct row per unused slot, and the spikes
        for task in range(worker, tasks, workers):
            b, n0, n1 = _block(task, n_neurons, width)
            w = n1 - n0
            cf = _coefficient_rows(coef, n0, n1)
            d, g, lk, th, vr, ds, be, rh, om = cf
            # pass 1: replay the forward pass, recording what pass 2 reads
            v, i = v0[b, n0:n1].copy(), i0[b, n0:n1].copy()
            bb, ref = b0[b, n0:n1].copy(), r0[b, n0:n1].copy()
            spikes = junk[N_SLOTS, :w]
            for t in range(steps):
                rows = (scratch[SG, t, :w],
                        scratch[U, t, :w] if need[U] else junk[U, :w],
                        scratch[S, t, :w] if need[S] else junk[S, :w],
                        scratch[A, t, :w] if need[A] else junk[A, :w],
                        scratch[TH, t, :w] if need[TH] else junk[TH, :w],
                        scratch[BP, t, :w] if need[BP] else junk[BP, :w],
                        scratch[VP, t, :w] if need[VP] else junk[VP, :w],
                        scratch[IP, t, :w] if need[IP] else junk[IP, :w],
                        scratch[DRV, t, :w] if need[DRV] else junk[DRV, :w])
                if loop == LEAN:
                    _step_row(x[t, b, n0:n1], v, i, bb, ref, cf, fref, reset, spikes, rows,
                              SYN, ADAPT, REFRAC, RECORD_Z)
                else:
                    _step_row(x[t, b, n0:n1], v, i, bb, ref, cf, fref, reset, spikes, rows,
                              SYN, ADAPT, REFRAC, RECORD_ALL)
                surrogate_rows(scratch[SG, t, :w], sid, consts)
            # pass 2: reverse time
            gv = g_v_end[b, n0:n1].copy()
            gi = g_i_end[b, n0:n1].copy()
            gb = g_b_end[b, n0:n1].copy()
            acc = np.zeros((9, w), dtype=x.dtype)
            for t in range(steps - 1, -1, -1):
                sg = scratch[SG, t, :w]
                go = grad_out[t, b, n0:n1]
                gx = grad_x[t, b, n0:n1]
                if loop == LEAN:  # only sg is read
                    for k in range(w):
                        gvk = gv[k]
                        g_u = gvk + (go[k] - keep * c_sub * gvk * (th[k] - vr[k])) * sg[k]
                        gv[k] = g_u * d[k]
                        gx[k] = g_u * g[k]
                    continue
                u, s, a = scratch[U, t, :w], scratch[S, t, :w], scratch[A, t, :w]
                theta = scratch[TH, t, :w] if ADAPT else th
                if loop == SIMPLE and reset != 1:  # the refractory period only
                    for k in range(w):
                        ak = a[k] if REFRAC else one
                        gvk = gv[k]
                        g_u = gvk + (go[k] - keep * c_sub * gvk * (th[k] - vr[k])) * sg[k] * ak
                        g_int = g_u * ak
                        gv[k] = g_int * d[k] + (g_u - g_int)
                        gx[k] = g_int * g[k]
                    continue
                if loop == SIMPLE:  # reset to a value (and maybe a refractory period)
                    for k in range(w):
                        ak = a[k] if REFRAC else one
                        gvk = gv[k]
                        g_s = go[k] - keep * gvk * (u[k] - vr[k])
                        g_u = gvk * (one - s[k]) + g_s * sg[k] * ak
                        g_int = g_u * ak
                        gv[k] = g_int * d[k] + (g_u - g_int)
                        gx[k] = g_int * g[k]
                    continue
                b_prev, v_prev = scratch[BP, t, :w], scratch[VP, t, :w]
                i_prev, drive = scratch[IP, t, :w], scratch[DRV, t, :w]
                for k in range(w):
                    ak = a[k] if REFRAC else one
                    sk = s[k]
                    gvk = gv[k]
                    # the spike's gradient: output, adaptation, and the reset unless detached
                    g_s = go[k] - keep * gvk * (c_sub * (theta[k] - vr[k]) + c_zero * (u[k] - vr[k]))
                    if ADAPT:
                        g_s += gb[k] * om[k]
                    g_z = g_s * sg[k] * ak
                    g_u = gvk * (one - c_zero * sk) + g_z
                    g_theta = -c_sub * gvk * sk - g_z
                    g_int = g_u * ak  # through the integration (the membrane is held while refractory)
                    if coef_grad:
                        if ADAPT:
                            acc[7, k] += gb[k] * b_prev[k]
                            acc[8, k] += gb[k] * sk
                            acc[6, k] += g_theta * b_prev[k]
                        acc[4, k] += (c_sub + c_zero) * gvk * sk
                        acc[3, k] += g_theta
                        acc[0, k] += g_int * (v_prev[k] - lk[k])
                        acc[1, k] += g_int * drive[k]
                        acc[2, k] += g_int * (one - d[k])
                    if ADAPT:
                        gb[k] = g_theta * be[k] + gb[k] * rh[k]
                    gv[k] = g_int * d[k] + (g_u - g_int)
                    g_drive = g_int * g[k]
                    if SYN:
                        gik = gi[k] + g_drive
                        gx[k] = gik
                        if coef_grad:
                            acc[5, k] += gik * i_prev[k]
                        gi[k] = gik * ds[k]
                    else:
                        gx[k] = g_drive
            g_v0[b, n0:n1] = gv
            g_i0[b, n0:n1] = gi
            g_b0[b, n0:n1] = gb
            if coef_grad:
                for c in range(9):
                    g_coef[c, b, n0:n1] = acc[c]

    return backward


@functools.lru_cache(maxsize=None)
def forward_kernel(has_syn: bool, has_adapt: bool, refractory: bool):
    """The forward kernel for these features (compiled on first use, cached on disk)."""
    return _forward_kernel(bool(has_syn), bool(has_adapt), bool(refractory))


@functools.lru_cache(maxsize=None)
def backward_kernel(has_syn: bool, has_adapt: bool, refractory: bool):
    """The backward kernel for these features (compiled on first use, cached on disk)."""
    return _backward_kernel(bool(has_syn), bool(has_adapt), bool(refractory))
