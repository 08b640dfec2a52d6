"""The membrane of adaptive output neurons as a readout (Yin et al.'s ECG decoder).

:class:`spikeforge.nn.ALIF` returns spikes; Yin, Corradi & Bohté (2021) classify the ECG
at every step from the membrane of their adaptive *spiking* output neurons instead
(``F.log_softmax(output_mem)``). :class:`ALIFMembrane` runs the same neurons and returns
their membrane before the spike decision, :math:`u_t`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from .. import nn as snn
from ..functional.alif import ALIFState
from ..nn.base import StatefulModule
from ._alif_membrane_scan import alif_membrane_scan


class ALIFMembrane(StatefulModule):
    r"""Adaptive LIF neurons whose output is the membrane :math:`u_t`, not the spikes.

    The neurons spike and reset as usual (so the adaptive threshold acts on the
    membrane); the output at step ``t`` is

    .. math::
        u_t = V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + (1 - d)\,R\,x_t,

    the value compared with the threshold, recomputed from the recorded membranes
    ``v`` (after reset) with the same expression as
    :func:`spikeforge.functional.alif.alif_update`. With a subtractive reset (detached
    or not) and no refractory period (Yin et al.'s neurons) it runs as one autograd node with a
    hand-written backward (:mod:`spikeforge.models._alif_membrane_scan`, ~60x faster
    than autograd through the loop at 1301 steps); otherwise :meth:`reference`, the
    plain-torch time loop ``ALIF.record`` differentiated by autograd.

    Args:
        size: number of neurons.
        **neuron_kwargs: passed to :class:`spikeforge.nn.ALIF`.

    Shape:
        input ``[T, B, size]``, output ``[T, B, size]``; the state is an ``ALIFState``.

    The neurons' spikes of the last call (detached, ``[T, B, size]``) are kept in
    :attr:`last_spikes`; :class:`~spikeforge.learning.monitor.SpikeMonitor` counts them
    through :meth:`emitted_spikes`.
    """

    time_major = True

    def __init__(self, size: int, **neuron_kwargs: Any) -> None:
        super().__init__()
        self.neuron = snn.ALIF(size, **neuron_kwargs)
        self.size = self.neuron.size
        self.last_spikes: Tensor | None = None

    def emitted_spikes(self, _output: Any) -> Tensor | None:
        """The spikes of the call that returned ``_output`` (they are not part of the output itself)."""
        return self.last_spikes

    def forward(self, x: Tensor, state: ALIFState | None = None) -> tuple[Tensor, ALIFState]:
        p = self.neuron.neuron_parameters()
        if x.shape[0] == 0:
            self.last_spikes = x.new_zeros(x.shape).detach()
            return self.neuron(x, state)
        if state is None:
            state = self.neuron.model.init_state(x.new_zeros(x.shape[1:]), p)
        if self.scan_applies(p):
            return self._scan(x, state, p)
        return self.reference(x, state, p)

    @staticmethod
    def scan_applies(p: Any) -> bool:
        """Whether :func:`~spikeforge.models._alif_membrane_scan.alif_membrane_scan` computes these neurons."""
        return p.reset == "subtract" and p.refractory_steps == 0

    def _scan(self, x: Tensor, state: ALIFState, p: Any) -> tuple[Tensor, ALIFState]:
        d, rho = self.neuron.model.coefficients(p)
        c = (1 - d) * (p.r * x + p.v_leak)
        u, v, b, spikes = alif_membrane_scan(c, d, rho, p.v_threshold, p.beta, p.v_reset, state.v, state.b,
                                             p.surrogate, p.detach_reset)
        self.last_spikes = spikes
        return u, ALIFState(v, b, torch.zeros_like(v))

    def reference(self, x: Tensor, state: ALIFState, p: Any = None) -> tuple[Tensor, ALIFState]:
        """The same output through :meth:`spikeforge.nn.ALIF.record` and autograd (any reset, refractory period)."""
        p = self.neuron.neuron_parameters() if p is None else p
        spikes, trace = self.neuron.record(x, state)
        self.last_spikes = spikes.detach()
        d, _ = self.neuron.model.coefficients(p)
        v_prev = torch.cat([state.v.unsqueeze(0), trace.v[:-1]])
        u = p.v_leak + d * (v_prev - p.v_leak) + (1 - d) * p.r * x
        return u, ALIFState(*(field[-1] for field in trace))
