"""Event-driven CPU (numba) kernel of the Diehl & Cook (2015) network: presentations with STDP.

The network (see :mod:`spikeforge.models.diehl_cook` for the equations, which the plain-torch
reference there implements step by step) is simulated one presentation at a time, every time
step in this order:

1. the input conductance decays (``g_e <- d g_e``) and the input spikes of the step add
   their weight rows to it;
2. excitatory neurons integrate (conductance- or current-based) with ``g_e`` and the
   inhibitory conductance ``g_i``, fire, reset, raise ``θ``; then ``g_i`` decays;
3. lateral inhibition: through the inhibitory layer (which integrates and fires in the same
   step) or directly; it adds to ``g_i``, so it acts from the next step at full strength;
4. plasticity of the input weights: traces, then the potentiation of every column whose
   neuron fired and the depression of every row whose input fired (a synapse with both in
   one step gets both, computed from its weight before the step, as in
   :func:`spikeforge.functional.plasticity.triplet_stdp_step`), clipped to the bounds.

Why it is fast: an MNIST digit at 63.75 Hz makes about 3 of the 784 inputs fire per 0.5 ms
step, so the input is never multiplied as a dense matrix: each input spike adds one
contiguous weight row (``W`` is stored input-major, ``[n_input, n_neurons]``) and
depresses that row. The pre-synaptic traces are updated only when their input fires
(their value at any step is read from a table of decay powers, values below ``1e-12`` of
the trace count as 0). The Poisson input of a presentation is drawn as exponential
inter-spike gaps per pixel (``p = 1 - exp(-rate dt)`` per step, the same process as
:func:`spikeforge.encoding.poisson`) and bucketed by step, so drawing costs one random
number per spike instead of one per pixel and step. The rest between presentations is
simulated for ``settle`` steps (the conductances and any pending spikes die out), and the
remainder is applied in closed form (membranes relax, traces decay; nothing can fire).

Features that vary (conductance/current synapses, inhibitory layer or direct inhibition,
the weight dependence, the pairing) are run-time values tested once per step or per spike
event, never inside the per-neuron loops, so one compiled kernel serves all of them.
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np

_jit = functools.partial(numba.njit, cache=True, error_model="numpy")

# float parameters (prm): indices
(DT, V_REST, V_RESET, V_THRESH, E_EXC, E_INH, DV, D_GE, D_GI, VI_REST, VI_RESET, VI_THRESH, EI_EXC, DVI,
 D_GEI, W_EI, W_IE, THETA_PLUS, THETA_DECAY, A2P, A3P, A2M, A3M, X_TAR, W_MIN, W_MAX, MU, D_O1, D_O2,
 NORM, MAX_RATE, RATE_STEP, DV_REST, DVI_REST) = range(34)
N_PRM = 34
# integer parameters (iprm)
(N_PRESENT, N_REST, N_SETTLE, CONDUCTANCE, INHIBITION, RESET_BETWEEN, N_REF_E, N_REF_I, DEPENDENCE, NEAREST,
 MIN_SPIKES, MAX_RETRIES, LEARN, SEED) = range(14)
N_IPRM = 14
# state rows of the float32 state matrix [N_STATE, n]
V_E, G_E, G_I, V_I, G_EI, O1, O2 = range(7)
N_STATE = 7
# state rows of the int32 state matrix [2, n]: refractory counters
REF_E, REF_I = 0, 1
INHIBITION_LAYER, INHIBITION_DIRECT, INHIBITION_NONE = 0, 1, 2
DEPENDENCE_ADDITIVE, DEPENDENCE_MULTIPLICATIVE, DEPENDENCE_OFFSET = 0, 1, 2


@_jit
def _mix(a, b):
    """A 32-bit seed from two integers (splitmix64 finalizer)."""
    z = (a * 0x9E3779B97F4A7C15 + b + 0x632BE59BD9B4E019) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    return (z ^ (z >> 31)) & 0xFFFFFFFF


@_jit
def poisson_events(image, rate_scale, dt, n_steps, ptr, idx, tmp_step, tmp_idx):
    """Bucket the Poisson spikes of one presentation by step: input ``idx[ptr[t]:ptr[t+1]]``
    fire at step ``t``. ``image`` is uint8; pixel ``i`` fires at ``image[i] * rate_scale`` Hz.
    Returns the number of spikes."""
    n = 0
    for i in range(image.shape[0]):
        r = image[i] * rate_scale * dt  # -log(1 - p) per step
        if r <= 0.0:
            continue
        t = math.floor(np.random.exponential() / r)
        while t < n_steps:
            tmp_step[n] = t
            tmp_idx[n] = i
            n += 1
            t += 1 + math.floor(np.random.exponential() / r)
    ptr[:] = 0
    for k in range(n):
        ptr[tmp_step[k] + 1] += 1
    for t in range(n_steps):
        ptr[t + 1] += ptr[t]
    # scatter, keeping the inputs of a step in increasing order
    fill = ptr[:n_steps].copy()
    for k in range(n):
        t = tmp_step[k]
        idx[fill[t]] = tmp_idx[k]
        fill[t] += 1
    return n


@_jit
def _up_factor(w, w_max, mu):
    base = w_max - w
    base = base if base > 0 else w - w
    return base if mu == 1.0 else base ** mu


@_jit
def _down_factor(w, w_min, mu):
    base = w - w_min
    base = base if base > 0 else w - w
    return base if mu == 1.0 else base ** mu


@_jit
def _step(t, e0, e1, ev_idx, W, theta, st, ist, r1, r2, tlast, tab1, tab2, prm, iprm, learn, sflag, qlist,
          plist, pflag, o2b, rb2, spk_i):
    """One time step of the network (the order in the module docstring). ``t`` is the
    absolute step (for the lazy pre traces); ``ev_idx[e0:e1]`` are this step's input
    spikes. Returns the number of excitatory spikes (their indices: ``qlist[:n]``)."""
    n = W.shape[1]
    f32 = np.float32
    ve, ge, gi, vi, gei, o1, o2 = st[V_E], st[G_E], st[G_I], st[V_I], st[G_EI], st[O1], st[O2]
    refe, refi = ist[REF_E], ist[REF_I]
    d_ge, d_gi, d_gei = f32(prm[D_GE]), f32(prm[D_GI]), f32(prm[D_GEI])
    # 1. the input and exc->inh conductances decay (the inhibitory one decays after its use below)
    for j in range(n):
        ge[j] *= d_ge
        gei[j] *= d_gei
    # input spikes add their weight rows
    for e in range(e0, e1):
        row = W[ev_idx[e]]
        for j in range(n):
            ge[j] += row[j]
    # 2. excitatory neurons
    v_rest, v_reset, v_th, dv = f32(prm[V_REST]), f32(prm[V_RESET]), f32(prm[V_THRESH]), f32(prm[DV])
    n_ref = iprm[N_REF_E]
    if iprm[CONDUCTANCE]:
        e_exc, e_inh = f32(prm[E_EXC]), f32(prm[E_INH])
        for j in range(n):
            v = ve[j]
            active = refe[j] <= 0
            u = v + dv * ((v_rest - v) + ge[j] * (e_exc - v) + gi[j] * (e_inh - v))
            u = u if active else v
            s = active & (u >= v_th + theta[j])
            ve[j] = v_reset if s else u
            left = refe[j] - 1
            refe[j] = n_ref if s else (left if left > 0 else 0)
            sflag[j] = s
    else:
        for j in range(n):
            v = ve[j]
            active = refe[j] <= 0
            u = v_rest + (v - v_rest) * dv
            u = u + (ge[j] - gi[j]) if active else u
            s = active & (u >= v_th + theta[j])
            ve[j] = v_reset if s else u
            left = refe[j] - 1
            refe[j] = n_ref if s else (left if left > 0 else 0)
            sflag[j] = s
    for j in range(n):
        gi[j] *= d_gi
    nq = np.int64(0)  # typed, not Literal[int](0): one compiled specialization of _plasticity
    for j in range(n):
        if sflag[j]:
            qlist[nq] = j
            nq += 1
    if learn:
        tp = f32(prm[THETA_PLUS])
        for q in range(nq):
            theta[qlist[q]] += tp
    # 3. lateral inhibition (reaches the excitatory neurons in the next step)
    mode = iprm[INHIBITION]
    if mode == INHIBITION_LAYER:
        w_ei = f32(prm[W_EI])
        for q in range(nq):
            gei[qlist[q]] += w_ei
        vi_rest, vi_reset, vi_th, dvi = f32(prm[VI_REST]), f32(prm[VI_RESET]), f32(prm[VI_THRESH]), f32(prm[DVI])
        n_ref_i = iprm[N_REF_I]
        if iprm[CONDUCTANCE]:
            ei_exc = f32(prm[EI_EXC])
            for j in range(n):
                v = vi[j]
                active = refi[j] <= 0
                u = v + dvi * ((vi_rest - v) + gei[j] * (ei_exc - v))
                u = u if active else v
                s = active & (u >= vi_th)
                vi[j] = vi_reset if s else u
                left = refi[j] - 1
                refi[j] = n_ref_i if s else (left if left > 0 else 0)
                spk_i[j] = s
        else:
            for j in range(n):
                v = vi[j]
                active = refi[j] <= 0
                u = vi_rest + (v - vi_rest) * dvi
                u = u + gei[j] if active else u
                s = active & (u >= vi_th)
                vi[j] = vi_reset if s else u
                left = refi[j] - 1
                refi[j] = n_ref_i if s else (left if left > 0 else 0)
                spk_i[j] = s
        nk = 0
        for j in range(n):
            nk += spk_i[j]
        if nk > 0:
            w_ie = f32(prm[W_IE])
            for j in range(n):
                gi[j] += w_ie * f32(nk - spk_i[j])
    elif mode == INHIBITION_DIRECT and nq > 0:
        w_ie = f32(prm[W_IE])
        for j in range(n):
            gi[j] += w_ie * f32(nq - sflag[j])
    # 4. plasticity of the input weights
    if learn:
        _plasticity(t, e0, e1, ev_idx, W, o1, o2, r1, r2, tlast, tab1, tab2, prm, iprm, sflag, qlist, nq,
                    plist, pflag, o2b, rb2)
    return nq


@_jit
def _plasticity(t, e0, e1, ev_idx, W, o1, o2, r1, r2, tlast, tab1, tab2, prm, iprm, sflag, qlist, nq,
                plist, pflag, o2b, rb2):
    f32 = np.float32
    n_in, n = W.shape
    nearest = iprm[NEAREST]
    d_o1, d_o2 = f32(prm[D_O1]), f32(prm[D_O2])
    a2p, a3p, a2m, a3m = f32(prm[A2P]), f32(prm[A3P]), f32(prm[A2M]), f32(prm[A3M])
    w_min, w_max, mu, x_tar = f32(prm[W_MIN]), f32(prm[W_MAX]), f32(prm[MU]), f32(prm[X_TAR])
    dep = iprm[DEPENDENCE]
    one, zero = f32(1.0), f32(0.0)
    ntab1, ntab2 = tab1.shape[0], tab2.shape[0]
    # post traces: decay, then this step's spikes (o2 just before them is kept for the potentiation)
    for j in range(n):
        o1[j] *= d_o1
        o2[j] *= d_o2
    for q in range(nq):
        j = qlist[q]
        o2b[q] = o2[j]
        o1[j] = one if nearest else o1[j] + one
        o2[j] = one if nearest else o2[j] + one
    # pre traces of the inputs firing now, decayed lazily to step t (r2 just before is kept)
    npre = 0
    for e in range(e0, e1):
        i = ev_idx[e]
        gap = t - tlast[i]
        f1 = tab1[gap] if gap < ntab1 else zero
        f2 = tab2[gap] if gap < ntab2 else zero
        rb2[npre] = r2[i] * f2
        r1[i] = one if nearest else r1[i] * f1 + one
        r2[i] = one if nearest else rb2[npre] + one
        tlast[i] = t
        plist[npre] = i
        pflag[i] = True
        npre += 1
    # synapses whose pre and post both fire now: one change from the weight before the step
    for a in range(npre):
        i = plist[a]
        amp_m = a2m + a3m * rb2[a]
        for q in range(nq):
            j = qlist[q]
            w = W[i, j]
            amp_p = a2p + a3p * o2b[q]
            if dep == DEPENDENCE_OFFSET:
                up = amp_p * (r1[i] - x_tar) * _up_factor(w, w_max, mu)
                down = amp_m * o1[j]
            elif dep == DEPENDENCE_MULTIPLICATIVE:
                up = amp_p * r1[i] * _up_factor(w, w_max, mu)
                down = amp_m * o1[j] * _down_factor(w, w_min, mu)
            else:
                up = amp_p * r1[i]
                down = amp_m * o1[j]
            W[i, j] = min(max(w + up - down, w_min), w_max)
    # potentiation of each column that fired (rows that fired now are done above)
    for q in range(nq):
        j = qlist[q]
        amp = a2p + a3p * o2b[q]
        for i in range(n_in):
            gap = t - tlast[i]
            x = r1[i] * tab1[gap] if gap < ntab1 else zero
            w = W[i, j]
            if dep == DEPENDENCE_OFFSET:
                dw = amp * (x - x_tar) * _up_factor(w, w_max, mu)
            elif dep == DEPENDENCE_MULTIPLICATIVE:
                dw = amp * x * _up_factor(w, w_max, mu)
            else:
                dw = amp * x
            new = min(max(w + dw, w_min), w_max)
            W[i, j] = w if pflag[i] else new
    # depression of each row that fired (o1 includes this step's post spikes; their columns are done)
    for a in range(npre):
        row = W[plist[a]]
        amp = a2m + a3m * rb2[a]
        if dep == DEPENDENCE_MULTIPLICATIVE:
            for j in range(n):
                w = row[j]
                new = min(max(w - amp * o1[j] * _down_factor(w, w_min, mu), w_min), w_max)
                row[j] = w if sflag[j] else new
        else:
            for j in range(n):
                w = row[j]
                new = min(max(w - amp * o1[j], w_min), w_max)
                row[j] = w if sflag[j] else new
    for a in range(npre):
        pflag[plist[a]] = False


@_jit
def _rest(t, W, theta, st, ist, r1, r2, tlast, tab1, tab2, prm, iprm, learn, sflag, qlist, plist, pflag,
          o2b, rb2, spk_i):
    """The rest after a presentation: ``settle`` steps simulated without input, the rest in
    closed form (membranes relax to rest, conductances and post traces decay). Returns ``t``."""
    n_rest = iprm[N_REST]
    n_settle = min(iprm[N_SETTLE], n_rest)
    none = np.int64(0)  # typed zeros (no input events), so _step is not compiled again for Literal[int](0)
    for _ in range(n_settle):
        t += 1
        _step(t, none, none, plist, W, theta, st, ist, r1, r2, tlast, tab1, tab2, prm, iprm, learn, sflag, qlist,
              plist, pflag, o2b, rb2, spk_i)
    rem = n_rest - n_settle
    if rem > 0:
        t += rem
        f32 = np.float32
        fe, fi = f32(prm[DV_REST] ** rem), f32(prm[DVI_REST] ** rem)
        dge, dgi, dgei = f32(prm[D_GE] ** rem), f32(prm[D_GI] ** rem), f32(prm[D_GEI] ** rem)
        do1, do2 = f32(prm[D_O1] ** rem), f32(prm[D_O2] ** rem)
        v_rest, vi_rest = f32(prm[V_REST]), f32(prm[VI_REST])
        for j in range(W.shape[1]):
            st[V_E, j] = v_rest + (st[V_E, j] - v_rest) * fe
            st[V_I, j] = vi_rest + (st[V_I, j] - vi_rest) * fi
            st[G_E, j] *= dge
            st[G_I, j] *= dgi
            st[G_EI, j] *= dgei
            st[O1, j] *= do1
            st[O2, j] *= do2
            ist[REF_E, j] = max(ist[REF_E, j] - rem, 0)
            ist[REF_I, j] = max(ist[REF_I, j] - rem, 0)
    return t


@_jit
def reset_state(st, ist, r1, r2, prm):
    """The resting state: membranes at rest, no conductance, no trace, not refractory."""
    st[:] = 0.0
    st[V_E, :] = prm[V_REST]
    st[V_I, :] = prm[VI_REST]
    ist[:] = 0
    r1[:] = 0.0
    r2[:] = 0.0


@_jit
def _normalize(W, total, sums):
    """Scale every column (the weights into one neuron) to sum to ``total``."""
    n_in, n = W.shape
    sums[:] = 0.0
    for i in range(n_in):
        row = W[i]
        for j in range(n):
            sums[j] += row[j]
    for j in range(n):
        sums[j] = total / sums[j] if sums[j] != 0.0 else 1.0
    f = sums.astype(np.float32)
    for i in range(n_in):
        row = W[i]
        for j in range(n):
            row[j] *= f[j]


@_jit
def _scratch(n_in, n, n_steps):
    return (np.zeros(n, np.bool_), np.zeros(n, np.int64), np.zeros(n_in, np.int64), np.zeros(n_in, np.bool_),
            np.zeros(n, np.float32), np.zeros(n_in, np.float32), np.zeros(n, np.bool_),
            np.zeros(n_steps + 1, np.int64), np.zeros(n_in * n_steps, np.int64), np.zeros(n_in * n_steps, np.int64),
            np.zeros(n_in * n_steps, np.int64), np.zeros(n, np.int32), np.zeros(n, np.float64))


@_jit
def run(images, W, theta, st, ist, r1, r2, tlast, t, tab1, tab2, prm, iprm, epoch, given_ptr, given_idx,
        counts, tries, seed_index):
    """Present ``images`` (uint8 ``[n_images, n_input]``) one after the other, with
    STDP when ``iprm[LEARN]``: normalization, presentation (retried with more input while fewer
    than ``min_spikes`` spikes come out), rest. The state (``st``, ``ist``, traces, ``theta``,
    ``W``) is updated in place. With ``given_ptr`` non-empty the input spikes of image ``k`` at
    step ``s`` are ``given_idx[given_ptr[k, s]:given_ptr[k, s + 1]]`` instead of Poisson draws
    (no retries). ``counts[k]`` gets each neuron's spikes in the last presentation of image
    ``k``, ``tries[k]`` the number of retries. Image ``k``'s Poisson input is seeded by
    ``(seed, epoch, seed_index[k])``. Returns the absolute step reached."""
    n_in, n = W.shape
    n_present = iprm[N_PRESENT]
    learn = iprm[LEARN] != 0
    given = given_ptr.shape[0] > 0
    (sflag, qlist, plist, pflag, o2b, rb2, spk_i, ptr, idx, tmp_step, tmp_idx, cnt, sums) = _scratch(
        n_in, n, 0 if given else n_present)
    theta_decay = np.float32(prm[THETA_DECAY])
    for k in range(images.shape[0]):
        image = images[k]
        np.random.seed(_mix(iprm[SEED], _mix(epoch, seed_index[k])))
        scale = prm[MAX_RATE] / 255.0
        attempt = 0
        while True:
            if learn and prm[NORM] > 0.0:
                _normalize(W, prm[NORM], sums)
            if learn:
                for j in range(n):
                    theta[j] *= theta_decay
            if not given:
                poisson_events(image, scale, prm[DT], n_present, ptr, idx, tmp_step, tmp_idx)
            cnt[:] = 0
            total = 0
            for s in range(n_present):
                t += 1
                if given:
                    e0, e1, ev = given_ptr[k, s], given_ptr[k, s + 1], given_idx
                else:
                    e0, e1, ev = ptr[s], ptr[s + 1], idx
                nq = _step(t, e0, e1, ev, W, theta, st, ist, r1, r2, tlast, tab1, tab2, prm, iprm, learn, sflag,
                           qlist, plist, pflag, o2b, rb2, spk_i)
                for q in range(nq):
                    cnt[qlist[q]] += 1
                total += nq
            t = _rest(t, W, theta, st, ist, r1, r2, tlast, tab1, tab2, prm, iprm, learn, sflag, qlist, plist, pflag,
                      o2b, rb2, spk_i)
            if iprm[RESET_BETWEEN]:
                reset_state(st, ist, r1, r2, prm)
            if given or total >= iprm[MIN_SPIKES] or attempt >= iprm[MAX_RETRIES]:
                break
            attempt += 1
            scale += prm[RATE_STEP] / 255.0
        counts[k, :] = cnt
        tries[k] = attempt
    return t


@numba.njit(cache=True, error_model="numpy", parallel=True)
def infer(images, W, theta, prm, iprm, epoch, offset, counts, tries, n_chunks):
    """Frozen network (no plasticity, fixed ``θ``), images in parallel: every image starts from
    the resting state; retried with more input while fewer than ``min_spikes`` spikes come
    out. ``counts[k]``: spikes per neuron of image ``k``, whose input is seeded by
    ``(seed, epoch, offset + k)``."""
    n_img = images.shape[0]
    n_in, n = W.shape
    tab = np.zeros(1, np.float32)
    frozen = np.bool_(False)  # typed: training's _step specialization serves inference too
    for c in numba.prange(n_chunks):
        lo = c * n_img // n_chunks
        hi = (c + 1) * n_img // n_chunks
        st = np.zeros((N_STATE, n), np.float32)
        ist = np.zeros((2, n), np.int32)
        r1 = np.zeros(n_in, np.float32)
        r2 = np.zeros(n_in, np.float32)
        tlast = np.zeros(n_in, np.int64)
        (sflag, qlist, plist, pflag, o2b, rb2, spk_i, ptr, idx, tmp_step, tmp_idx, cnt, sums) = _scratch(
            n_in, n, iprm[N_PRESENT])
        for k in range(lo, hi):
            np.random.seed(_mix(iprm[SEED], _mix(epoch, offset + k)))
            scale = prm[MAX_RATE] / 255.0
            attempt = 0
            while True:
                reset_state(st, ist, r1, r2, prm)
                poisson_events(images[k], scale, prm[DT], iprm[N_PRESENT], ptr, idx, tmp_step, tmp_idx)
                cnt[:] = 0
                total = 0
                for s in range(iprm[N_PRESENT]):
                    nq = _step(s, ptr[s], ptr[s + 1], idx, W, theta, st, ist, r1, r2, tlast, tab, tab, prm, iprm,
                               frozen, sflag, qlist, plist, pflag, o2b, rb2, spk_i)
                    for q in range(nq):
                        cnt[qlist[q]] += 1
                    total += nq
                if total >= iprm[MIN_SPIKES] or attempt >= iprm[MAX_RETRIES]:
                    break
                attempt += 1
                scale += prm[RATE_STEP] / 255.0
            counts[k, :] = cnt
            tries[k] = attempt


@_jit
def draw_events(image, rate_scale, dt, n_steps, seed, epoch, index):
    """The Poisson input :func:`run` and :func:`infer` draw for one image (first presentation),
    as CSR ``(ptr [n_steps + 1], idx)``; for tests and pictures."""
    np.random.seed(_mix(seed, _mix(epoch, index)))
    n_in = image.shape[0]
    ptr = np.zeros(n_steps + 1, np.int64)
    idx = np.zeros(n_in * n_steps, np.int64)
    tmp_step = np.zeros(n_in * n_steps, np.int64)
    tmp_idx = np.zeros(n_in * n_steps, np.int64)
    n = poisson_events(image, rate_scale, dt, n_steps, ptr, idx, tmp_step, tmp_idx)
    return ptr, idx[:n].copy()
