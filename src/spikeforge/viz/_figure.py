"""Lazy matplotlib access and figure saving, shared by the plotting functions.

spikeforge draws on ``matplotlib.figure.Figure`` objects directly, never through
``pyplot``: no backend is selected, no global figure registry grows, and nothing
has to be closed. Saving a figure renders it with the Agg canvas whatever backend
the user's session has chosen, and an ``ax`` the user passes in (from ``pyplot``, a
notebook, a GUI) is drawn on as it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import Tensor

_MISSING = "spikeforge.viz needs matplotlib; install it with: pip install 'spikeforge[viz]'"


def require_matplotlib() -> Any:
    """Import and return :mod:`matplotlib`, or raise ``ImportError`` naming the extra."""
    try:
        import matplotlib
        import matplotlib.figure  # noqa: F401  (used through the returned module)
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return matplotlib


def new_axes(ax: Any = None, *, figsize: tuple[float, float] = (7.0, 3.5)) -> Any:
    """``ax`` if given, else the axes of a new (pyplot-free) ``Figure``."""
    mpl = require_matplotlib()
    if ax is not None:
        return ax
    return mpl.figure.Figure(figsize=figsize, layout="constrained").add_subplot()


def as_time_by_neuron(x: Any, name: str, sample: int) -> Tensor:
    """Select one sample of a time-major tensor and flatten its features: ``[T, N]``.

    ``[T]`` is one neuron, ``[T, N]`` one sample of ``N`` neurons, ``[T, B, ...]``
    a batch (``sample`` picks one element of ``B``, the rest is flattened).
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 0:
        raise ValueError(f"{name} must be time-major ([T], [T, N] or [T, B, ...]), got a scalar")
    x = x.detach().cpu()
    if x.dim() <= 2:
        if sample != 0:
            raise ValueError(f"{name} of shape {tuple(x.shape)} holds one sample; sample must be 0, got {sample}")
        return x.reshape(x.shape[0], x.shape[1] if x.dim() == 2 else 1)
    batch = x.shape[1]
    if isinstance(sample, bool) or not isinstance(sample, int) or not -batch <= sample < batch:
        raise ValueError(
            f"sample {sample!r} is out of range for {name} of shape {tuple(x.shape)} ({batch} samples)"
        )
    return x[:, sample].reshape(x.shape[0], x.shape[2:].numel())


def time_axis(num_steps: int, dt: float | None) -> tuple[Tensor, str]:
    """The x values of ``num_steps`` steps and their label: steps, or ms when ``dt`` (s) is given."""
    steps = torch.arange(num_steps, dtype=torch.float64)
    if dt is None:
        return steps, "time step"
    if not dt > 0:
        raise ValueError(f"dt must be a positive time step in seconds, got {dt!r}")
    return steps * dt * 1e3, "time (ms)"


def save_figure(fig_or_ax: Any, path: str | Path, *, dpi: int = 150) -> Path:
    """Save a figure (or the figure an axes belongs to), creating parent folders.

    Args:
        fig_or_ax: a ``matplotlib`` ``Figure`` or ``Axes``.
        path: the file to write; PNG when it has no suffix, else the suffix's format
            (``.png``, ``.pdf``, ``.svg`` ...).
        dpi: resolution of raster formats.

    Returns:
        The path written.

    Examples:
        >>> ax = raster(spikes)
        >>> save_figure(ax, "out/raster.png")
        PosixPath('out/raster.png')
    """
    require_matplotlib()
    fig = fig_or_ax
    for _ in range(3):  # Axes -> (SubFigure ->) Figure
        if hasattr(fig, "savefig"):
            break
        fig = getattr(fig, "figure", None)
    if not hasattr(fig, "savefig"):
        raise TypeError(f"expected a matplotlib Figure or Axes, got {type(fig_or_ax).__name__}")
    path = Path(path)
    if not path.suffix:
        path = path.with_suffix(".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    return path
