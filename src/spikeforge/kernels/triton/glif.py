"""Triton kernels of the generalised LIF recurrence of :mod:`spikeforge.kernels.spec`.

Layout: ``x`` is ``[T, B, N]`` flattened to ``[T, M]`` with ``M = B * N``. Each program
owns ``BLOCK`` consecutive columns ``m`` (coalesced loads and stores), keeps their state
in registers and walks time; the per-neuron coefficients ``coef [9, N]`` are read once,
at ``m % N``. The flags are ``tl.constexpr``, so every combination compiles to its own
branch-free kernel. The forward pass computes in the input's dtype, in the same order as
the plain-torch reference (and is launched with ``enable_fp_fusion=False``, so no FMA
changes a rounding): spikes match the reference bit for bit. The backward pass computes
in the input's dtype too (float32 or float64).

The backward pass walks time in reverse and needs ``u_t`` (and ``i_t``, ``b_{t-1}``):
either the ``[T, M]`` histories saved by the forward pass, or, when recomputing, a
segmented checkpoint scheme inside the backward kernel: a first forward sweep stores
the state ``(v, i, b, refractory)`` at the start of every segment of ``K`` steps
(``K ~ sqrt(T)``), then each segment, last first, is recomputed from its checkpoint
into a ``[K, M]`` scratch and walked backwards. Memory is ``O(sqrt(T) * M)`` instead of
``O(T * M)``, for one extra forward sweep of time.
"""

from __future__ import annotations

import triton
import triton.language as tl

from .surrogate import surrogate_derivative


@triton.jit
def _coefficients(coef_ptr, n, N, mask):
    """The nine ``spec.COEFFICIENTS`` of neurons ``n``."""
    d = tl.load(coef_ptr + n, mask=mask, other=0.0)
    g = tl.load(coef_ptr + N + n, mask=mask, other=0.0)
    vleak = tl.load(coef_ptr + 2 * N + n, mask=mask, other=0.0)
    vth = tl.load(coef_ptr + 3 * N + n, mask=mask, other=0.0)
    vr = tl.load(coef_ptr + 4 * N + n, mask=mask, other=0.0)
    dsyn = tl.load(coef_ptr + 5 * N + n, mask=mask, other=0.0)
    beta = tl.load(coef_ptr + 6 * N + n, mask=mask, other=0.0)
    rho = tl.load(coef_ptr + 7 * N + n, mask=mask, other=0.0)
    omr = tl.load(coef_ptr + 8 * N + n, mask=mask, other=0.0)
    return d, g, vleak, vth, vr, dsyn, beta, rho, omr


@triton.jit
def _load_state(v_ptr, i_ptr, b_ptr, r_ptr, offs, mask):
    """The state ``(v, i, b, refractory counter)`` of columns ``offs``."""
    v = tl.load(v_ptr + offs, mask=mask, other=0.0)
    i = tl.load(i_ptr + offs, mask=mask, other=0.0)
    b = tl.load(b_ptr + offs, mask=mask, other=0.0)
    return v, i, b, tl.load(r_ptr + offs, mask=mask, other=0.0).to(tl.int32)


@triton.jit
def _store_state(v_ptr, i_ptr, b_ptr, r_ptr, offs, mask, v, i, b, ref):
    tl.store(v_ptr + offs, v, mask=mask)
    tl.store(i_ptr + offs, i, mask=mask)
    tl.store(b_ptr + offs, b, mask=mask)
    tl.store(r_ptr + offs, ref.to(v.dtype), mask=mask)


@triton.jit
def _reset(u, s, theta, vr, RESET: tl.constexpr):
    if RESET == 0:
        v = u - s * (theta - vr)
    elif RESET == 1:
        v = u - s * (u - vr)
    else:
        v = u
    return v


@triton.jit
def _step(xt, v, i, b, ref, d, g, vleak, vth, vr, dsyn, beta, rho, omr,
          NREF: tl.constexpr, RESET: tl.constexpr, HAS_SYN: tl.constexpr, HAS_ADAPT: tl.constexpr):
    """One step of the recurrence; returns ``(u, i, v, b, ref, s)`` (``u`` before the reset)."""
    if HAS_SYN:
        i = dsyn * i + xt
        drive = i
    else:
        drive = xt
    if HAS_ADAPT:
        theta = vth + beta * b
    else:
        theta = vth
    u = vleak + d * (v - vleak) + g * drive
    if NREF > 0:
        active = ref <= 0
        u = tl.where(active, u, v)
        spike = active & (u - theta >= 0)
    else:
        spike = u - theta >= 0
    s = spike.to(u.dtype)
    v = _reset(u, s, theta, vr, RESET)
    if HAS_ADAPT:
        b = rho * b + omr * s
    if NREF > 0:
        ref = tl.where(spike, NREF, tl.maximum(ref - 1, 0))
    return u, i, v, b, ref, s


