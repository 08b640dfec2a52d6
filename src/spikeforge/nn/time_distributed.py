"""Apply a stateless layer to every time step at once by folding time into batch."""

from __future__ import annotations

from torch import Tensor, nn

from .._validation import check_rank


class TimeDistributed(nn.Module):
    """Run ``module`` on ``[T, B, ...]`` as one ``[T*B, ...]`` batch.

    For layers without state across time (``Conv2d``, pooling, ``Linear``,
    ``BatchNorm``, ``Flatten``, ``Dropout``): one large call to the BLAS/cuDNN kernel
    instead of ``T`` small ones. ``BatchNorm`` then normalises over time and batch
    together. :class:`spikeforge.nn.Sequential` wraps plain layers this way by itself.

    Shape:
        input ``[T, B, *in]``, output ``[T, B, *out]`` where ``module`` maps
        ``[N, *in]`` to ``[N, *out]``.

    Examples:
        >>> conv = TimeDistributed(nn.Conv2d(1, 8, 3))
        >>> conv(torch.rand(25, 4, 1, 28, 28)).shape
        torch.Size([25, 4, 8, 26, 26])
    """

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: Tensor) -> Tensor:
        check_rank(x, 3, "input", "[T, B, ...] (time, batch, features)")
        y = self.module(x.flatten(0, 1))
        return y.unflatten(0, x.shape[:2])
