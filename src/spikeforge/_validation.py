"""Input checks shared by the whole package.

Every check raises an exception whose message says what was wrong and what was
expected. Checks that read tensor values (finiteness, positivity) cost one pass
over the data and a device synchronisation; they are skipped while
``torch.compile`` traces, where they would only break the graph.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor


def _tracing() -> bool:
    return torch.compiler.is_compiling()


def check_floating(x: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` is a floating-point tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a floating-point tensor (float16/bfloat16/float32/float64), "
            f"got dtype {x.dtype}; convert it with .float()"
        )


def check_rank(x: Tensor, min_rank: int, name: str, layout: str) -> None:
    """Raise ``ValueError`` unless ``x`` has at least ``min_rank`` dimensions."""
    if x.dim() < min_rank:
        raise ValueError(
            f"{name} must have at least {min_rank} dimensions laid out as {layout}, "
            f"got shape {tuple(x.shape)}"
        )


def check_finite(x: Tensor, name: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or Inf.

    A finite sum proves every element finite, and a sum reads ``x`` once without
    allocating; only a non-finite sum (NaN/Inf present, or an overflow) needs the
    element-wise test.
    """
    if _tracing() or x.numel() == 0:
        return
    if bool(torch.isfinite(x.sum())):
        return
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or Inf values; expected finite numbers")


def check_input(x: Any, min_rank: int, name: str, layout: str) -> None:
    """Type, rank and finiteness of a neuron input in one call."""
    check_floating(x, name)
    check_rank(x, min_rank, name, layout)
    check_finite(x, name)


def check_positive(value: Any, name: str) -> None:
    """Raise ``ValueError`` unless every element of ``value`` is > 0 and finite."""
    if _tracing():
        return
    t = torch.as_tensor(value)
    if t.numel() == 0:
        raise ValueError(f"{name} must not be empty")
    if not bool(torch.isfinite(t).all()) or not bool((t > 0).all()):
        raise ValueError(f"{name} must be positive and finite, got {_show(t)}")


def check_non_negative(value: Any, name: str) -> None:
    """Raise ``ValueError`` unless every element of ``value`` is >= 0 and finite."""
    if _tracing():
        return
    t = torch.as_tensor(value)
    if not bool(torch.isfinite(t).all()) or not bool((t >= 0).all()):
        raise ValueError(f"{name} must be non-negative and finite, got {_show(t)}")


def check_threshold_above_reset(v_threshold: Any, v_reset: Any) -> None:
    """Raise ``ValueError`` unless the threshold lies above the reset value everywhere."""
    if _tracing():
        return
    th, rs = torch.as_tensor(v_threshold), torch.as_tensor(v_reset)
    if not bool(torch.isfinite(th).all()) or not bool(torch.isfinite(rs).all()):
        raise ValueError("v_threshold and v_reset must be finite")
    if not bool((th > rs).all()):
        raise ValueError(
            f"v_threshold must be greater than v_reset, got v_threshold={_show(th)} "
            f"and v_reset={_show(rs)}"
        )


def check_choice(value: Any, choices: tuple[str, ...], name: str) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")


def _show(t: Tensor) -> str:
    if t.numel() == 1:
        return f"{t.item():g}"
    return f"a tensor of shape {tuple(t.shape)} with min {t.min().item():g}"
