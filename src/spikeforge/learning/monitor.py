"""Spike counts of every spiking layer of a model, gathered by forward hooks.

:class:`SpikeMonitor` finds the layers that emit spikes (the spiking neuron modules of
:mod:`spikeforge.nn`, ``LIF``/``ALIF``/``IF``/``CubaLIF`` cells and sequences, and the
recurrent layers ``RecurrentLIF``/``RecurrentALIF``, and any module with an
``emitted_spikes(output)`` method, such as the adaptive membrane readout of the ECG
network; not the non-spiking ``LI`` readout), hooks their ``forward`` and adds up what
they emit, without touching the computation (the hooks read detached outputs). The trainer uses it for the firing rate
in its progress bar and metrics; the per-layer figures (:class:`LayerActivity`) are
meant for anything that reports on activity, such as energy estimates.

Examples:
    >>> monitor = SpikeMonitor(net)
    >>> with monitor, torch.no_grad():
    ...     net(x)                      # x: [T, B, ...]
    >>> for layer in monitor.activity():
    ...     print(layer.name, layer.spikes, layer.rate)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import torch
from torch import Tensor, nn

from ..nn import NeuronModule
from ..nn.recurrent import _RecurrentBase

__all__ = ["LayerActivity", "SpikeMonitor", "spiking_layers", "spikes_are_its_output"]


@dataclass(frozen=True)
class LayerActivity:
    """What one spiking layer emitted while a monitor listened.

    Attributes:
        name: the layer's name in ``model.named_modules()``.
        kind: its class name.
        neurons: neurons per sample.
        spikes: spikes emitted in total (all samples, all steps).
        steps: time steps simulated (``T`` per sequence call, 1 per cell call, summed).
        sample_steps: time steps times batch size, summed over calls.
        batch: batch size of the last call.
        dt: the layer's time step in seconds (``None`` if it has none).
        counts: spikes per neuron summed over samples and steps, shape of one sample's neurons.
    """

    name: str
    kind: str
    neurons: int
    spikes: float
    steps: int
    sample_steps: int
    batch: int
    dt: float | None
    counts: Tensor | None = None

    @property
    def rate(self) -> float:
        """Mean spikes per neuron per time step."""
        return self.spikes / (self.neurons * self.sample_steps) if self.sample_steps else 0.0

    @property
    def rate_hz(self) -> float | None:
        """Mean firing rate in Hz (``rate / dt``), ``None`` without ``dt``."""
        return None if not self.dt else self.rate / self.dt

    @property
    def active(self) -> float | None:
        """Share of neurons that fired at least once."""
        return None if self.counts is None else float((self.counts > 0).double().mean().item())

    def spikes_per_sample(self, samples: int) -> float:
        """Spikes per inference, given how many samples the monitor saw."""
        return self.spikes / samples if samples else 0.0


def spiking_layers(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The ``(name, module)`` pairs of ``model`` that emit spikes, outermost first.

    A spiking neuron module counts unless it sits inside a recurrent layer or a module
    with an ``emitted_spikes(output)`` method (which report their neurons' spikes
    themselves); the non-spiking ``LI`` readout does not count.
    """
    found: list[tuple[str, nn.Module]] = []
    covered: list[str] = []
    for name, module in model.named_modules():
        if any(name.startswith(prefix + ".") for prefix in covered):
            continue
        if isinstance(module, _RecurrentBase) or callable(getattr(module, "emitted_spikes", None)):
            found.append((name, module))
            covered.append(name)
        elif isinstance(module, NeuronModule) and module.model.spiking:
            found.append((name, module))
    return found


def spikes_are_its_output(module: nn.Module) -> bool:
    """Whether a spiking layer's output is its spikes (not so for a module with
    ``emitted_spikes``, such as the membrane readout: its spikes only reset its neurons)."""
    return not callable(getattr(module, "emitted_spikes", None))


def _layer_dt(module: nn.Module) -> float | None:
    neuron = getattr(module, "neuron", module)
    try:
        return float(neuron.dt)
    except (AttributeError, KeyError, TypeError):
        return None


class _Counter:
    __slots__ = ("counts", "steps", "sample_steps", "batch", "records")

    def __init__(self) -> None:
        self.counts: Tensor | None = None
        self.steps = 0
        self.sample_steps = 0
        self.batch = 0
        self.records: list[Tensor] = []


