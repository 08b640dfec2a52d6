"""Event-driven CPU (numba) kernel of BP-STDP training and inference in an IF network.

The equations are in :mod:`spikeforge.functional.bp_stdp`; the plain-torch reference is
:func:`spikeforge.models._bp_stdp_reference.reference_train`. Layout: activity ``a_0``
(the Poisson input) ... ``a_L`` (the outputs); weights ``W_k`` map ``a_k`` to ``a_{k+1}``
and are stored pre-major, ``[n_k, n_{k+1}]``, so a spike of neuron ``h`` adds the
contiguous row ``W_k[h]``. One step, layer by layer: every spike of ``a_k`` adds its row
to the membranes of ``a_{k+1}`` (in increasing index order), which fire at ``>= θ`` and
reset to 0; the window counts ``c_k`` (the last ``ε + 1`` steps) are kept incrementally.
At a desired spike time of the label's output neuron the errors are computed from the
window counts and the weights before the step, then every layer's weights move, only in
the rows of neurons active in the window and the columns with a non-zero error.

Training is online (the weights change within a sample, as in the paper) and therefore
sequential; inference runs samples in parallel.
"""

from __future__ import annotations

import functools

import numba
import numpy as np
from numba.typed import List

from .stdp_diehl_cook import _mix, poisson_events

_jit = functools.partial(numba.njit, cache=True, error_model="numpy")

# float parameters
DT, RATE, LR = range(3)
# integer parameters
T_STEPS, EPSILON, PERIOD, SEED, LEARN = range(5)


def typed_list(arrays):
    """A numba typed list of the arrays (all of one dtype and rank)."""
    out = List()
    for a in arrays:
        out.append(a)
    return out


@_jit
def _sample(pixels, label, W, theta, prm, iprm, U, hist, cnt, delta, spikes, nspk, ptr, idx, tmp_step, tmp_idx,
            out_counts, learn, given_ptr, given_idx, seed_key):
    """One sample (``T`` steps, from rest); ``out_counts`` gets the output spike counts."""
    n_layers = len(W)
    n_steps = iprm[T_STEPS]
    window = iprm[EPSILON] + 1
    period = iprm[PERIOD]
    lr = np.float32(prm[LR])
    for k in range(n_layers):
        U[k][:] = 0.0
    for k in range(n_layers + 1):
        hist[k][:, :] = 0.0
        cnt[k][:] = 0.0
    out_counts[:] = 0
    given = given_ptr.shape[0] > 0
    if not given:
        np.random.seed(seed_key)
        poisson_events(pixels, prm[RATE] / 255.0, prm[DT], n_steps, ptr, idx, tmp_step, tmp_idx)
    n_out = W[n_layers - 1].shape[1]
    for t in range(n_steps):
        slot = t % window
        # input spikes of this step
        if given:
            e0, e1, ev = given_ptr[t], given_ptr[t + 1], given_idx
        else:
            e0, e1, ev = ptr[t], ptr[t + 1], idx
        n0 = 0
        for e in range(e0, e1):
            spikes[0][n0] = ev[e]
            n0 += 1
        nspk[0] = n0
        # forward, layer by layer (spikes reach the next layer in the same step)
        for k in range(n_layers):
            u = U[k]
            wk = W[k]
            for a in range(nspk[k]):
                row = wk[spikes[k][a]]
                for j in range(u.shape[0]):
                    u[j] += row[j]
            th = np.float32(theta[k])
            m = 0
            for j in range(u.shape[0]):
                if u[j] >= th:
                    spikes[k + 1][m] = j
                    m += 1
                    u[j] = 0.0
            nspk[k + 1] = m
        for j in range(nspk[n_layers]):
            out_counts[spikes[n_layers][j]] += 1
        # window counts: drop the step that leaves the window, add this one
        for k in range(n_layers + 1):
            hk, ck = hist[k], cnt[k]
            old = hk[slot]
            for j in range(ck.shape[0]):
                ck[j] -= old[j]
            old[:] = 0.0
            for a in range(nspk[k]):
                j = spikes[k][a]
                old[j] = 1.0
                ck[j] += 1.0
        if not learn or (t + 1) % period != 0:
            continue
        # errors at a desired spike time of the label's neuron (from the weights before the step)
        xi = delta[n_layers]
        nonzero = 0
        c_out = cnt[n_layers]
        for i in range(n_out):
            if i == label:
                xi[i] = 1.0 if c_out[i] == 0.0 else 0.0
            else:
                xi[i] = -1.0 if c_out[i] > 0.0 else 0.0
            nonzero += xi[i] != 0.0
        if nonzero == 0:
            continue
        for k in range(n_layers - 1, 0, -1):
            above, below, wk, ck = delta[k + 1], delta[k], W[k], cnt[k]
            for h in range(below.shape[0]):
                if ck[h] > 0.0:
                    row = wk[h]
                    s = np.float32(0.0)
                    for i in range(above.shape[0]):
                        s += above[i] * row[i]
                    below[h] = s
                else:
                    below[h] = 0.0
        # updates: rows of neurons active in the window, scaled by their counts
        for k in range(n_layers):
            err, ck, wk = delta[k + 1], cnt[k], W[k]
            for h in range(ck.shape[0]):
                c = ck[h]
                if c > 0.0:
                    row = wk[h]
                    f = lr * c
                    for i in range(err.shape[0]):
                        row[i] += f * err[i]


