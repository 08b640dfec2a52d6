r"""Spike losses for classification: time-major outputs ``[T, B, C]`` against class indices ``[B]``.

Each loss reduces the output over time to per-class scores and compares them with the
target class :math:`y`:

.. math::
    \text{count CE} &= \operatorname{CE}\big(\textstyle\sum_t s_t,\ y\big), \\
    \text{max / mean membrane CE} &= \operatorname{CE}\big(\max_t v_t
        \text{ or } \tfrac1T\textstyle\sum_t v_t,\ y\big), \\
    \text{count MSE} &= \big(\textstyle\sum_t s_{t,c} - T\rho_c\big)^2, \quad
        \rho_c = \rho_\text{on} \text{ if } c = y \text{ else } \rho_\text{off}, \\
    \text{first-spike} &= \operatorname{CE}\big(-\hat t / \tau,\ y\big), \quad
        \hat t = \sum_{t=0}^{T-1} t\, s_t \prod_{t'<t}(1 - s_{t'}) + T \prod_{t=0}^{T-1}(1 - s_t),

where :math:`\operatorname{CE}(z, y) = -\log\operatorname{softmax}(z)_y`. For 0/1
spikes :math:`\hat t` equals the first spike time (:math:`T` if none); written as a
product it passes the surrogate gradient of each :math:`s_t`, so the target neuron is
pushed to fire first and the others later. ``reduction`` is ``"mean"`` (over the batch;
over all ``B*C`` elements for count MSE), ``"sum"`` or ``"none"`` (``[B]``; ``[B, C]``
for count MSE).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import check_positive
from ._checks import check_fraction, check_reduction, check_target, check_tensor

__all__ = [
    "spike_count_cross_entropy", "count_mse", "max_membrane_cross_entropy",
    "mean_membrane_cross_entropy", "first_spike_time_loss", "soft_first_spike_time",
    "SpikeCountCrossEntropy", "CountMSE", "MaxMembraneCrossEntropy",
    "MeanMembraneCrossEntropy", "FirstSpikeTimeLoss",
]


def _check(x: Tensor, name: str, target: Tensor, reduction: str) -> None:
    check_tensor(x, name, rank=3, layout="[T, B, C]")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must have at least one time step, got shape {tuple(x.shape)}")
    check_target(target, x.shape[1], x.shape[2])
    check_reduction(reduction)


def spike_count_cross_entropy(spikes: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Cross-entropy with the spike counts ``spikes.sum(0)`` as logits.

    Examples:
        >>> spikes = torch.zeros(4, 1, 3); spikes[:, 0, 2] = 1.0
        >>> spike_count_cross_entropy(spikes, torch.tensor([2]))  # logits [0, 0, 4]
        tensor(0.0360)
    """
    _check(spikes, "spikes", target, reduction)
    return F.cross_entropy(spikes.sum(0), target, reduction=reduction)


def count_mse(
    spikes: Tensor, target: Tensor, *, on_rate: float = 0.8, off_rate: float = 0.2, reduction: str = "mean"
) -> Tensor:
    """Squared error between spike counts and ``on_rate * T`` (target class) / ``off_rate * T`` (others).

    Args:
        spikes: output spikes ``[T, B, C]``.
        target: int64 class indices ``[B]``.
        on_rate, off_rate: desired spikes per step, in ``[0, 1]``.
        reduction: ``"mean"`` over all ``B*C`` elements, ``"sum"``, or ``"none"`` (``[B, C]``).
    """
    _check(spikes, "spikes", target, reduction)
    on_rate = check_fraction(on_rate, "on_rate")
    off_rate = check_fraction(off_rate, "off_rate")
    num_steps = spikes.shape[0]
    counts = spikes.sum(0)
    wanted = torch.full_like(counts, off_rate * num_steps)
    wanted.scatter_(1, target.unsqueeze(1), on_rate * num_steps)
    err = (counts - wanted).square()
    if reduction == "mean":
        return err.mean()
    return err.sum() if reduction == "sum" else err


def max_membrane_cross_entropy(v: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Cross-entropy with the maximum over time of a readout membrane ``v`` ``[T, B, C]`` as logits."""
    _check(v, "v", target, reduction)
    return F.cross_entropy(v.amax(0), target, reduction=reduction)


def mean_membrane_cross_entropy(v: Tensor, target: Tensor, *, reduction: str = "mean") -> Tensor:
    """Cross-entropy with the mean over time of a readout membrane ``v`` ``[T, B, C]`` as logits."""
    _check(v, "v", target, reduction)
    return F.cross_entropy(v.mean(0), target, reduction=reduction)


def soft_first_spike_time(spikes: Tensor) -> Tensor:
    r"""The differentiable first spike time :math:`\hat t` of the module docstring (``[T, B, ...]`` -> ``[B, ...]``)."""
    num_steps = spikes.shape[0]
    survive = torch.cumprod(1 - spikes, dim=0)  # prod_{t' <= t} (1 - s_t')
    before = torch.cat([torch.ones_like(survive[:1]), survive[:-1]], dim=0)  # prod_{t' < t}
    time = torch.arange(num_steps, device=spikes.device, dtype=spikes.dtype).view(-1, *([1] * (spikes.dim() - 1)))
    return (time * spikes * before).sum(0) + num_steps * survive[-1]


def first_spike_time_loss(
    spikes: Tensor, target: Tensor, *, tau: float = 1.0, reduction: str = "mean"
) -> Tensor:
    """Cross-entropy on negative first spike times: the target class should fire first.

    Args:
        spikes: output spikes ``[T, B, C]``, from a surrogate spike function for training.
        target: int64 class indices ``[B]``.
        tau: temperature in steps (positive): a lead of ``tau`` steps is one unit of logit.
        reduction: ``"mean"``, ``"sum"`` or ``"none"``.

    Examples:
        >>> spikes = torch.zeros(5, 1, 2); spikes[1, 0, 0] = 1.0; spikes[3, 0, 1] = 1.0
        >>> first_spike_time_loss(spikes, torch.tensor([0]))  # logits [-1, -3]
        tensor(0.1269)
    """
    _check(spikes, "spikes", target, reduction)
    check_positive(tau, "tau")
    return F.cross_entropy(-soft_first_spike_time(spikes) / tau, target, reduction=reduction)


class _SpikeLoss(nn.Module):
    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction)
        self.reduction = reduction

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class SpikeCountCrossEntropy(_SpikeLoss):
    """Module form of :func:`spike_count_cross_entropy`; ``forward(spikes [T, B, C], target [B])``."""

    def forward(self, spikes: Tensor, target: Tensor) -> Tensor:
        return spike_count_cross_entropy(spikes, target, reduction=self.reduction)


class MaxMembraneCrossEntropy(_SpikeLoss):
    """Module form of :func:`max_membrane_cross_entropy`; ``forward(v [T, B, C], target [B])``."""

    def forward(self, v: Tensor, target: Tensor) -> Tensor:
        return max_membrane_cross_entropy(v, target, reduction=self.reduction)


class MeanMembraneCrossEntropy(_SpikeLoss):
    """Module form of :func:`mean_membrane_cross_entropy`; ``forward(v [T, B, C], target [B])``."""

    def forward(self, v: Tensor, target: Tensor) -> Tensor:
        return mean_membrane_cross_entropy(v, target, reduction=self.reduction)


class CountMSE(_SpikeLoss):
    """Module form of :func:`count_mse`; ``forward(spikes [T, B, C], target [B])``."""

    def __init__(self, on_rate: float = 0.8, off_rate: float = 0.2, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.on_rate = check_fraction(on_rate, "on_rate")
        self.off_rate = check_fraction(off_rate, "off_rate")

    def forward(self, spikes: Tensor, target: Tensor) -> Tensor:
        return count_mse(spikes, target, on_rate=self.on_rate, off_rate=self.off_rate, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"on_rate={self.on_rate}, off_rate={self.off_rate}, " + super().extra_repr()


class FirstSpikeTimeLoss(_SpikeLoss):
    """Module form of :func:`first_spike_time_loss`; ``forward(spikes [T, B, C], target [B])``."""

    def __init__(self, tau: float = 1.0, reduction: str = "mean") -> None:
        super().__init__(reduction)
        check_positive(tau, "tau")
        self.tau = float(tau)

    def forward(self, spikes: Tensor, target: Tensor) -> Tensor:
        return first_spike_time_loss(spikes, target, tau=self.tau, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"tau={self.tau}, " + super().extra_repr()
