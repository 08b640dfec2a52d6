r"""CPU (numba) kernel of the eligibility-trace recursion of the online rules (e-prop, OSTL).

The recursion, per batch row :math:`b`, neuron :math:`h` and column :math:`q` of the
layer's parameters (``P`` weight columns of :math:`\tilde x_t`, then one column per
learnable time constant; see :mod:`spikeforge.learning._traces`):

.. math::
    \iota_t &= \mathrm{gu}_t\,\tilde x_{t,q}\ (q < P),\qquad \mathrm{qu}_{t,q-P}\ (q \ge P)\\
    \dot u_t &= \iota_t + \mathrm{du}_t\,\epsilon^v_{t-1}, \qquad
    \dot s_t = \psi_t\,(\dot u_t - \beta\,\epsilon^b_{t-1})\\
    \epsilon^v_t &= \mathrm{ru}_t\,\dot u_t + \mathrm{rb}_t\,\epsilon^b_{t-1}, \qquad
    \epsilon^b_t = \rho\,\epsilon^b_{t-1} + (1-\rho)\,\dot s_t + [q \ge P]\,\mathrm{qb}_{t,q-P}\\
    e_t &= \dot s_t\ \text{(spikes)}\ \text{or}\ \dot u_t\ \text{(membrane)}, \qquad
    \bar e_t = e_t + \kappa\,\bar e_{t-1}\\
    G_{h,q} &\mathrel{+}= \sum_{t,b} \ell_{t,b,h}\,\bar e_t + \lambda_{t,b,h}\,e_t

(:math:`\ell` the learning signal, :math:`\lambda` the regularizer's signal on the
unfiltered trace). The torch version walks time with a dozen ``[B, H, Q]`` tensor
operations per step; for the small layers of the ECG task (``B, H, Q = 64, 36, 43``) each
operation costs more in dispatch than in arithmetic. Here a task owns a set of neurons
``h`` (so its rows of ``G`` are its own: no reduction between threads) and walks time, batch
rows and its neurons in memory order, one loop over ``q`` per (step, row, neuron); the
traces (``3 B H Q`` values, 1.3 MB for the ECG network) stay in the L2 cache.

What a layer lacks is passed as zeros rather than compiled away: no adaptation
(``beta = rho = 0``, ``eb`` a zero scratch that stays finite), no filter (``kappa = 0``:
:math:`\bar e = e`), no signal (zeros). One compiled kernel per dtype serves every layer;
the zeros cost a few multiplications per element and change no result (0 times a finite
value); the results equal the torch recursion to rounding (fused multiply-adds).
"""

from __future__ import annotations

import numba
import numpy as np

FASTMATH = {"contract", "reassoc", "nsz"}
"""LLVM may fuse multiply-adds and reorder within an expression (the loop ran 1.7x faster);
not ``nnan``/``ninf``: a NaN or infinity in the traces must stay one."""

_jit = numba.njit(nogil=True, cache=True, error_model="numpy", fastmath=FASTMATH)

PAD = 16
"""The traces' last axis is padded to a multiple of this (a 512-bit vector of float32):
with ``Q = 43`` the vectorised loop would otherwise leave 11 of every 43 columns to a
scalar remainder loop, and the kernel took 1.5 ns per element and step."""


@_jit
def trace_kernel(task, tasks, xt, du, gu, psi, ru, rb, qu, qb, beta, rho, kappa, spikes_out,
                 ev, eb, filt, signal, raw, grad):
    """Advance the traces ``ev, eb, filt [B, H, W]`` (``W >= Q``, zeros past ``Q``) in place
    over the ``K`` steps of the records (``xt [K, B, P]``; ``du ... rb, signal, raw
    [K, B, H]``; ``qu, qb [K, B, H, E]``)
    and add the contracted update into ``grad [H, Q]``, for the neurons
    ``h = task, task + tasks, ...``. ``beta, rho, kappa [H]``; ``spikes_out``: the trace of
    the output is :math:`\\dot s` (else :math:`\\dot u`)."""
    K, B, P = xt.shape
    H, Q = grad.shape
    W = ev.shape[2]  # Q rounded up (see PAD): the padding columns hold zeros and stay zero
    one = grad.dtype.type(1)
    zero = one - one
    s_w = one if spikes_out else zero  # e = s_w * dot_s + u_w * dot_u
    u_w = one - s_w
    acc = np.zeros((H, W), dtype=grad.dtype)
    inj = np.zeros(W, dtype=grad.dtype)
    for t in range(K):  # time outermost: the records are read in memory order, the traces stay in L2
        for b in range(B):
            x_row = xt[t, b]
            for h in range(task, H, tasks):
                be, rh, kp = beta[h], rho[h], kappa[h]
                om = one - rh
                e_v, e_b, f, a = ev[b, h], eb[b, h], filt[b, h], acc[h]
                g_in, d_u, p_s = gu[t, b, h], du[t, b, h], psi[t, b, h]
                r_u, r_b = ru[t, b, h], rb[t, b, h]
                ls, lr = signal[t, b, h], raw[t, b, h]
                for q in range(P):
                    inj[q] = g_in * x_row[q]
                for q in range(P, Q):
                    inj[q] = qu[t, b, h, q - P]
                for q in range(W):
                    dot_u = inj[q] + d_u * e_v[q]
                    eb_q = e_b[q]
                    dot_s = p_s * (dot_u - be * eb_q)
                    e_v[q] = r_u * dot_u + r_b * eb_q
                    e_b[q] = rh * eb_q + om * dot_s
                    e = s_w * dot_s + u_w * dot_u
                    fq = e + kp * f[q]
                    f[q] = fq
                    a[q] += ls * fq + lr * e
                for q in range(P, Q):
                    e_b[q] += qb[t, b, h, q - P]
    for h in range(task, H, tasks):
        for q in range(Q):
            grad[h, q] += acc[h, q]
