"""Evaluation of a model on a data set: loss, accuracy and firing rates, without gradients.

:func:`evaluate` is what :meth:`spikeforge.learning.Trainer.evaluate` and ``spikeforge
eval`` run; in a data-parallel run every process evaluates its share of each batch and
the sums are combined.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset

from .distributed import all_reduce_sum, dist_info
from .monitor import SpikeMonitor
from .objectives import Objective, objective_from_name
from .rules import run_model

__all__ = ["evaluate", "firing_rates", "batch_samples"]


@torch.no_grad()
def evaluate(model: nn.Module, data: Dataset, objective: Objective | str = "mean_membrane", *,
             batch_size: int = 256, collate_fn: Callable | None = None, device: str | torch.device = "cpu",
             limit: int | None = None, monitor: SpikeMonitor | None = None, num_workers: int = 0) -> dict[str, Any]:
    """Loss, accuracy and firing rates of ``model`` on ``data``, in eval mode, without gradients.

    Args:
        batch_size: samples per batch and process.
        limit: evaluate at most this many batches.
        monitor: a :class:`SpikeMonitor` of ``model`` to count with (e.g. one with
            ``record=True``); a new one by default.

    Returns ``{"loss", "accuracy", "rate" (spikes per neuron per step), "rate_hz",
    "samples", "layers" (one LayerActivity per spiking layer)}``. In a data-parallel run
    every process evaluates its share and the sums are combined, so all get the totals.
    """
    objective = objective if isinstance(objective, Objective) else objective_from_name(objective)
    device = torch.device(device)
    info = dist_info()
    sampler = _EvalSampler(len(data), batch_size * info.world_size, info.rank, info.world_size, limit)
    loader = DataLoader(data, batch_sampler=sampler, collate_fn=collate_fn, num_workers=num_workers,
                        generator=torch.Generator(), pin_memory=device.type == "cuda")
    monitor = monitor or SpikeMonitor(model)
    was_training = model.training
    model.eval()
    sums = {"loss_sum": 0.0, "count": 0.0, "correct": 0.0, "scored": 0.0, "samples": 0.0}
    try:
        with monitor:
            for x, y in loader:
                x = x.to(device, non_blocking=True)
                y = objective.prepare_target(y.to(device, non_blocking=True))
                out, _ = run_model(model, x)
                count = objective.count(y)
                if count:
                    sums["loss_sum"] += float(objective.loss(out, y)) * count
                sums["count"] += count
                right, scored = objective.correct(out, y)
                sums["correct"] += right
                sums["scored"] += scored
                sums["samples"] += batch_samples(y, objective)
    finally:
        model.train(was_training)
    if info.active:
        keys = sorted(sums)
        sums = dict(zip(keys, all_reduce_sum([sums[k] for k in keys], device)))
        monitor.all_reduce()
    rate, rate_hz = firing_rates(monitor)
    return {
        "loss": sums["loss_sum"] / sums["count"] if sums["count"] else None,
        "accuracy": sums["correct"] / sums["scored"] if sums["scored"] else None,
        "rate": rate,
        "rate_hz": rate_hz,
        "samples": int(sums["samples"]),
        "layers": monitor.activity(),
    }


class _EvalSampler:
    """Dataset order, batches of ``global_size`` split over processes; empty shares are skipped."""

    def __init__(self, n: int, global_size: int, rank: int, world: int, limit: int | None) -> None:
        self.n, self.size, self.rank, self.world, self.limit = n, global_size, rank, world, limit

    def _batches(self) -> list[list[int]]:
        out = []
        for i, start in enumerate(range(0, self.n, self.size)):
            if self.limit is not None and i >= self.limit:
                break
            share = torch.tensor_split(torch.arange(start, min(start + self.size, self.n)), self.world)[self.rank]
            if share.numel():
                out.append(share.tolist())
        return out

    def __iter__(self):
        return iter(self._batches())

    def __len__(self) -> int:
        return len(self._batches())


def batch_samples(y: Tensor, objective: Objective) -> int:
    """Samples in a batch of targets (per-step targets are ``[T, B]``)."""
    return int(y.shape[1] if objective.per_step else y.shape[0])


def firing_rates(monitor: SpikeMonitor) -> tuple[float, float | None]:
    """Spikes per neuron per step over all spiking layers, and in Hz when every layer has a ``dt``."""
    spikes = neuron_steps = seconds = 0.0
    has_dt = True
    for row in monitor.activity():
        spikes += row.spikes
        neuron_steps += row.neurons * row.sample_steps
        if row.dt is None:
            has_dt = False
        else:
            seconds += row.neurons * row.sample_steps * row.dt
    rate = spikes / neuron_steps if neuron_steps else 0.0
    rate_hz = (spikes / seconds if seconds else 0.0) if has_dt else None
    return rate, rate_hz
