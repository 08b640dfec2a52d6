r"""OSTL (Bohnstingl et al. 2022): online spatio-temporal learning.

Bohnstingl, T., Woźniak, S., Pantazi, A. & Eleftheriou, E. "Online Spatio-Temporal
Learning in Deep Neural Networks", IEEE Trans. Neural Netw. Learn. Syst. 34, 8894–8908
(2023; arXiv:2007.12723, 2020).

OSTL splits the gradient of a loss at step :math:`t` into a *spatial* factor, the
derivative of the loss by the layer's output at the same step, and a *temporal* factor,
the eligibility trace of the layer's output by its own parameters carried forward in time:

.. math::
    \frac{dE}{d\theta^l} = \sum_t L^l_t\, e^l_t,\qquad
    L^L_t = \frac{\partial E}{\partial o^L_t},\qquad
    L^l_t = \bigl(L^{l+1}_t \odot \mathrm{jac}^{l+1}_t\bigr) W^{l+1}_\text{in},\qquad
    e^l_t = \frac{d o^l_t}{d\theta^l},

with :math:`e^l_t` from the recursions of :mod:`spikeforge.learning._traces` (membrane,
reset and, for ALIF neurons, adaptation: the full diagonal state Jacobian of the layer).

- **Single layer**: :math:`e_t` is the exact total derivative and the factorization is
  exact (equal to BPTT), for any objective.
- **Deep networks**: the paper's approximation. The spatial factor passes through the
  upper layers' instantaneous Jacobians only; the terms in which a lower layer's
  parameters reach the loss through the *state* of an upper layer at later steps are
  left out. A leaky readout's memory of its input is one of them: e-prop keeps it by
  filtering the hidden traces with the readout's decay, and ``OSTL(filter_readout=True)``
  does the same (an addition to the paper's rule; with it, one feed-forward hidden layer
  under a leaky readout of one shared decay is exact too).
- **Recurrent weights**: the previous spikes :math:`z_{t-1}` are an input to the trace;
  the path through them is left out (as in e-prop), which keeps the memory at
  :math:`O(B\,H\,Q)` instead of RTRL's :math:`O(H^2 Q)` per sample.

Updates every ``k`` steps are the trainer's ``train.tbptt = k`` with
``train.tbptt_update: chunk`` (the traces carry over between chunks).
"""

from __future__ import annotations

from torch import Tensor

from ._engine import OnlineRule
from ._online import OnlineLayer

__all__ = ["OSTL"]


class OSTL(OnlineRule):
    """OSTL (see the module docstring); ``filter_readout`` (default ``False``: the paper's
    rule), ``block``, ``reg``, ``target_rate`` as for the online rules
    (:class:`~spikeforge.learning._engine.OnlineRule`)."""

    name = "ostl"

    def feedback(self, layers: list[OnlineLayer], i: int) -> Tensor:
        return layers[i + 1].linear.weight.detach()
