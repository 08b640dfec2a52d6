r"""e-prop (Bellec et al. 2020): eligibility traces times a broadcast learning signal.

Bellec, G., Scherr, F., Subramoney, A., Hajek, E., Salaj, D., Legenstein, R. & Maass, W.
"A solution to the learning dilemma for recurrent networks of spiking neurons",
Nat. Commun. 11, 3625 (2020).

e-prop factorizes the gradient of a recurrent spiking network into a term local to each
synapse and a signal local to each neuron,

.. math::
    \frac{dE}{dW_{ji}} \approx \sum_t L_j^t\,\bar e_{ji}^t, \qquad
    L_j^t = \sum_k B_{jk}\,\mathrm{jac}_k^t\,\delta_k^t, \qquad
    \bar e^t_{ji} = \kappa\,\bar e^{t-1}_{ji} + e^t_{ji},

where :math:`e^t_{ji} = \psi^t_j\,(\epsilon^{v,t}_{ji} - \beta\,\epsilon^{b,t-1}_{ji})` is the
eligibility trace (pseudo-derivative times the presynaptic activity filtered by the
neuron's own membrane, and for ALIF neurons the adaptation eligibility vector; the
recursions are in :mod:`spikeforge.learning._traces`), :math:`\delta^t_k = \partial E/\partial
o^t_k` the error of readout neuron :math:`k`, :math:`\mathrm{jac}^t_k` its gain (``(1-κ) r``
for a leaky readout), and :math:`\kappa` the readout's membrane decay, which moves the
readout's memory of past spikes from the (future) error onto the trace (the paper's
eq. 28-29). :math:`B = W_\text{out}^\top` (``feedback="symmetric"``) or a fixed random
matrix (``"random"``, random e-prop). The readout's own weights learn with their exact
eligibility (:math:`\bar e = e`). Below the top hidden layer the signal goes down through
each layer's weights (or a fixed random matrix) and pseudo-derivatives at the same step.

With ``reg > 0`` the firing-rate regularizer :math:`\tfrac{c_\text{reg}}{2}\sum_j(\bar
f_j - f_\text{target})^2` of the paper adds its own signal on the unfiltered trace of every
hidden spiking neuron.

Exact (equal to BPTT) for one feed-forward hidden layer under a readout whose neurons
share one decay (non-leaky included), with any objective; otherwise an approximation that
drops the paths through recurrent spikes and, with differing readout decays, filters
with their mean.

Online updates every ``k`` steps are the trainer's ``train.tbptt = k`` with
``train.tbptt_update: chunk``: the traces carry over from chunk to chunk in the state,
and the optimizer steps after each chunk; with ``tbptt_update: sequence`` (default) the
update comes at the end of the sequence.

Examples:
    >>> rule = EProp(feedback="random", reg=1.0, target_rate=0.01)
    >>> result = rule.step(model, x, y, objective)      # adds -Δw into .grad
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from ._engine import OnlineRule
from ._online import OnlineLayer

__all__ = ["EProp", "FEEDBACK"]

FEEDBACK = ("symmetric", "random")


class EProp(OnlineRule):
    """e-prop (see the module docstring).

    Args:
        feedback: ``"symmetric"`` (:math:`B = W^\\top`) or ``"random"`` (fixed random
            matrices, drawn once from ``seed``, Xavier-uniform scale).
        seed: seed of the random feedback matrices.
        filter_readout: filter the hidden layers' traces with the readout decay
            (the paper's way to handle a leaky readout); ``False`` uses them unfiltered.
        block, reg, target_rate: see :class:`~spikeforge.learning._engine.OnlineRule`.
    """

    name = "eprop"

    def __init__(self, *, feedback: str = "symmetric", seed: int = 0, filter_readout: bool = True,
                 block: int = 50, reg: float = 0.0, target_rate: float = 0.01) -> None:
        super().__init__(filter_readout=filter_readout, block=block, reg=reg, target_rate=target_rate)
        if feedback not in FEEDBACK:
            raise ValueError(f"feedback must be one of {', '.join(FEEDBACK)}, got {feedback!r}")
        self.feedback_mode = feedback
        self.seed = int(seed)
        self._random: dict[tuple, Tensor] = {}

    def feedback(self, layers: list[OnlineLayer], i: int) -> Tensor:
        w = layers[i + 1].linear.weight
        if self.feedback_mode == "symmetric":
            return w.detach()
        key = (i, tuple(w.shape), w.device, w.dtype)
        if key not in self._random:
            g = torch.Generator().manual_seed(self.seed * 1000 + i)
            bound = math.sqrt(6.0 / sum(w.shape))
            self._random[key] = ((torch.rand(w.shape, generator=g, dtype=torch.float64) * 2 - 1) * bound).to(
                device=w.device, dtype=w.dtype)
        return self._random[key]

    def config(self) -> dict[str, Any]:
        return {"feedback": self.feedback_mode, "seed": self.seed, **super().config()}
