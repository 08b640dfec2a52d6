r"""Decoders: read a time-major output ``[T, B, ...]`` into one value per neuron.

For spikes :math:`s_t` and a readout membrane :math:`v_t`, :math:`t = 0, \dots, T-1`:

.. math::
    n = \sum_t s_t, \quad
    \nu = \frac{n}{T\,[\Delta t]}, \quad
    t_\text{first} = \min\{t : s_t > 0\} \ (T \text{ if none}), \quad
    \max_t v_t, \quad \frac{1}{T}\sum_t v_t, \quad v_{T-1}.

All but :func:`first_spike_time` are differentiable. :func:`accuracy` turns per-class
scores ``[B, C]`` (any of the above) into the fraction of correct arg-max predictions.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_positive
from ._checks import check_exact_rank, check_target, check_tensor

__all__ = [
    "spike_count", "firing_rate", "first_spike_time",
    "max_membrane", "mean_membrane", "last_membrane", "accuracy",
]

_LAYOUT = "[T, B, ...]"


def spike_count(spikes: Tensor) -> Tensor:
    """Number of spikes of each neuron: the sum over time.

    Args:
        spikes: spike train, usually 0/1 values.

    Returns:
        Spike counts in ``spikes``' dtype.

    Shape:
        ``[T, B, ...]`` -> ``[B, ...]``.

    Examples:
        >>> spike_count(torch.tensor([[[1.0, 0.0]], [[1.0, 1.0]]]))
        tensor([[2., 1.]])
    """
    check_tensor(spikes, "spikes", min_rank=2, layout=_LAYOUT)
    return spikes.sum(0)


def firing_rate(spikes: Tensor, dt: float | None = None) -> Tensor:
    """Mean spikes per step, or the rate in Hz when the step length ``dt`` (seconds) is given.

    Shape:
        ``[T, B, ...]`` -> ``[B, ...]``.

    Examples:
        >>> firing_rate(torch.tensor([[1.0], [0.0], [1.0], [0.0]]), dt=0.25)  # 0.5 spikes per 0.25 s step
        tensor([2.])
    """
    check_tensor(spikes, "spikes", min_rank=2, layout=_LAYOUT)
    rate = spikes.mean(0)
    if dt is not None:
        check_positive(dt, "dt")
        rate = rate / dt
    return rate


def first_spike_time(spikes: Tensor) -> Tensor:
    """Index of each neuron's first step with a spike (``> 0``); ``T`` for a neuron that never fires.

    Returns:
        An int64 tensor (not differentiable; see
        :func:`spikeforge.encoding.first_spike_time_loss` for a differentiable version).

    Shape:
        ``[T, B, ...]`` -> ``[B, ...]``.

    Examples:
        >>> first_spike_time(torch.tensor([[[0.0, 0.0]], [[1.0, 0.0]], [[1.0, 0.0]]]))
        tensor([[1, 3]])
    """
    check_tensor(spikes, "spikes", min_rank=2, layout=_LAYOUT)
    num_steps = spikes.shape[0]
    if num_steps == 0:
        return torch.zeros(spikes.shape[1:], dtype=torch.int64, device=spikes.device)
    time = torch.arange(num_steps, device=spikes.device).view(num_steps, *([1] * (spikes.dim() - 1)))
    return torch.where(spikes > 0, time, torch.full_like(time, num_steps)).amin(0)


def max_membrane(v: Tensor) -> Tensor:
    """Maximum of the membrane over time (``[T, B, ...]`` -> ``[B, ...]``)."""
    check_tensor(v, "v", min_rank=2, layout=_LAYOUT)
    return v.amax(0)


def mean_membrane(v: Tensor) -> Tensor:
    """Mean of the membrane over time (``[T, B, ...]`` -> ``[B, ...]``)."""
    check_tensor(v, "v", min_rank=2, layout=_LAYOUT)
    return v.mean(0)


def last_membrane(v: Tensor) -> Tensor:
    """Membrane at the last step (``[T, B, ...]`` -> ``[B, ...]``)."""
    check_tensor(v, "v", min_rank=2, layout=_LAYOUT)
    return v[-1]


def accuracy(scores: Tensor, target: Tensor) -> float:
    """Fraction of samples whose highest score is the target class.

    Ties go to the lowest class index (``torch.argmax``), so an all-silent output
    counts as predicting class 0.

    Args:
        scores: per-class scores, e.g. ``spike_count(spikes)``; any real dtype.
        target: int64 class indices.

    Returns:
        A Python float in ``[0, 1]`` (``nan`` for an empty batch).

    Shape:
        ``scores``: ``[B, C]``; ``target``: ``[B]``.

    Examples:
        >>> accuracy(torch.tensor([[3.0, 1.0], [0.0, 2.0]]), torch.tensor([0, 0]))
        0.5
    """
    if not isinstance(scores, Tensor):
        raise TypeError(f"scores must be a torch.Tensor, got {type(scores).__name__}")
    if scores.is_complex() or scores.dtype == torch.bool:
        raise TypeError(f"scores must be a real-valued tensor, got dtype {scores.dtype}")
    check_exact_rank(scores, 2, "scores", "[B, C]")
    check_target(target, scores.shape[0], scores.shape[1])
    if scores.shape[0] == 0:
        return float("nan")
    return (scores.argmax(1) == target).double().mean().item()