@_jit
def _buffers(W, n_steps, window):
    n_layers = len(W)
    U = List()
    hist = List()
    cnt = List()
    delta = List()
    spikes = List()
    sizes = np.zeros(n_layers + 1, np.int64)
    sizes[0] = W[0].shape[0]
    for k in range(n_layers):
        sizes[k + 1] = W[k].shape[1]
        U.append(np.zeros(W[k].shape[1], np.float32))
    for k in range(n_layers + 1):
        hist.append(np.zeros((window, sizes[k]), np.float32))
        cnt.append(np.zeros(sizes[k], np.float32))
        delta.append(np.zeros(sizes[k], np.float32))
        spikes.append(np.zeros(sizes[k], np.int64))
    n_in = sizes[0]
    return (U, hist, cnt, delta, spikes, np.zeros(n_layers + 1, np.int64), np.zeros(n_steps + 1, np.int64),
            np.zeros(n_in * n_steps, np.int64), np.zeros(n_in * n_steps, np.int64), np.zeros(n_in * n_steps, np.int64))


@_jit
def train(images, labels, W, theta, prm, iprm, epoch, seed_index, given_ptr, given_idx, out_counts):
    """Online BP-STDP over ``images`` (uint8 ``[N, n_in]``) in order; ``W`` updated in place.
    With ``given_ptr`` ``[N, T + 1]`` non-empty, sample ``k``'s input spikes at step ``t`` are
    ``given_idx[given_ptr[k, t]:given_ptr[k, t + 1]]``. ``out_counts[k]``: output spike counts."""
    U, hist, cnt, delta, spikes, nspk, ptr, idx, tmp_step, tmp_idx = _buffers(W, iprm[T_STEPS], iprm[EPSILON] + 1)
    empty = np.zeros(0, np.int64)
    for k in range(images.shape[0]):
        gp = given_ptr[k] if given_ptr.shape[0] > 0 else empty
        _sample(images[k], labels[k], W, theta, prm, iprm, U, hist, cnt, delta, spikes, nspk, ptr, idx, tmp_step,
                tmp_idx, out_counts[k], np.bool_(True), gp, given_idx, _mix(iprm[SEED], _mix(epoch, seed_index[k])))


@numba.njit(cache=True, error_model="numpy", parallel=True)
def infer(images, W, theta, prm, iprm, epoch, offset, out_counts, n_chunks):
    """Output spike counts of the frozen network, samples in parallel."""
    n = images.shape[0]
    empty = np.zeros(0, np.int64)
    # typed (not Literal) arguments: _sample compiles once for training and inference
    no_label, frozen = np.int64(-1), np.bool_(False)
    for c in numba.prange(n_chunks):
        U, hist, cnt, delta, spikes, nspk, ptr, idx, tmp_step, tmp_idx = _buffers(W, iprm[T_STEPS],
                                                                                  iprm[EPSILON] + 1)
        for k in range(c * n // n_chunks, (c + 1) * n // n_chunks):
            _sample(images[k], no_label, W, theta, prm, iprm, U, hist, cnt, delta, spikes, nspk, ptr, idx, tmp_step,
                    tmp_idx, out_counts[k], frozen, empty, empty, _mix(iprm[SEED], _mix(epoch, offset + k)))
