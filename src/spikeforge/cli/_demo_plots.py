"""The figures of ``spikeforge demo``: spike rasters and one adaptive neuron's membrane."""

from __future__ import annotations

from pathlib import Path

from torch import Tensor

from ..viz import membrane_trace, raster, save_figure
from ..viz._figure import require_matplotlib


def raster_figure(inputs: Tensor, lif: Tensor, alif: Tensor, dt: float, path: Path, *, seed: int) -> Path:
    """Stacked rasters of sample 0: input channels, LIF layer, ALIF layer (each ``[T, B, N]``)."""
    mpl = require_matplotlib()
    fig = mpl.figure.Figure(figsize=(8.0, 7.5), layout="constrained")
    panels = [
        (inputs, "input: Poisson spike trains, rate ramping 2 to 100 Hz", "channel", "tab:gray"),
        (lif, "layer 1: LIF", "neuron", "tab:blue"),
        (alif, "layer 2: RecurrentALIF, adaptive threshold", "neuron", "tab:orange"),
    ]
    axes = fig.subplots(len(panels), 1, sharex=True, height_ratios=[p[0].shape[-1] + 24 for p in panels])
    for ax, (spikes, title, ylabel, color) in zip(axes, panels):
        n = spikes.shape[-1]
        rate = spikes[:, 0].mean().item() / dt
        raster(spikes, ax=ax, dt=dt, color=color, ylabel=ylabel,
               title=f"{title} ({n} {ylabel}s, mean {rate:.1f} Hz)")
        ax.label_outer()
    fig.suptitle(f"spikeforge demo: spike rasters of sample 0 (seed {seed})")
    return save_figure(fig, path)


def membrane_figure(spikes: Tensor, membrane: Tensor, threshold: Tensor, dt: float, path: Path) -> Path:
    """The busiest adaptive neuron of sample 0: membrane before reset, threshold, spikes."""
    neuron = int(spikes[:, 0].sum(0).argmax())
    count = int(spikes[:, 0, neuron].sum())
    ax = membrane_trace(
        membrane, spikes=spikes, threshold=threshold, neuron=neuron, dt=dt,
        ylabel="membrane potential (before reset)", color="tab:orange",
        title=f"adaptive neuron {neuron} of the RecurrentALIF layer (sample 0): "
        f"{count} spikes, each raising the threshold",
    )
    ax.figure.set_size_inches(9.0, 3.8)
    return save_figure(ax, path)
