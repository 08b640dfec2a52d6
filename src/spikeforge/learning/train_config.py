"""The plain-data settings of a training run (:class:`TrainConfig`), validated when built."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from .weight_average import check_decay

__all__ = ["TrainConfig"]


@dataclass
class TrainConfig:
    """Plain-data settings of a run (the ``train`` section of a recipe plus seed, optimizer, schedule).

    Attributes:
        epochs: passes over the training set.
        batch_size: the global batch size (split over processes in data-parallel runs).
        eval_batch_size: batch size for evaluation (default ``batch_size``).
        seed: seeds the generators, the data order of every epoch and the processes.
        optimizer: see :func:`spikeforge.learning.optim.build_optimizer`.
        schedule: see :func:`spikeforge.learning.optim.build_scheduler`.
        clip_grad_norm: clip the global gradient norm to this value.
        clip_grad_value: clip each gradient element to ``[-v, v]`` (applied first).
        tbptt: truncate backpropagation to chunks of this many time steps (time-major data).
        tbptt_update: ``"sequence"`` (one optimizer step per batch) or ``"chunk"`` (one per chunk).
        limit_batches: train on at most this many batches per epoch (smoke tests).
        limit_eval_batches: evaluate on at most this many batches.
        eval_every: evaluate every this many epochs (and after the last).
        checkpoint_every: also write a checkpoint every this many batches (0: at epoch ends only).
        num_workers: ``DataLoader`` worker processes.
        drop_last: drop the last training batch of an epoch when it is smaller than ``batch_size``.
        weight_average: evaluate (and report) with an exponential moving average of the weights
            with this decay per optimizer step, e.g. ``0.995`` (see
            :class:`~spikeforge.learning.weight_average.WeightAverage`); ``None``: the last weights.
    """

    epochs: int = 10
    batch_size: int = 64
    eval_batch_size: int | None = None
    seed: int = 0
    optimizer: dict = field(default_factory=lambda: {"name": "adam", "lr": 1e-3})
    schedule: dict = field(default_factory=lambda: {"name": "constant"})
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None
    tbptt: int | None = None
    tbptt_update: str = "sequence"
    limit_batches: int | None = None
    limit_eval_batches: int | None = None
    eval_every: int = 1
    checkpoint_every: int = 0
    num_workers: int = 0
    drop_last: bool = False
    weight_average: float | None = None

    def __post_init__(self) -> None:
        for name in ("epochs", "batch_size"):
            _check_int(getattr(self, name), name, minimum=1)
        for name in ("eval_batch_size", "tbptt", "limit_batches", "limit_eval_batches"):
            if getattr(self, name) is not None:
                _check_int(getattr(self, name), name, minimum=1)
        for name in ("eval_every",):
            _check_int(getattr(self, name), name, minimum=1)
        for name in ("checkpoint_every", "num_workers", "seed"):
            _check_int(getattr(self, name), name, minimum=0)
        for name in ("clip_grad_norm", "clip_grad_value"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, (int, float)) and not isinstance(value, bool)
                                          and value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be a positive number or null, got {value!r}")
        if self.weight_average is not None:
            check_decay(self.weight_average)
        if self.tbptt_update not in ("sequence", "chunk"):
            raise ValueError(f"tbptt_update must be 'sequence' or 'chunk', got {self.tbptt_update!r}")
        self.optimizer = dict(self.optimizer)
        self.schedule = dict(self.schedule or {"name": "constant"})

    @classmethod
    def from_dict(cls, settings: Mapping[str, Any]) -> "TrainConfig":
        """Build from a mapping; an unknown key raises ``ValueError`` listing the valid ones."""
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = [k for k in settings if k not in names]
        if unknown:
            raise ValueError(f"unknown training setting {', '.join(map(repr, unknown))}; valid: {', '.join(names)}")
        return cls(**dict(settings))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_int(value: Any, name: str, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
