"""Input checks shared by the encoders, decoders and losses.

Like :mod:`spikeforge._validation`, every check raises an exception whose message
says what was wrong and what was expected.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor

from .._validation import _tracing, check_choice, check_finite, check_floating

REDUCTIONS = ("mean", "sum", "none")


def check_num_steps(num_steps: Any) -> int:
    """Return ``num_steps`` as an ``int``; raise unless it is an integer >= 1."""
    if isinstance(num_steps, bool):
        raise TypeError(f"num_steps must be an integer >= 1, got {num_steps!r}")
    try:
        n = operator.index(num_steps)
    except TypeError:
        raise TypeError(f"num_steps must be an integer >= 1, got {type(num_steps).__name__} {num_steps!r}") from None
    if n < 1:
        raise ValueError(f"num_steps must be an integer >= 1, got {n}")
    return n


def check_exact_rank(x: Tensor, rank: int, name: str, layout: str) -> None:
    """Raise ``ValueError`` unless ``x`` has exactly ``rank`` dimensions."""
    if x.dim() != rank:
        raise ValueError(f"{name} must have exactly {rank} dimensions laid out as {layout}, got shape {tuple(x.shape)}")


def check_tensor(x: Any, name: str, *, rank: int | None = None, min_rank: int = 0, layout: str = "") -> None:
    """Floating dtype, rank (exact when ``rank`` is given, else at least ``min_rank``), finite values."""
    check_floating(x, name)
    if rank is not None:
        check_exact_rank(x, rank, name, layout)
    elif x.dim() < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions laid out as {layout}, got shape {tuple(x.shape)}"
        )
    check_finite(x, name)


def check_unit_interval(x: Tensor, name: str) -> None:
    """Raise ``ValueError`` unless every element of ``x`` lies in ``[0, 1]``."""
    if _tracing() or x.numel() == 0:
        return
    lo, hi = x.min().item(), x.max().item()
    if lo < 0 or hi > 1:
        raise ValueError(f"{name} must lie in [0, 1] (intensities), got values in [{lo:g}, {hi:g}]")


def check_fraction(value: Any, name: str, *, closed_above: bool = True) -> float:
    """Return ``value`` as a float; raise unless it is in ``[0, 1]`` (or ``[0, 1)``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    v = float(value)
    upper_ok = v <= 1 if closed_above else v < 1
    if not (v >= 0 and upper_ok):
        interval = "[0, 1]" if closed_above else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value!r}")
    return v


def check_reduction(reduction: Any) -> None:
    """Raise ``ValueError`` unless ``reduction`` is ``"mean"``, ``"sum"`` or ``"none"``."""
    check_choice(reduction, REDUCTIONS, "reduction")


def check_target(target: Any, batch: int, num_classes: int) -> None:
    """Raise unless ``target`` is an int64 tensor ``[B]`` of class indices in ``[0, C)``."""
    if not isinstance(target, Tensor):
        raise TypeError(f"target must be a torch.Tensor of class indices, got {type(target).__name__}")
    if target.dtype != torch.int64:
        raise TypeError(
            f"target must be an int64 tensor of class indices, got dtype {target.dtype}; convert it with .long()"
        )
    if tuple(target.shape) != (batch,):
        raise ValueError(
            f"target must have shape [B] = ({batch},) (one class index per sample), got {tuple(target.shape)}"
        )
    if _tracing() or target.numel() == 0:
        return
    lo, hi = target.min().item(), target.max().item()
    if lo < 0 or hi >= num_classes:
        raise ValueError(
            f"target class indices must lie in [0, {num_classes}) for C = {num_classes} classes, got [{lo}, {hi}]"
        )
