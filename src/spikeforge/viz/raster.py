"""Spike raster plots: one dot per spike, at (time, neuron)."""

from __future__ import annotations

from typing import Any

from torch import Tensor

from ._figure import as_time_by_neuron, new_axes, time_axis


def raster(
    spikes: Tensor,
    *,
    sample: int = 0,
    ax: Any = None,
    title: str | None = None,
    dt: float | None = None,
    color: str = "black",
    marker_size: float | None = None,
    ylabel: str = "neuron",
) -> Any:
    """Draw a spike raster: a tick at (time, neuron) for every nonzero entry.

    Args:
        spikes: time-major spikes, ``[T, N]`` (one sample) or ``[T, B, ...]`` (a
            batch; ``sample`` picks one element of ``B`` and the feature dimensions
            are flattened into the neuron axis). Any nonzero value is a spike.
        sample: which batch element to draw.
        ax: the ``matplotlib`` axes to draw on; a new figure's when ``None``.
        title: axes title.
        dt: time step in seconds; when given the x axis is in ms, else in steps.
        color: tick colour.
        marker_size: tick size in points squared; chosen from the neuron count
            when ``None``.
        ylabel: y axis label.

    Returns:
        The ``Axes``; the ticks are its first collection (``ax.collections[0]``,
        one offset per spike).

    Examples:
        >>> spikes, _ = LIF(100)(torch.rand(200, 4, 100) * 3)
        >>> ax = raster(spikes, sample=1, dt=1e-3, title="LIF layer")
        >>> save_figure(ax, "raster.png")
    """
    s = as_time_by_neuron(spikes, "spikes", sample)
    num_steps, num_neurons = s.shape
    times, xlabel = time_axis(num_steps, dt)
    t_idx, n_idx = s.nonzero(as_tuple=True)
    ax = new_axes(ax)
    if marker_size is None:
        marker_size = max(2.0, min(30.0, 1500.0 / max(num_neurons, 1)))
    ax.scatter(times[t_idx].numpy(), n_idx.numpy(), s=marker_size, marker="|", c=color, linewidths=0.8)
    if num_steps:
        half_step = 0.5 * (1.0 if dt is None else dt * 1e3)
        ax.set_xlim(float(times[0]) - half_step, float(times[-1]) + half_step)
    ax.set_ylim(-0.5, num_neurons - 0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax
