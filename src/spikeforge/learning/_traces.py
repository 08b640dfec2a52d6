r"""Eligibility traces: the forward-in-time derivative of one layer's state by its own parameters.

For one layer (see :mod:`spikeforge.learning._online` for the update and the
coefficients of a :class:`~spikeforge.learning._online.BlockRecord`), let :math:`\theta_q`
be a column of the layer's parameters: a weight :math:`W_{jp}` (input, bias or recurrent
column :math:`p` of :math:`\tilde x_t`) or a learnable decay of neuron :math:`j`. The
*eligibility vectors* :math:`\epsilon^v_t = \partial v_t/\partial\theta`,
:math:`\epsilon^b_t = \partial b_t/\partial\theta` (one per batch row, neuron and column,
``[B, H, Q]``) follow the layer's own dynamics, with :math:`\tilde x_t` (including the
previous spikes :math:`z_{t-1}` of a recurrent layer) held as an input:

.. math::
    \dot u_t &= \mathrm{du}_t\,\epsilon^v_{t-1} + \iota_t, \qquad
        \iota_t = \mathrm{gu}_t\,\tilde x_{t,p}\ \text{(weights)},\ \mathrm{qu}_t\ \text{(decay } d)\\
    \dot s_t &= \psi_t\,(\dot u_t - \beta\,\epsilon^b_{t-1}) \\
    \epsilon^v_t &= \mathrm{ru}_t\,\dot u_t + \mathrm{rb}_t\,\epsilon^b_{t-1} \\
    \epsilon^b_t &= \rho\,\epsilon^b_{t-1} + (1-\rho)\,\dot s_t + \mathrm{qb}_t\ \text{(decay } \rho),

and the *eligibility trace* of the output is :math:`e_t = \dot s_t` (spikes) or
:math:`\dot u_t` (membrane). For a layer without recurrent weights :math:`e_t` is the
exact total derivative :math:`do_t/d\theta`; for a recurrent layer it leaves out the
path through :math:`z_{t-1}` (the e-prop approximation, Bellec et al. 2020, eq. 13).

A rule turns traces into weight changes with a learning signal :math:`\ell_t` (an
estimate of :math:`\partial E/\partial o_t`, ``[B, H]``):
:math:`\Delta\theta \mathrel{-}= \sum_t \ell_t\,\bar e_t`, where :math:`\bar e_t = \kappa
\bar e_{t-1} + e_t` is the trace low-pass filtered with the readout's decay ``kappa``
(e-prop) or :math:`\bar e = e` (``kappa=None``). The state these recursions keep is
``[B, H, Q]`` per layer, independent of the sequence length.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from ._online import BlockRecord, LayerConstants, OnlineLayer

__all__ = ["LayerTrace", "zero_trace", "trace_block"]


class LayerTrace(NamedTuple):
    """What a layer carries from one step to the next: ``[B, H, Q]`` tensors and a rate sum.

    ``ev``/``eb``: :math:`\\epsilon^v`, :math:`\\epsilon^b` (``eb`` ``None`` for non-adaptive
    layers); ``filt``: the filtered trace :math:`\\bar e` (``None`` without a filter);
    ``spikes``: spikes per neuron summed over the batch and the steps so far (``[H]``, for
    the firing-rate regularizer); ``steps``: the steps counted in ``spikes``.
    """

    ev: Tensor
    eb: Tensor | None
    filt: Tensor | None
    spikes: Tensor
    steps: int


def zero_trace(layer: OnlineLayer, batch: int, filtered: bool, like: Tensor) -> LayerTrace:
    """The trace of a layer at rest (no history)."""
    shape = (batch, layer.hidden, layer.width)
    zeros = like.new_zeros(shape)
    return LayerTrace(zeros, like.new_zeros(shape) if layer.adaptive else None,
                      like.new_zeros(shape) if filtered else None, like.new_zeros(layer.hidden), 0)


@torch.no_grad()
def trace_block(layer: OnlineLayer, k: LayerConstants, rec: BlockRecord, tr: LayerTrace, signal: Tensor | None,
                raw_signal: Tensor | None, kappa: Tensor | None, grad: Tensor) -> LayerTrace:
    """Advance ``tr`` over the ``K`` steps of ``rec`` and add :math:`\\sum_t \\ell_t \\bar e_t` into ``grad``.

    Args:
        signal: ``[K, B, H]`` learning signal applied to the (filtered) trace, or ``None``.
        raw_signal: ``[K, B, H]`` signal applied to the unfiltered trace (regularizer), or ``None``.
        kappa: the filter's decay (a scalar tensor); used when ``tr.filt`` is not ``None``.
        grad: ``[H, Q]``, accumulated in place.
    """
    if _fused_applies(rec.xt):
        return _trace_block_fused(layer, k, rec, tr, signal, raw_signal, kappa, grad)
    return trace_block_reference(layer, k, rec, tr, signal, raw_signal, kappa, grad)


def _fused_applies(x: Tensor) -> bool:
    """Whether the numba kernel (:mod:`spikeforge.kernels.cpu.traces`) runs this block."""
    from ..kernels.registry import backend_installed

    return x.device.type == "cpu" and x.dtype in (torch.float32, torch.float64) and backend_installed("cpu")


def _trace_block_fused(layer: OnlineLayer, k: LayerConstants, rec: BlockRecord, tr: LayerTrace,
                       signal: Tensor | None, raw_signal: Tensor | None, kappa: Tensor | None,
                       grad: Tensor) -> LayerTrace:
    """:func:`trace_block` by the numba kernel: the same recursion, one compiled loop."""
    from ..kernels.cpu.threads import run_tasks, thread_count
    from ..kernels.cpu.traces import PAD, trace_kernel

    K, B, H = rec.du.shape
    like = rec.du
    Q = tr.ev.shape[-1]
    padded = lambda t: torch.nn.functional.pad(t, (0, -Q % PAD)) if t is not None else None  # noqa: E731
    ev, eb, filt = padded(tr.ev), padded(tr.eb), padded(tr.filt)  # copies: the caller keeps its state
    eb = eb if eb is not None else torch.zeros_like(ev)
    filt = filt if filt is not None else torch.zeros_like(ev)
    kap = (kappa.detach().to(like.dtype).expand(H).contiguous() if tr.filt is not None and kappa is not None
           else like.new_zeros(H))
    zeros = None if signal is not None and raw_signal is not None else like.new_zeros((K, B, H))
    sig = signal.contiguous() if signal is not None else zeros
    raw = raw_signal.contiguous() if raw_signal is not None else zeros
    target = grad if grad.is_contiguous() else grad.contiguous()
    arrays = [t.detach().numpy() for t in (rec.xt, rec.du, rec.gu, rec.psi, rec.ru, rec.rb, rec.qu, rec.qb,
                                           k.beta.contiguous(), k.rho.contiguous(), kap)]
    run_tasks(trace_kernel, thread_count(K * B * H * ev.shape[-1], H, serial_below=1 << 16),
              *arrays, layer.output == "spikes",
              *[t.numpy() for t in (ev, eb, filt, sig, raw, target)])
    if target is not grad:
        grad.copy_(target)
    ev, eb, filt = (t[..., :Q].contiguous() for t in (ev, eb, filt))
    for trace in (ev, eb, filt):
        _flush_subnormal(trace)
    return LayerTrace(ev, eb if tr.eb is not None else None, filt if tr.filt is not None else None,
                      tr.spikes, tr.steps)


@torch.no_grad()
def trace_block_reference(layer: OnlineLayer, k: LayerConstants, rec: BlockRecord, tr: LayerTrace,
                          signal: Tensor | None, raw_signal: Tensor | None, kappa: Tensor | None,
                          grad: Tensor) -> LayerTrace:
    """:func:`trace_block` in torch operations, a step at a time (the specification the
    kernel is tested against; it also runs where the kernel cannot: CUDA, other dtypes,
    no numba)."""
    P = rec.xt.shape[-1]
    ev, eb, filt = tr.ev, tr.eb, tr.filt
    inj = torch.empty_like(ev)
    beta = k.beta.unsqueeze(-1)
    rho = k.rho.unsqueeze(-1)
    for t in range(rec.xt.shape[0]):
        torch.mul(rec.gu[t].unsqueeze(-1), rec.xt[t].unsqueeze(1), out=inj[..., :P])
        inj[..., P:] = rec.qu[t]
        dot_u = torch.addcmul(inj, rec.du[t].unsqueeze(-1), ev)
        if layer.spiking:
            dot_s = rec.psi[t].unsqueeze(-1) * (dot_u - beta * eb if eb is not None else dot_u)
        new_ev = rec.ru[t].unsqueeze(-1) * dot_u
        if eb is not None:
            new_ev.addcmul_(rec.rb[t].unsqueeze(-1), eb)
            eb = rho * eb + (1 - rho) * dot_s
            eb[..., P:] += rec.qb[t]
        ev = new_ev
        e = dot_s if layer.output == "spikes" else dot_u
        if filt is not None:
            filt = torch.addcmul(e, kappa, filt)
        if signal is not None:
            grad += torch.einsum("bh,bhq->hq", signal[t], e if filt is None else filt)
        if raw_signal is not None:
            grad += torch.einsum("bh,bhq->hq", raw_signal[t], e)
    for trace in (ev, eb, filt):
        _flush_subnormal(trace)
    return LayerTrace(ev, eb, filt, tr.spikes, tr.steps)


def _flush_subnormal(t: Tensor | None) -> None:
    """Set entries below the smallest normal number to 0, in place.

    Traces of quiet inputs decay geometrically (by ``rho`` = 0.87 per step for a 7 ms
    adaptation) into subnormal floats, on which CPU arithmetic is many times slower; a
    value below ``finfo.tiny`` (1.2e-38 in float32) changes no update that float32 can
    hold. Done once per block, without touching the process's floating-point mode.
    """
    if t is not None:
        t.masked_fill_(t.abs() < torch.finfo(t.dtype).tiny, 0.0)
