r"""Delta (send-on-delta) coding: ON/OFF events where a signal has changed enough.

A reference :math:`r` starts at the first sample, :math:`r_0 = x_0`, and at every step

.. math::
    s^\text{on}_t = \mathbb{1}[x_t - r_{t-1} \ge \vartheta], \qquad
    s^\text{off}_t = \mathbb{1}[r_{t-1} - x_t \ge \vartheta], \qquad
    r_t = \begin{cases} x_t & \text{if } s^\text{on}_t + s^\text{off}_t = 1 \\ r_{t-1} & \text{otherwise,} \end{cases}

with threshold :math:`\vartheta > 0`. Step 0 never spikes. A step emits at most one
event however large the change (the reference jumps to :math:`x_t`, it does not
move by :math:`\vartheta`), so events mark *when* the signal moved, and the sign says
which way. This is the level-crossing encoding Yin et al. (2021) used for ECG.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_positive
from ._checks import check_tensor

__all__ = ["delta"]


def delta(x: Tensor, threshold: float | Tensor, *, off_spikes: bool = True) -> Tensor:
    """Encode a time-major signal as ON/OFF change events (see the module docstring).

    Args:
        x: the signal, finite floating-point values.
        threshold: the change that triggers an event (positive); a tensor broadcasts
            against one step ``[B, ...]`` for a per-feature threshold.
        off_spikes: with ``False`` only the ON channel is returned. The reference
            still follows decreases, so the ON channel is the same either way.

    Returns:
        Spikes of 0.0/1.0 with ``x``'s dtype and device; channel 0 is ON (the signal
        rose), channel 1 is OFF (it fell).

    Shape:
        ``x``: ``[T, B, ...]``; output: ``[T, B, 2, ...]`` (``[T, B, 1, ...]`` with
        ``off_spikes=False``).

    Examples:
        >>> x = torch.tensor([0.0, 0.25, 0.5, 0.5, 0.0]).view(5, 1)
        >>> delta(x, 0.5)[:, 0].T  # ON at t = 2 (0.5 - 0), OFF at t = 4 (0.5 - 0)
        tensor([[0., 0., 1., 0., 0.],
                [0., 0., 0., 0., 1.]])
    """
    check_tensor(x, "x", min_rank=2, layout="[T, B, ...]")
    check_positive(threshold, "threshold")
    if isinstance(threshold, Tensor):
        threshold = threshold.to(device=x.device, dtype=x.dtype)

    ref = x[0]
    on = torch.zeros_like(x)
    off = torch.zeros_like(x)
    for t in range(1, x.shape[0]):
        rise = x[t] - ref >= threshold
        fall = ref - x[t] >= threshold
        on[t] = rise.to(x.dtype)
        off[t] = fall.to(x.dtype)
        ref = torch.where(rise | fall, x[t], ref)
    channels = (on, off) if off_spikes else (on,)
    return torch.stack(channels, dim=2)
