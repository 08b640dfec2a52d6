r"""Direct (constant-current) coding: the analog value itself is the input of every step.

.. math::
    x_{t} = x \qquad \text{for } t = 0, \dots, T - 1.

The first spiking layer then turns the current into spikes (Rueckauer et al. 2017;
Wu et al. 2019). No randomness, no information lost, and gradients flow back to ``x``.
"""

from __future__ import annotations

from torch import Tensor

from ._checks import check_num_steps, check_tensor

__all__ = ["direct"]


def direct(x: Tensor, num_steps: int) -> Tensor:
    """Repeat ``x`` over ``num_steps`` time steps.

    The result is an *expanded view* of ``x`` (no copy, stride 0 along time): it
    shares memory with ``x`` and must not be written in place; call ``.contiguous()``
    (or ``.clone()``) if a writable copy is needed. It is differentiable: the
    gradient reaching ``x`` is the sum over time.

    Args:
        x: analog input, any finite floating-point values.
        num_steps: number of time steps ``T`` (an integer >= 1).

    Returns:
        ``x`` repeated along a new leading time axis.

    Shape:
        ``x``: ``[B, ...]``; output: ``[T, B, ...]``.

    Examples:
        >>> direct(torch.tensor([[0.25, 1.5]]), 3)
        tensor([[[0.2500, 1.5000]],
        <BLANKLINE>
                [[0.2500, 1.5000]],
        <BLANKLINE>
                [[0.2500, 1.5000]]])
    """
    check_tensor(x, "x", min_rank=1, layout="[B, ...]")
    num_steps = check_num_steps(num_steps)
    return x.unsqueeze(0).expand(num_steps, *x.shape)
