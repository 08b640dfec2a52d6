"""Pictures of plasticity: the STDP learning window, receptive fields, label assignments.

:func:`stdp_window` runs a rule on one pre and one post spike per ``Δt`` and plots the
weight change it makes (the seed's figure 5(b)), so the curve is what the code does, not the
formula redrawn. :func:`receptive_fields` tiles the input weights of each neuron as an image
(Diehl & Cook's figure 2); :func:`assignment_counts` shows how many neurons each class got.
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor, nn

from ._figure import new_axes, require_matplotlib

__all__ = ["window_changes", "stdp_window", "receptive_fields", "receptive_field_grid", "assignment_counts"]


def window_changes(make_rule: Callable[[nn.Linear], Any], lags: Tensor | range, *, dt: float = 1e-3,
                   w0: float = 0.5) -> tuple[Tensor, Tensor]:
    """Run a rule on one pre-post pair per lag and return ``(Δt in seconds, Δw)``.

    Args:
        make_rule: builds the rule for a 1-input, 1-output ``nn.Linear`` whose weight is ``w0``,
            e.g. ``lambda fc: PairSTDP(fc, a_pre=0.01, a_post=0.0105)``.
        lags: ``t_post - t_pre`` in steps (negative: post first).
        dt: the step of the rule, seconds.
    """
    lags = torch.as_tensor(list(lags) if isinstance(lags, range) else lags, dtype=torch.long)
    span = int(lags.abs().max()) if lags.numel() else 0
    steps = 2 * span + 3
    changes = []
    for lag in lags.tolist():
        fc = nn.Linear(1, 1, bias=False).double()
        with torch.no_grad():
            fc.weight.fill_(w0)
        rule = make_rule(fc)
        pre = torch.zeros(steps, 1, 1, dtype=torch.float64)
        post = torch.zeros_like(pre)
        t0 = span + 1
        pre[t0], post[t0 + lag] = 1.0, 1.0
        rule.sequence(pre, post)
        changes.append(-float(fc.weight.grad))
    return lags.to(torch.float64) * dt, torch.tensor(changes, dtype=torch.float64)


def stdp_window(make_rule: Callable[[nn.Linear], Any] | None = None, *, lags: Tensor | range = range(-50, 51),
                dt: float = 1e-3, w0: float = 0.5, ax: Any = None, title: str | None = "STDP learning window",
                color: str = "C0", label: str | None = None) -> Any:
    """Plot the weight change a rule makes against ``Δt = t_post - t_pre`` (in ms).

    Args:
        make_rule: as in :func:`window_changes`; default
            ``PairSTDP(fc, a_pre=1e-2, a_post=1.05e-2, tau_pre=20e-3, tau_post=20e-3, clip=False)``.
        lags: the lags in steps; dt: seconds per step; ax: axes to draw on.

    Returns:
        The ``Axes``; the curve is ``ax.lines[0]`` (Δt in ms, Δw).

    Examples:
        >>> ax = stdp_window(lambda fc: PairSTDP(fc, a_pre=0.01, a_post=0.012, tau_post=30e-3))
        >>> save_figure(ax, "stdp_window.png")
    """
    if make_rule is None:
        from ..learning.stdp import PairSTDP

        def make_rule(fc: nn.Linear) -> Any:
            return PairSTDP(fc, a_pre=1e-2, a_post=1.05e-2, tau_pre=20e-3, tau_post=20e-3, clip=False,
                            w_min=-1.0, dt=dt)

    delta_t, dw = window_changes(make_rule, lags, dt=dt, w0=w0)
    ax = new_axes(ax, figsize=(5.5, 3.5))
    ms = (delta_t * 1e3).numpy()
    ax.plot(ms, dw.numpy(), marker="o", markersize=2.5, linewidth=1.0, color=color, label=label)
    ax.axhline(0.0, color="0.6", linewidth=0.6)
    ax.axvline(0.0, color="0.6", linewidth=0.6)
    ax.set_xlabel(r"$\Delta t = t_\mathrm{post} - t_\mathrm{pre}$ (ms)")
    ax.set_ylabel(r"$\Delta w$")
    if title:
        ax.set_title(title)
    if label:
        ax.legend(frameon=False)
    return ax


def receptive_field_grid(weight: Tensor, shape: tuple[int, int] = (28, 28), ncols: int | None = None,
                         pad: int = 1) -> Tensor:
    """The rows of ``weight [n, H*W]`` as one image of ``ncols`` tiles per row (NaN between tiles)."""
    if not isinstance(weight, Tensor) or weight.dim() != 2 or weight.shape[1] != shape[0] * shape[1]:
        got = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"weight must be [n_neurons, {shape[0] * shape[1]}] (one row per neuron), got {got}")
    n = weight.shape[0]
    ncols = ncols or max(1, int(round(n ** 0.5)))
    nrows = -(-n // ncols)
    h, w = shape
    grid = torch.full((nrows * (h + pad) - pad, ncols * (w + pad) - pad), float("nan"), dtype=torch.float32)
    for k in range(n):
        r, c = divmod(k, ncols)
        tile = weight[k].detach().float().reshape(h, w)
        grid[r * (h + pad):r * (h + pad) + h, c * (w + pad):c * (w + pad) + w] = tile
    return grid


def receptive_fields(weight: Tensor | nn.Module, *, shape: tuple[int, int] = (28, 28), ncols: int | None = None,
                     ax: Any = None, title: str | None = "receptive fields", cmap: str = "hot_r",
                     vmax: float | None = None, colorbar: bool = True) -> Any:
    """Draw every neuron's input weights as a ``shape`` image, tiled in a grid.

    Args:
        weight: ``[n_neurons, H*W]`` (a ``DiehlCook`` model's ``weight``, or the model itself).
        ncols: tiles per row (default: about the square root of ``n_neurons``).
        vmax: top of the colour scale (default: the largest weight).

    Returns:
        The ``Axes``; the image is ``ax.images[0]``.
    """
    if isinstance(weight, nn.Module):
        weight = weight.weight
    grid = receptive_field_grid(weight, shape, ncols)
    size = min(12.0, 2.0 + 0.25 * grid.shape[1] / shape[1] * 2.5)
    ax = new_axes(ax, figsize=(size, size * grid.shape[0] / grid.shape[1] + 0.4))
    top = float(torch.nan_to_num(grid, nan=0.0).max()) if vmax is None else vmax
    im = ax.imshow(grid.numpy(), cmap=cmap, vmin=0.0, vmax=top or 1.0, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, shrink=0.8)
    return ax


def assignment_counts(assignments: Tensor | nn.Module, *, num_classes: int = 10, ax: Any = None,
                      title: str | None = "neurons per class") -> Any:
    """Bar chart of how many neurons each class was assigned (``-1``, unassigned, is shown apart).

    Args:
        assignments: ``[n_neurons]`` class per neuron (or a model with ``assignments``).

    Returns:
        The ``Axes``; the bars are ``ax.patches`` (one per class, then one for unassigned if any).
    """
    if isinstance(assignments, nn.Module):
        assignments = assignments.assignments
    a = torch.as_tensor(assignments).reshape(-1).long()
    counts = torch.bincount(a.clamp_min(0)[a >= 0], minlength=num_classes)[:num_classes]
    unassigned = int((a < 0).sum())
    require_matplotlib()
    ax = new_axes(ax, figsize=(5.0, 3.0))
    ax.bar(range(num_classes), counts.numpy(), color="C0")
    labels = [str(c) for c in range(num_classes)]
    if unassigned:
        ax.bar([num_classes], [unassigned], color="0.6")
        labels.append("none")
    ax.set_xticks(range(len(labels)), labels)
    ax.set_xlabel("class")
    ax.set_ylabel("neurons")
    if title:
        ax.set_title(title)
    return ax