class SpikeMonitor:
    """Count (and optionally keep) the spikes of each spiking layer of ``model``.

    Args:
        model: any module; its spiking layers are found by :func:`spiking_layers`
            (``DistributedDataParallel``-style wrappers with a ``.module`` work too).
        record: also keep each call's spike tensor (detached, on the CPU) in
            :attr:`records`, for rasters; leave off during training.

    Use it as a context manager (hooks are attached on entry and removed on exit) or
    call :meth:`attach`/:meth:`detach`. Counts add up over calls until :meth:`reset`.
    """

    def __init__(self, model: nn.Module, *, record: bool = False) -> None:
        self.layers = spiking_layers(model)
        self.record = bool(record)
        self._counters = {name: _Counter() for name, _ in self.layers}
        self._handles: list[Any] = []

    # -- hooks -----------------------------------------------------------------
    def attach(self) -> "SpikeMonitor":
        if not self._handles:
            for name, module in self.layers:
                self._handles.append(module.register_forward_hook(self._hook(name, module)))
        return self

    def detach(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def __enter__(self) -> "SpikeMonitor":
        return self.attach()

    def __exit__(self, *exc: Any) -> None:
        self.detach()

    def _hook(self, name: str, module: nn.Module):
        sequence = bool(getattr(module, "time_major", False))  # [T, B, ...] outputs (sequences), else [B, ...]
        reported = getattr(module, "emitted_spikes", None)
        counter = self._counters[name]

        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if callable(reported):
                spikes = reported(output)
                if spikes is None:
                    return
            else:
                spikes = output[0] if isinstance(output, tuple) else output
            spikes = spikes.detach()
            lead = 2 if sequence else 1
            per_neuron = spikes.sum(dim=tuple(range(lead)), dtype=torch.float64)
            counter.counts = per_neuron if counter.counts is None else counter.counts + per_neuron
            steps = spikes.shape[0] if sequence else 1
            counter.batch = int(spikes.shape[lead - 1])
            counter.steps += int(steps)
            counter.sample_steps += int(steps) * counter.batch
            if self.record:
                counter.records.append(spikes.cpu())

        return hook

    # -- results ---------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything counted and recorded so far."""
        self._counters = {name: _Counter() for name, _ in self.layers}
        if self._handles:  # re-bind the hooks to the new counters
            self.detach()
            self.attach()

    def activity(self) -> list[LayerActivity]:
        """One :class:`LayerActivity` per spiking layer, in model order."""
        rows = []
        for name, module in self.layers:
            c = self._counters[name]
            counts = None if c.counts is None else c.counts.cpu()
            neurons = _neurons(module) if counts is None else int(counts.numel())
            rows.append(LayerActivity(
                name=name, kind=type(module).__name__, neurons=neurons,
                spikes=0.0 if counts is None else float(counts.sum().item()),
                steps=c.steps, sample_steps=c.sample_steps, batch=c.batch, dt=_layer_dt(module),
                counts=counts,
            ))
        return rows

    @property
    def observed(self) -> bool:
        """Whether any spiking layer's ``forward`` ran since the last :meth:`reset`.

        Rules that run the neurons with their own code (e-prop, OSTL) call no layer's
        ``forward`` during training; their training rate is unknown, not zero.
        """
        return any(c.sample_steps > 0 for c in self._counters.values())

    def total_spikes(self) -> float:
        """Spikes of all layers together."""
        return sum(float(c.counts.sum().item()) for c in self._counters.values() if c.counts is not None)

    def mean_rate(self) -> float:
        """Spikes per neuron per step over all spiking layers (weighted by neurons)."""
        spikes = neuron_steps = 0.0
        for row in self.activity():
            spikes += row.spikes
            neuron_steps += row.neurons * row.sample_steps
        return spikes / neuron_steps if neuron_steps else 0.0

    @property
    def records(self) -> dict[str, list[Tensor]]:
        """With ``record=True``: each layer's spike tensors, one per call."""
        return {name: c.records for name, c in self._counters.items()}

    def __iter__(self) -> Iterator[LayerActivity]:
        return iter(self.activity())

    # -- state (for exact resume and for summing over processes) -----------------
    def state_dict(self) -> dict[str, Any]:
        """Counts as plain data and tensors (what a checkpoint stores)."""
        return {name: {"counts": None if c.counts is None else c.counts.cpu(), "steps": c.steps,
                       "sample_steps": c.sample_steps, "batch": c.batch}
                for name, c in self._counters.items()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if set(state) != set(self._counters):
            raise ValueError(f"monitor state holds layers {sorted(state)}, this model has {sorted(self._counters)}")
        for name, s in state.items():
            c = self._counters[name]
            device = _device(dict(self.layers)[name])
            c.counts = None if s["counts"] is None else s["counts"].to(device)
            c.steps, c.sample_steps, c.batch = int(s["steps"]), int(s["sample_steps"]), int(s["batch"])

    def all_reduce(self) -> None:
        """Sum the counts over the processes of the default ``torch.distributed`` group."""
        import torch.distributed as dist

        for name, module in self.layers:
            c = self._counters[name]
            device = _device(module)
            counts = c.counts if c.counts is not None else torch.zeros(_neurons(module), dtype=torch.float64,
                                                                       device=device)
            sizes = torch.tensor([c.steps, c.sample_steps], dtype=torch.float64, device=counts.device)
            flat = torch.cat([counts.reshape(-1), sizes])
            dist.all_reduce(flat)
            c.counts = flat[:-2].reshape(counts.shape)
            c.steps, c.sample_steps = int(flat[-2].item()), int(flat[-1].item())


def _neurons(module: nn.Module) -> int:
    if isinstance(module, _RecurrentBase):
        return module.hidden_size
    size = getattr(module, "size", None)
    return int(torch.Size(size).numel()) if size is not None else 0


def _device(module: nn.Module) -> torch.device:
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return torch.device("cpu")
