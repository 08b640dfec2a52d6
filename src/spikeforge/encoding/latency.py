r"""Latency (time-to-first-spike) coding: the brighter the input, the earlier its one spike.

Each intensity :math:`x \in [0, 1]` emits at most one spike, at step

.. math::
    t(x) = \begin{cases}
        \operatorname{round}\big((1 - x)(T - 1)\big) & \text{linear} \\
        \min\big(\operatorname{round}(\tau \ln \tfrac{x}{x - \vartheta}),\; T - 1\big) & \text{log}
    \end{cases}
    \qquad \text{for } x > \vartheta,

and inputs with :math:`x \le \vartheta` (the ``threshold``) emit no spike, in both
methods. The log code is the time an RC circuit with time constant :math:`\tau`
(in steps) charged by a current :math:`x` takes to reach :math:`\vartheta` (Guo et al.
2021; snnTorch's ``spikegen.latency``); its times beyond the window are clipped to
the last step :math:`T - 1`. With ``normalize=True`` the log times of each sample are
first rescaled so that the sample's dimmest spiking input fires at :math:`T - 1`:
:math:`t \leftarrow t \cdot (T - 1) / \max t` (the maximum over that sample's inputs
above threshold, before rounding). ``round`` is ``torch.round`` (ties to even).

Both codes are non-increasing in :math:`x`: a brighter input never fires later, and
fires strictly earlier once the difference in time exceeds a step.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_choice, check_positive
from ._checks import check_fraction, check_num_steps, check_tensor, check_unit_interval

__all__ = ["latency", "LATENCY_METHODS"]

LATENCY_METHODS = ("linear", "log")


def latency(
    x: Tensor,
    num_steps: int,
    *,
    method: str = "linear",
    tau: float = 5.0,
    threshold: float = 0.01,
    normalize: bool = False,
) -> Tensor:
    """Encode intensities as the time of a single spike (see the module docstring).

    Args:
        x: intensities in ``[0, 1]``.
        num_steps: number of time steps ``T`` (an integer >= 1).
        method: ``"linear"`` or ``"log"``.
        tau: time constant of the log code, in steps (positive; unused by ``"linear"``).
        threshold: inputs at or below it emit no spike; in ``[0, 1)``.
        normalize: ``"log"`` only: rescale each sample's times to span the window.
            A sample is one index of the first (batch) dimension.

    Returns:
        Spikes of 0.0/1.0 with ``x``'s dtype and device, at most one per input.

    Shape:
        ``x``: ``[B, ...]``; output: ``[T, B, ...]``.

    Examples:
        >>> s = latency(torch.tensor([[1.0, 0.5, 0.0]]), 5)
        >>> s[:, 0].T  # x = 1 fires at t = 0, x = 0.5 at t = 2, x = 0 never
        tensor([[1., 0., 0., 0., 0.],
                [0., 0., 1., 0., 0.],
                [0., 0., 0., 0., 0.]])
    """
    check_tensor(x, "x", min_rank=1, layout="[B, ...]")
    num_steps = check_num_steps(num_steps)
    check_choice(method, LATENCY_METHODS, "method")
    check_positive(tau, "tau")
    threshold = check_fraction(threshold, "threshold", closed_above=False)
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be a bool, got {type(normalize).__name__}")
    check_unit_interval(x, "x")

    xw = x.to(torch.promote_types(x.dtype, torch.float32))
    fire = xw > threshold
    last = num_steps - 1
    if method == "linear":
        t = (1.0 - xw) * last
    else:
        safe = torch.where(fire, xw, torch.ones_like(xw))  # keeps log finite where x <= threshold
        t = -tau * torch.log1p(-threshold / safe)  # tau * ln(x / (x - threshold))
        if normalize and x.numel():
            t_max = torch.where(fire, t, torch.zeros_like(t)).reshape(x.shape[0], -1).amax(1)
            t_max = t_max.view(-1, *([1] * (x.dim() - 1)))
            t = torch.where(t_max > 0, t * last / t_max.clamp_min(torch.finfo(t.dtype).tiny), t)
    steps = t.round().clamp(0, last).long()

    time = torch.arange(num_steps, device=x.device).view(num_steps, *([1] * x.dim()))
    return ((time == steps) & fire).to(x.dtype)
