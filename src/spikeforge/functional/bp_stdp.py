r"""BP-STDP (Tavanaei & Maida 2019): backpropagation approximated by STDP in IF networks.

A. Tavanaei, A. Maida, "BP-STDP: Approximating backpropagation using spike timing dependent
plasticity", *Neurocomputing* 330, 39-47 (2019), arXiv:1711.04214.

**Neurons** are non-leaky integrate-and-fire (:mod:`spikeforge.functional.if_`):
:math:`U_t = U_{t-1} + \sum_h w_h s_{h,t}`, a spike when :math:`U_t \ge \theta`, then
:math:`U = 0`. Over a window an IF neuron's spike count is a rectified linear function of its
input (the paper's Theorem 1), which is why the ReLU network's backpropagation carries over.

**Teacher.** The label's output neuron has a desired spike train :math:`z` at the highest
rate :math:`\beta` (a spike every :math:`1/(\beta\,dt)` steps); the other outputs should stay
silent. At every desired spike time :math:`t`, with windows of the last :math:`\epsilon + 1`
steps :math:`[t-\epsilon, t]`:

.. math::
    \xi_i(t) = \begin{cases}
        +1 & z_i(t) = 1 \text{ and output } i \text{ did not fire in the window} \\
        -1 & z_i(t) = 0 \text{ and output } i \text{ fired in the window} \\
        0 & \text{otherwise}
    \end{cases}

(eq. 16), and, with :math:`c_h(t) = \sum_{t'=t-\epsilon}^{t} s_h(t')` the window counts,

.. math::
    \Delta w_{ih} = \mu\, \xi_i(t)\, c_h(t) \quad\text{(output layer, eq. 15)}, \qquad
    \delta_h(t) = \Big(\sum_i \xi_i(t) w_{ih}\Big) [c_h(t) > 0], \quad
    \Delta w_{hj} = \mu\, \delta_h(t)\, c_j(t) \quad\text{(hidden layers, eq. 20)}.

A target that stayed silent is potentiated from the inputs that were active (STDP), a wrong
output that fired is depressed (anti-STDP), and hidden neurons that fired in the window take
their share through the output weights, as backpropagation through a ReLU would; deeper
layers repeat the hidden rule with :math:`\delta` in place of :math:`\xi`. All errors are
computed from the weights before the step's changes.
"""

from __future__ import annotations

from typing import Sequence

import torch
from torch import Tensor

__all__ = ["target_train", "output_error", "hidden_error", "bp_stdp_changes"]


def target_train(labels: Tensor, num_classes: int, num_steps: int, period: int) -> Tensor:
    """Desired output spikes ``[T, B, C]``: the label's neuron fires at steps ``period - 1,
    2 period - 1, ...`` (the highest rate, ``β = 1 / (period dt)``), the others never."""
    labels = labels.reshape(-1).long()
    z = torch.zeros(num_steps, labels.shape[0], num_classes)
    steps = torch.arange(period - 1, num_steps, period)
    z[steps[:, None], torch.arange(labels.shape[0])[None, :], labels[None, :]] = 1.0
    return z


def output_error(target: Tensor, out_window: Tensor) -> Tensor:
    """:math:`\\xi` ``[B, C]`` at one step: ``target`` ``[B, C]`` desired spikes now,
    ``out_window`` the output spike counts of the window. Zero for samples with no desired
    spike at this step (updates happen at desired spike times only)."""
    at_desired = (target > 0).any(-1, keepdim=True)
    fired = out_window > 0
    xi = (target > 0) & ~fired
    wrong = (target <= 0) & fired
    return (xi.to(out_window.dtype) - wrong.to(out_window.dtype)) * at_desired


def hidden_error(error_above: Tensor, weight_above: Tensor, window: Tensor) -> Tensor:
    """:math:`\\delta` ``[B, N]`` of a hidden layer: the error of the layer above
    ``[B, M]`` sent back through its weights ``[M, N]``, where the neuron fired in the window."""
    return (error_above @ weight_above) * (window > 0).to(error_above.dtype)


def bp_stdp_changes(target: Tensor, windows: Sequence[Tensor], weights: Sequence[Tensor],
                    lr: float) -> list[Tensor]:
    """The weight changes of one step for every layer.

    Args:
        target: desired output spikes at this step ``[B, C]``.
        windows: spike counts over the window of every layer, input first, output last
            (``[B, n_0], ..., [B, n_L]``).
        weights: ``[n_1, n_0], ..., [n_L, n_{L-1}]`` (``nn.Linear`` layout).
        lr: :math:`\\mu`.

    Returns:
        ``Δw`` per layer, summed over the batch.
    """
    if len(windows) != len(weights) + 1:
        raise ValueError(f"need one window per layer plus the input ({len(weights) + 1}), got {len(windows)}")
    errors = [output_error(target, windows[-1])]
    for k in range(len(weights) - 1, 0, -1):
        errors.insert(0, hidden_error(errors[0], weights[k], windows[k]))
    return [e.transpose(0, 1) @ (lr * w) for e, w in zip(errors, windows[:-1])]
