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


class ALIFMembrane(StatefulModule):
    r"""Adaptive LIF neurons whose output is the membrane :math:`u_t`, not the spikes.

    The neurons spike and reset as usual (so the adaptive threshold acts on the
    membrane); the output at step ``t`` is

    .. math::
        u_t = V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + (1 - d)\,R\,x_t,

    the value compared with the threshold, recomputed from the recorded membranes
    ``v`` (after reset) with the same expression as
    :func:`spikeforge.functional.alif.alif_update`. It runs the plain-torch time loop
    (``ALIF.record``), which is cheap for a handful of output neurons. No refractory
    period.

    Args:
        size: number of neurons.
        **neuron_kwargs: passed to :class:`spikeforge.nn.ALIF`.

    Shape:
        input ``[T, B, size]``, output ``[T, B, size]``; the state is an ``ALIFState``.
    """

    time_major = True

    def __init__(self, size: int, **neuron_kwargs: Any) -> None:
        super().__init__()
        self.neuron = snn.ALIF(size, **neuron_kwargs)

    def forward(self, x: Tensor, state: ALIFState | None = None) -> tuple[Tensor, ALIFState]:
        p = self.neuron.neuron_parameters()
        if x.shape[0] == 0:
            return self.neuron(x, state)
        if state is None:
            state = self.neuron.model.init_state(x.new_zeros(x.shape[1:]), p)
        _, trace = self.neuron.record(x, state)
        d, _ = self.neuron.model.coefficients(p)
        v_prev = torch.cat([state.v.unsqueeze(0), trace.v[:-1]])
        u = p.v_leak + d * (v_prev - p.v_leak) + (1 - d) * p.r * x
        return u, ALIFState(*(field[-1] for field in trace))
