"""Spike encoders, decoders and spike losses.

Everything is time-major: encoders turn ``[B, ...]`` into ``[T, B, ...]`` (delta coding
turns a signal ``[T, B, ...]`` into ON/OFF events ``[T, B, 2, ...]``); decoders and
losses read ``[T, B, ...]`` back. Spike tensors hold exactly 0.0/1.0 in the input's
floating dtype and device, and random encoders draw only from an optional
``generator=``.

- encoders: :func:`bernoulli`, :func:`poisson` (rate), :func:`direct`,
  :func:`latency`, :func:`delta`;
- decoders: :func:`spike_count`, :func:`firing_rate`, :func:`first_spike_time`,
  :func:`max_membrane`, :func:`mean_membrane`, :func:`last_membrane`, :func:`accuracy`;
- losses (a function and an ``nn.Module`` each): spike-count cross-entropy, count MSE,
  max/mean-membrane cross-entropy, first-spike-time loss.
"""

from .decoding import (
    accuracy,
    first_spike_time,
    firing_rate,
    last_membrane,
    max_membrane,
    mean_membrane,
    spike_count,
)
from .delta import delta
from .direct import direct
from .latency import LATENCY_METHODS, latency
from .losses import (
    CountMSE,
    FirstSpikeTimeLoss,
    MaxMembraneCrossEntropy,
    MeanMembraneCrossEntropy,
    SpikeCountCrossEntropy,
    count_mse,
    first_spike_time_loss,
    max_membrane_cross_entropy,
    mean_membrane_cross_entropy,
    soft_first_spike_time,
    spike_count_cross_entropy,
)
from .rate import bernoulli, poisson

__all__ = [
    "bernoulli", "poisson", "direct", "latency", "LATENCY_METHODS", "delta",
    "spike_count", "firing_rate", "first_spike_time", "max_membrane", "mean_membrane",
    "last_membrane", "accuracy",
    "spike_count_cross_entropy", "count_mse", "max_membrane_cross_entropy",
    "mean_membrane_cross_entropy", "first_spike_time_loss", "soft_first_spike_time",
    "SpikeCountCrossEntropy", "CountMSE", "MaxMembraneCrossEntropy", "MeanMembraneCrossEntropy",
    "FirstSpikeTimeLoss",
]