@triton.jit
def glif_forward_kernel(x_ptr, v0_ptr, i0_ptr, b0_ptr, r0_ptr, coef_ptr,
                        out_ptr, v_end_ptr, i_end_ptr, b_end_ptr, r_end_ptr, u_ptr, ih_ptr, bh_ptr,
                        T, M, N,
                        NREF: tl.constexpr, RESET: tl.constexpr, HAS_SYN: tl.constexpr,
                        HAS_ADAPT: tl.constexpr, SAVE: tl.constexpr, BLOCK: tl.constexpr):
    """Forward pass over ``x [T, M]``: writes the spikes ``out``, the final state and, with
    ``SAVE``, the ``[T, M]`` histories ``u_t``, ``i_t`` (synaptic), ``b_{t-1}`` (adaptive)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    M64 = M.to(tl.int64)
    d, g, vleak, vth, vr, dsyn, beta, rho, omr = _coefficients(coef_ptr, offs % N, N, mask)
    v, i, b, ref = _load_state(v0_ptr, i0_ptr, b0_ptr, r0_ptr, offs, mask)
    for t in range(T):
        row = t * M64 + offs
        b_prev = b
        u, i, v, b, ref, s = _step(tl.load(x_ptr + row, mask=mask, other=0.0), v, i, b, ref,
                                   d, g, vleak, vth, vr, dsyn, beta, rho, omr, NREF, RESET, HAS_SYN, HAS_ADAPT)
        tl.store(out_ptr + row, s, mask=mask)
        if SAVE:
            tl.store(u_ptr + row, u, mask=mask)
            if HAS_SYN:
                tl.store(ih_ptr + row, i, mask=mask)
            if HAS_ADAPT:
                tl.store(bh_ptr + row, b_prev, mask=mask)
    _store_state(v_end_ptr, i_end_ptr, b_end_ptr, r_end_ptr, offs, mask, v, i, b, ref)


@triton.jit
def glif_backward_kernel(gout_ptr, gve_ptr, gie_ptr, gbe_ptr, x_ptr, out_ptr, v0_ptr, i0_ptr, b0_ptr, r0_ptr,
                         coef_ptr, u_ptr, ih_ptr, bh_ptr, ck_ptr,
                         gx_ptr, gv0_ptr, gi0_ptr, gb0_ptr, gcoef_ptr,
                         p0, p1, p2, p3, T, M, N, K,
                         NREF: tl.constexpr, RESET: tl.constexpr, DETACH: tl.constexpr, HAS_SYN: tl.constexpr,
                         HAS_ADAPT: tl.constexpr, SID: tl.constexpr, RECOMPUTE: tl.constexpr,
                         BLOCK: tl.constexpr):
    """Backward pass, time reversed, in segments of ``K`` steps (one segment, ``K = T``,
    when the histories were saved). With ``RECOMPUTE`` the histories ``u_ptr``, ``ih_ptr``,
    ``bh_ptr`` are ``[K, M]`` scratch rows and ``ck_ptr`` is ``[ceil(T / K), 4, M]``, the
    state at each segment start, which a first forward sweep fills. Writes ``grad_x``, the
    gradients of the initial state and ``g_coef [9, M]``, per-column gradients of the
    coefficients in ``spec.COEFFICIENTS`` order (the caller sums over the batch)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < M
    M64 = M.to(tl.int64)
    d, g, vleak, vth, vr, dsyn, beta, rho, omr = _coefficients(coef_ptr, offs % N, N, mask)
    nseg = tl.cdiv(T, K)
    if RECOMPUTE:  # checkpoint sweep: the state at the start of every segment
        v, i, b, ref = _load_state(v0_ptr, i0_ptr, b0_ptr, r0_ptr, offs, mask)
        for seg in range(nseg):
            ck = ck_ptr + seg * 4 * M64
            _store_state(ck, ck + M64, ck + 2 * M64, ck + 3 * M64, offs, mask, v, i, b, ref)
            for t in range(seg * K, tl.minimum(seg * K + K, T)):
                u, i, v, b, ref, s = _step(tl.load(x_ptr + t * M64 + offs, mask=mask, other=0.0), v, i, b, ref,
                                           d, g, vleak, vth, vr, dsyn, beta, rho, omr,
                                           NREF, RESET, HAS_SYN, HAS_ADAPT)
    gv = tl.load(gve_ptr + offs, mask=mask, other=0.0)
    gi = tl.load(gie_ptr + offs, mask=mask, other=0.0)
    gb = tl.load(gbe_ptr + offs, mask=mask, other=0.0)
    a0 = tl.zeros_like(gv)
    a1, a2, a3, a4, a5, a6, a7, a8 = a0, a0, a0, a0, a0, a0, a0, a0
    for sg in range(nseg):
        t0 = (nseg - 1 - sg) * K
        t1 = tl.minimum(t0 + K, T)
        if RECOMPUTE:  # the segment's histories, from its checkpoint, into the scratch rows
            ck = ck_ptr + (t0 // K) * 4 * M64
            v, i, b, ref = _load_state(ck, ck + M64, ck + 2 * M64, ck + 3 * M64, offs, mask)
            v_start = v
            i_start = i
            for t in range(t0, t1):
                h = (t - t0) * M64 + offs
                b_prev = b
                u, i, v, b, ref, s = _step(tl.load(x_ptr + t * M64 + offs, mask=mask, other=0.0), v, i, b, ref,
                                           d, g, vleak, vth, vr, dsyn, beta, rho, omr,
                                           NREF, RESET, HAS_SYN, HAS_ADAPT)
                tl.store(u_ptr + h, u, mask=mask)
                if HAS_SYN:
                    tl.store(ih_ptr + h, i, mask=mask)
                if HAS_ADAPT:
                    tl.store(bh_ptr + h, b_prev, mask=mask)
            tl.debug_barrier()
            hbase = t0
        else:
            v_start = tl.load(v0_ptr + offs, mask=mask, other=0.0)
            i_start = tl.load(i0_ptr + offs, mask=mask, other=0.0)
            hbase = t0 * 0
        for tt in range(t1 - t0):
            t = t1 - 1 - tt
            row = t * M64 + offs
            h = (t - hbase) * M64 + offs
            tv = offs * 0 + t  # a vector: the interpreter mis-types (bool vector & bool scalar)
            first = tv == t0
            later = mask & (tv > t0)
            u = tl.load(u_ptr + h, mask=mask, other=0.0)
            s = tl.load(out_ptr + row, mask=mask, other=0.0)
            if HAS_ADAPT:
                b_prev = tl.load(bh_ptr + h, mask=mask, other=0.0)
                theta = vth + beta * b_prev
                theta_prev = vth + beta * tl.load(bh_ptr + h - M64, mask=later, other=0.0)
            else:
                theta = vth
                theta_prev = vth
            # the membrane after the previous step, rebuilt from its u and spike
            u_prev = tl.load(u_ptr + h - M64, mask=later, other=0.0)
            s_prev = tl.load(out_ptr + row - M64, mask=later, other=0.0)
            v_prev = tl.where(first, v_start, _reset(u_prev, s_prev, theta_prev, vr, RESET))
            if HAS_SYN:
                i_prev = tl.where(first, i_start, tl.load(ih_ptr + h - M64, mask=later, other=0.0))
                drive = tl.load(ih_ptr + h, mask=mask, other=0.0)
            else:
                drive = tl.load(x_ptr + row, mask=mask, other=0.0)
            # refractory at step t <=> counter still running from r0, or a spike in the last NREF steps
            if NREF > 0:
                active = tl.load(r0_ptr + offs, mask=mask, other=0.0) - t <= 0
                for back in tl.static_range(1, NREF + 1):
                    sb = tl.load(out_ptr + row - back * M64, mask=mask & (tv - back >= 0), other=0.0)
                    active = active & (sb <= 0)
                act = active.to(u.dtype)
            else:
                act = tl.zeros_like(u) + 1.0
            # the spike's gradient: output, adaptation, and the reset unless detached
            g_s = tl.load(gout_ptr + row, mask=mask, other=0.0)
            if HAS_ADAPT:
                g_s += gb * omr
                a7 += gb * b_prev
                a8 += gb * s
            if not DETACH:
                if RESET == 0:
                    g_s -= gv * (theta - vr)
                elif RESET == 1:
                    g_s -= gv * (u - vr)
            g_z = g_s * surrogate_derivative(u - theta, p0, p1, p2, p3, SID) * act
            if RESET == 0:
                g_u = gv + g_z
                g_theta = -gv * s - g_z
                a4 += gv * s
            elif RESET == 1:
                g_u = gv * (1.0 - s) + g_z
                g_theta = -g_z
                a4 += gv * s
            else:
                g_u = gv + g_z
                g_theta = -g_z
            a3 += g_theta
            if HAS_ADAPT:
                a6 += g_theta * b_prev
                gb = g_theta * beta + gb * rho
            g_a = g_u * act  # the integration path, closed while refractory
            gv = tl.where(act > 0, g_u * d, g_u)
            a0 += g_a * (v_prev - vleak)
            a1 += g_a * drive
            a2 += g_a * (1.0 - d)
            g_drive = g_a * g
            if HAS_SYN:
                gi += g_drive
                tl.store(gx_ptr + row, gi, mask=mask)
                a5 += gi * i_prev
                gi = gi * dsyn
            else:
                tl.store(gx_ptr + row, g_drive, mask=mask)
        if RECOMPUTE:
            tl.debug_barrier()  # the next segment overwrites the scratch rows
    tl.store(gv0_ptr + offs, gv, mask=mask)
    tl.store(gi0_ptr + offs, gi, mask=mask)
    tl.store(gb0_ptr + offs, gb, mask=mask)
    acc = (a0, a1, a2, a3, a4, a5, a6, a7, a8)
    for c in tl.static_range(9):
        tl.store(gcoef_ptr + c * M64 + offs, acc[c], mask=mask)
