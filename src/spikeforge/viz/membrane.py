"""Membrane-potential traces of one neuron, with its threshold and spikes."""

from __future__ import annotations

from numbers import Real
from typing import Any

import torch
from torch import Tensor

from ._figure import as_time_by_neuron, new_axes, time_axis


def membrane_trace(
    v: Tensor,
    *,
    spikes: Tensor | None = None,
    threshold: float | Tensor | None = None,
    neuron: int = 0,
    sample: int = 0,
    dt: float | None = None,
    ax: Any = None,
    title: str | None = None,
    color: str = "tab:blue",
    ylabel: str = "membrane potential",
) -> Any:
    """Plot one neuron's membrane potential over time, as in a textbook figure.

    Args:
        v: membrane potentials, ``[T]`` (one neuron), ``[T, N]`` or ``[T, B, ...]``
            (features flattened into ``N``), e.g. ``lif.record(x)[1].v``.
        spikes: the neuron's output spikes, same shape as ``v``; each is drawn as a
            vertical line from the membrane up above the threshold.
        threshold: a constant (float or 0-d tensor), drawn as a dashed horizontal
            line, or a ``[T, ...]`` tensor shaped like ``v`` (an adaptive threshold),
            drawn as a dashed trace.
        neuron: index into the flattened features.
        sample: which batch element, for ``[T, B, ...]`` inputs.
        dt: time step in seconds; when given the x axis is in ms, else in steps.
        ax: the ``matplotlib`` axes to draw on; a new figure's when ``None``.
        title: axes title.
        color: colour of the membrane trace.
        ylabel: y axis label.

    Returns:
        The ``Axes``. Its lines are the membrane (first) and a threshold trace; the
        spikes are a ``LineCollection`` with one segment per spike.

    Examples:
        >>> lif = LIF(10, tau_mem=20e-3)
        >>> spikes, trace = lif.record(torch.rand(200, 1, 10) * 2)
        >>> ax = membrane_trace(trace.v, spikes=spikes, threshold=1.0, neuron=3, dt=1e-3)
    """
    trace = _one_neuron(v, "v", neuron, sample)
    times, xlabel = time_axis(trace.shape[0], dt)
    ax = new_axes(ax)
    ax.plot(times.numpy(), trace.numpy(), color=color, linewidth=1.2, label="membrane")
    top = float(trace.max()) if trace.numel() else 0.0

    if threshold is not None:
        if isinstance(threshold, Real) or (isinstance(threshold, Tensor) and threshold.dim() == 0):
            level = float(threshold)
            ax.axhline(level, color="tab:red", linestyle="--", linewidth=1.0, label="threshold")
            top = max(top, level)
        elif isinstance(threshold, Tensor):
            th = _one_neuron(threshold, "threshold", neuron, sample, like=v)
            ax.plot(times.numpy(), th.numpy(), color="tab:red", linestyle="--", linewidth=1.0, label="threshold")
            top = max(top, float(th.max()) if th.numel() else top)
        else:
            raise TypeError(f"threshold must be a number or a torch.Tensor, got {type(threshold).__name__}")

    if spikes is not None:
        s = _one_neuron(spikes, "spikes", neuron, sample, like=v)
        bottom = float(trace.min()) if trace.numel() else 0.0
        peak = top + 0.25 * max(top - bottom, 1e-3)
        idx = s.nonzero(as_tuple=True)[0]
        ax.vlines(times[idx].numpy(), trace[idx].numpy(), peak, color="black", linewidth=1.0, label="spike")

    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
    return ax


def _one_neuron(x: Any, name: str, neuron: int, sample: int, like: Tensor | None = None) -> Tensor:
    """``x``'s trace of one neuron, ``[T]`` float64; checks the shape against ``like``."""
    if like is not None and isinstance(x, Tensor) and tuple(x.shape) != tuple(like.shape):
        raise ValueError(f"{name} must have the shape of v {tuple(like.shape)}, got {tuple(x.shape)}")
    x2 = as_time_by_neuron(x, name, sample)
    count = x2.shape[1]
    if isinstance(neuron, bool) or not isinstance(neuron, int) or not -count <= neuron < count:
        raise ValueError(f"neuron {neuron!r} is out of range: {name} has {count} neurons per sample")
    return x2[:, neuron].to(torch.float64)
