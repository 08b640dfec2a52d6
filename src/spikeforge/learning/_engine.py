r"""The loop the online rules share: blocks of time, learning signals, traces, ``.grad``.

One call of :meth:`OnlineRule.step` on a chunk ``x [T, B, I]`` walks time forward in
blocks of ``block`` steps. In each block every layer runs with spikeforge's own update
and records its local derivatives (:func:`~spikeforge.learning._online.forward_block`),
the readout error :math:`\delta_t = \partial E/\partial o^L_t` of the block's steps is
taken from the objective, the rule maps it to a learning signal :math:`\ell^l_t` for
every layer (top-down, at the same step),

.. math::
    \ell^L_t = \delta_t, \qquad
    \ell^{l}_t = (\mathrm{jac}^{l+1}_t \odot \ell^{l+1}_t)\, B^{l+1}

(``jac`` the upper layer's instantaneous gain :math:`\partial o/\partial c`, :math:`B^{l+1}`
its input weights or a fixed random matrix), and each layer's eligibility traces
(:mod:`spikeforge.learning._traces`) are advanced and contracted with its signal. Only
the traces (``[B, H, Q]`` per layer) and one block of records live at a time, so the
memory of a step does not grow with ``T``; the traces and the neuron states are returned
as the state, so a sequence cut into chunks gives the updates of the whole.

Errors: with a per-step objective (``objective.per_step``) the error of a step is known
when the step is done, and the pass is online. With an end-of-sequence objective
(``mean_membrane``, ``spike_count``, ``last_membrane`` ...) the error exists only once
the whole chunk has run: the step runs the chunk forward once without records to get
:math:`\delta_t` for every step (``[T, B, C]``, the size of the output), then the
learning pass.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .._validation import check_floating
from ._online import (
    BlockRecord,
    LayerConstants,
    OnlineLayer,
    forward_block,
    initial_layer_state,
    join_state,
    layer_constants,
    parse_network,
    split_state,
)
from ._traces import LayerTrace, trace_block, zero_trace
from .objectives import Objective
from .rules import StepResult

__all__ = ["OnlineState", "OnlineRule", "state_nbytes"]


class OnlineState(NamedTuple):
    """The state an online rule returns: the model's (as ``model(x)`` returns it) and the traces."""

    model: tuple
    traces: tuple[LayerTrace, ...]


def state_nbytes(state: Any) -> int:
    """Bytes of all tensors in a (nested) state."""
    if isinstance(state, Tensor):
        return state.numel() * state.element_size()
    if isinstance(state, (tuple, list)):
        return sum(state_nbytes(s) for s in state)
    return 0


