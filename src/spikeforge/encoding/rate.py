r"""Rate coding: independent random spikes whose probability per step carries the value.

Each input element :math:`i` fires at step :math:`t` with probability :math:`p_i`,
independently across steps and elements:

.. math::
    s_{t,i} = \mathbb{1}[u_{t,i} < p_i], \quad u_{t,i} \sim \mathcal{U}[0, 1), \qquad
    p_i = \begin{cases}
        \operatorname{clamp}(g\,x_i, 0, 1) & \text{Bernoulli (intensities } x \text{, gain } g\text{)} \\
        1 - e^{-r_i\,\Delta t} & \text{Poisson (rates } r \text{ in Hz, } \Delta t \text{ in seconds)}
    \end{cases}

For the Poisson process :math:`1 - e^{-r\Delta t}` is the probability of at least one
event in a bin of length :math:`\Delta t`; a bin holds at most one spike. The expected
spike count over :math:`T` steps is :math:`T p_i`.

Randomness comes only from ``generator`` (a ``torch.Generator``); with
``generator=None`` torch's global generator is used, as by ``torch.rand``. The
uniforms are drawn in float32 (float64 for float64 inputs), so half-precision inputs
get the same probabilities as float32 ones. Spikes are not differentiable.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_non_negative, check_positive
from ._checks import check_num_steps, check_tensor

__all__ = ["bernoulli", "poisson"]


def _sample(p: Tensor, num_steps: int, dtype: torch.dtype, generator: torch.Generator | None) -> Tensor:
    """Spikes ``[num_steps, *p.shape]`` firing with probability ``p`` per step."""
    u = torch.rand((num_steps, *p.shape), generator=generator, device=p.device, dtype=p.dtype)
    return (u < p).to(dtype)


def _work_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32)


def bernoulli(
    x: Tensor, num_steps: int, *, gain: float = 1.0, generator: torch.Generator | None = None
) -> Tensor:
    """Rate-code intensities: fire each step with probability ``clamp(gain * x, 0, 1)``.

    Args:
        x: intensities, usually in ``[0, 1]``; values outside are clamped after the gain.
        num_steps: number of time steps ``T`` (an integer >= 1).
        gain: non-negative factor applied to ``x`` before clamping.
        generator: optional ``torch.Generator`` on ``x``'s device, for reproducible spikes.

    Returns:
        Spikes of 0.0/1.0 with ``x``'s dtype and device.

    Shape:
        ``x``: ``[B, ...]``; output: ``[T, B, ...]``.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> spikes = bernoulli(torch.tensor([[0.0, 0.5, 1.0]]), 1000, generator=g)
        >>> spikes.shape, spikes.mean(0)
        (torch.Size([1000, 1, 3]), tensor([[0.0000, 0.5040, 1.0000]]))
    """
    check_tensor(x, "x", min_rank=1, layout="[B, ...]")
    num_steps = check_num_steps(num_steps)
    check_non_negative(gain, "gain")
    p = (gain * x.to(_work_dtype(x.dtype))).clamp(0.0, 1.0)
    return _sample(p, num_steps, x.dtype, generator)


def poisson(
    rates: Tensor, num_steps: int, *, dt: float = 1e-3, generator: torch.Generator | None = None
) -> Tensor:
    """Poisson spike trains: a bin of length ``dt`` spikes with probability ``1 - exp(-rate * dt)``.

    Args:
        rates: firing rates in Hz (non-negative, finite).
        num_steps: number of time steps ``T`` (an integer >= 1).
        dt: bin length in seconds (default 1 ms).
        generator: optional ``torch.Generator`` on ``rates``' device, for reproducible spikes.

    Returns:
        Spikes of 0.0/1.0 with ``rates``' dtype and device.

    Shape:
        ``rates``: ``[B, ...]``; output: ``[T, B, ...]``.

    Examples:
        >>> g = torch.Generator().manual_seed(0)
        >>> spikes = poisson(torch.full((2, 10), 50.0), 1000, dt=1e-3, generator=g)
        >>> spikes.shape
        torch.Size([1000, 2, 10])
    """
    check_tensor(rates, "rates", min_rank=1, layout="[B, ...]")
    num_steps = check_num_steps(num_steps)
    check_positive(dt, "dt")
    if rates.numel() and bool((rates < 0).any()):
        raise ValueError(f"rates must be non-negative firing rates in Hz, got a minimum of {rates.min().item():g}")
    p = -torch.expm1(-rates.to(_work_dtype(rates.dtype)) * dt)
    return _sample(p, num_steps, rates.dtype, generator)