class OnlineRule:
    r"""Base of :class:`~spikeforge.learning.eprop.EProp` and :class:`~spikeforge.learning.ostl.OSTL`.

    Subclasses set ``name`` and implement :meth:`feedback` (the matrix :math:`B^{l+1}`);
    :meth:`filter_decay` gives the decay of the hidden traces' filter (``None``: unfiltered).

    Args:
        filter_readout: filter the hidden layers' traces with the readout's membrane decay
            :math:`\kappa`, :math:`\bar e_t = \kappa \bar e_{t-1} + e_t` (Bellec et al.'s
            eq. 28-29), which keeps the readout's memory of its past inputs; with differing
            readout decays their mean. The readout's own traces are never filtered.
        block: time steps run per block (memory of one block of records; no effect on
            the result).
        reg: firing-rate regularization strength :math:`c_\text{reg}` (0: off).
        target_rate: the regularizer's target, spikes per neuron per step.
    """

    name = "online"

    def __init__(self, *, filter_readout: bool = False, block: int = 50, reg: float = 0.0,
                 target_rate: float = 0.01) -> None:
        if not isinstance(filter_readout, bool):
            raise ValueError(f"filter_readout must be true or false, got {filter_readout!r}")
        if isinstance(block, bool) or not isinstance(block, int) or block < 1:
            raise ValueError(f"block must be a positive integer (time steps), got {block!r}")
        if not (isinstance(reg, (int, float)) and reg >= 0):
            raise ValueError(f"reg must be a non-negative number, got {reg!r}")
        if not (isinstance(target_rate, (int, float)) and 0 <= target_rate <= 1):
            raise ValueError(f"target_rate must be in [0, 1] (spikes per step), got {target_rate!r}")
        self.filter_readout = filter_readout
        self.block = block
        self.reg = float(reg)
        self.target_rate = float(target_rate)

    # -- what a rule chooses ---------------------------------------------------------------------
    def feedback(self, layers: list[OnlineLayer], i: int) -> Tensor:
        """``[H_{i+1}, H_i]``: maps ``jac ⊙ ℓ`` of layer ``i + 1`` to the signal of layer ``i``."""
        raise NotImplementedError

    def filter_decay(self, layers: list[OnlineLayer], consts: list[LayerConstants], i: int) -> Tensor | None:
        """The decay of the filter of layer ``i``'s traces (``None``: unfiltered)."""
        if not self.filter_readout or i == len(layers) - 1:
            return None
        return consts[-1].d.mean()

    # -- the step --------------------------------------------------------------------------------
    def step(self, model: nn.Module, x: Tensor, y: Tensor, objective: Objective, *,
             state: Any = None, loss_weight: float = 1.0) -> StepResult:
        net, layers = parse_network(model)
        check_floating(x, "input")
        if x.dim() != 3 or x.shape[-1] != layers[0].inputs:
            raise ValueError(f"{self.name} expects a time-major sequence [T, B, {layers[0].inputs}], "
                             f"got shape {tuple(x.shape)}")
        consts = [layer_constants(layer, x) for layer in layers]
        kappas = [self.filter_decay(layers, consts, i) for i in range(len(layers))]
        start = self._start(net, layers, consts, kappas, x, state)
        learn = loss_weight != 0
        grads = [x.new_zeros(layer.hidden, layer.width) for layer in layers] if learn else None
        if not learn or not objective.per_step:
            out, end, _ = self._run(layers, consts, kappas, x, start, None, None, None, 0.0)
            out_g = out.detach().requires_grad_(learn)
            with torch.enable_grad():
                loss = objective.loss(out_g, y)
            if not learn:
                return StepResult(loss.detach(), out, self._state(net, layers, end))
            (delta,) = torch.autograd.grad(loss * loss_weight, out_g)
            out, end, _ = self._run(layers, consts, kappas, x, start, delta, None, grads, loss_weight)
        else:
            per_step = (objective, y, objective.count(y), loss_weight)
            out, end, loss = self._run(layers, consts, kappas, x, start, None, per_step, grads, loss_weight)
        self._write_grads(layers, consts, grads)
        return StepResult(torch.as_tensor(loss).detach(), out, self._state(net, layers, end))

    # -- pieces ----------------------------------------------------------------------------------
    def _start(self, net: nn.Module, layers: list[OnlineLayer], consts: list[LayerConstants],
               kappas: list[Tensor | None], x: Tensor, state: Any) -> list[tuple[Any, Tensor | None, LayerTrace]]:
        traces = None
        if isinstance(state, OnlineState):
            state, traces = state.model, state.traces
        if state is not None and len(state) != len(net):
            raise ValueError(f"state has {len(state)} entries but the network has {len(net)} modules")
        out = []
        B = x.shape[1]
        for i, (layer, k) in enumerate(zip(layers, consts)):
            like = x.new_zeros(B, layer.hidden)
            if state is None or state[layer.slot] is None:
                nstate, z = initial_layer_state(layer, k, like)
            else:
                nstate, z = split_state(layer, state[layer.slot])
            tr = traces[i] if traces is not None else zero_trace(layer, B, kappas[i] is not None, like)
            out.append((nstate, z, tr))
        return out

    def _state(self, net: nn.Module, layers: list[OnlineLayer], end: list) -> OnlineState:
        entries: list[Any] = [None] * len(net)
        for layer, (nstate, z, _) in zip(layers, end):
            entries[layer.slot] = join_state(layer, nstate, z)
        return OnlineState(tuple(entries), tuple(tr for _, _, tr in end))

    def _run(self, layers, consts, kappas, x, start, delta, per_step, grads, weight):
        """Walk the chunk in blocks; learn when ``grads`` is given (``delta`` or ``per_step`` supplies errors)."""
        record = grads is not None
        T = x.shape[0]
        cur = list(start)
        out = x.new_empty(T, x.shape[1], layers[-1].hidden)  # filled block by block (no second copy)
        loss_sum = 0.0
        for a in range(0, T, self.block):
            b = min(a + self.block, T)
            h = x[a:b]
            recs: list[BlockRecord | None] = []
            layer_outs = []
            for i, (layer, k) in enumerate(zip(layers, consts)):
                nstate, z, tr = cur[i]
                h, nstate, z, rec = forward_block(layer, k, h, nstate, z, record=record)
                cur[i] = (nstate, z, tr)
                recs.append(rec)
                layer_outs.append(h)
            out[a:b] = h
            if not record:
                continue
            if per_step is not None:
                objective, y, total, weight = per_step
                d_block, block_loss = _block_error(objective, h, y[a:b], total, weight)
                loss_sum += block_loss
            else:
                d_block = delta[a:b]
            self._learn(layers, consts, kappas, recs, layer_outs, d_block, cur, grads, weight / T)
        loss = None
        if per_step is not None:
            loss = loss_sum / per_step[2] if per_step[2] else float("nan")
        return out, cur, loss

    @torch.no_grad()
    def _learn(self, layers, consts, kappas, recs, layer_outs, d_block, cur, grads, reg_scale) -> None:
        n = len(layers)
        signals: list[Tensor] = [None] * n  # type: ignore[list-item]
        signals[-1] = d_block
        for i in range(n - 2, -1, -1):
            signals[i] = (recs[i + 1].jac * signals[i + 1]) @ self.feedback(layers, i).to(d_block.dtype)
        for i, layer in enumerate(layers):
            nstate, z, tr = cur[i]
            raw = None
            if self.reg and layer.spiking and i < n - 1:
                raw, tr = self._rate_signal(layer_outs[i], tr, reg_scale)
            tr = trace_block(layer, consts[i], recs[i], tr, signals[i], raw, kappas[i], grads[i])
            cur[i] = (nstate, z, tr)

    def _rate_signal(self, spikes: Tensor, tr: LayerTrace, scale: float) -> tuple[Tensor, LayerTrace]:
        r"""The regularizer's signal for ``spikes [K, B, H]``: the derivative of
        :math:`\tfrac{c_\text{reg}}{2}\sum_j(\bar f_j - f_\text{target})^2` by :math:`z_{t,b,j}`,
        :math:`c_\text{reg}(\bar f_j - f_\text{target})/(B T)` times the chunk's loss weight, with
        :math:`\bar f_j` the neuron's rate over the batch and the steps so far (an online estimate of
        the chunk's rate; Bellec et al. 2020, Methods, "Firing rate regularization")."""
        K, B, _ = spikes.shape
        sums = tr.spikes + spikes.sum(1).cumsum(0)  # [K, H]
        steps = tr.steps + torch.arange(1, K + 1, dtype=spikes.dtype, device=spikes.device)
        rate = sums / (steps.unsqueeze(-1) * B)
        raw = (self.reg * scale / B * (rate - self.target_rate)).unsqueeze(1).expand(K, B, -1)
        return raw, tr._replace(spikes=sums[-1], steps=tr.steps + K)

    @staticmethod
    def _write_grads(layers: list[OnlineLayer], consts: list[LayerConstants], grads: list[Tensor]) -> None:
        for layer, k, g in zip(layers, consts, grads):
            col = layer.inputs
            _add_grad(layer.linear.weight, g[:, :col])
            if layer.linear.bias is not None:
                _add_grad(layer.linear.bias, g[:, col])
                col += 1
            if layer.recurrent is not None:
                _add_grad(layer.recurrent.weight, g[:, col:col + layer.hidden])
                col += layer.hidden
            for j, name in enumerate(layer.learn):
                target = k.graph[name]
                g_c = g[:, col + j]
                g_c = g_c.sum() if target.numel() == 1 else g_c.reshape(target.shape)
                torch.autograd.backward(target, g_c.to(target.dtype))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"

    def config(self) -> dict[str, Any]:
        return {"filter_readout": self.filter_readout, "block": self.block, "reg": self.reg,
                "target_rate": self.target_rate}


def _add_grad(param: nn.Parameter, g: Tensor) -> None:
    if not param.requires_grad:
        return
    g = g.to(param.dtype).reshape(param.shape)
    if param.grad is None:
        param.grad = g.clone()
    else:
        param.grad += g


def _block_error(objective: Objective, out: Tensor, y: Tensor, total: int, weight: float) -> tuple[Tensor, float]:
    """``(δ [K, B, C], Σ loss)`` of one block of a per-step objective whose whole chunk scores ``total`` elements."""
    count = objective.count(y)
    if not count or not total:
        return torch.zeros_like(out), 0.0
    out_g = out.detach().requires_grad_(True)
    with torch.enable_grad():
        loss = objective.loss(out_g, y)
        (delta,) = torch.autograd.grad(loss * (count / total * weight), out_g)
    return delta, float(loss.detach()) * count
