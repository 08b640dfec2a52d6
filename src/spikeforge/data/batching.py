"""Batching samples the way spikeforge's modules read them: time-major ``[T, B, ...]``.

Sequence data sets (:class:`~spikeforge.data.QTDB`, :class:`~spikeforge.data.SequentialMNIST`,
:class:`~spikeforge.data.TonicFrames`) yield time-first samples ``x [T, ...]``; the
networks take ``[T, B, ...]``. :func:`collate_time_major` stacks samples along a new
dimension 1. Labels become ``[B]`` (one per sample) or ``[T, B]`` (one per step, as
QTDB's). :func:`collate_for` picks that function for sequence data sets (``is_sequence``
is true) and torch's ``default_collate`` (``[B, ...]``) for the others.

Errors: samples of different lengths or shapes raise ``ValueError`` saying which ones
(fix with a fixed number of bins, e.g. ``TonicFrames(..., n_time_bins=N)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import Subset, default_collate

__all__ = ["collate_time_major", "collate_for", "is_sequence_dataset"]


def _stack(items: Sequence[Tensor], what: str) -> Tensor:
    first = tuple(items[0].shape)
    for i, item in enumerate(items):
        if tuple(item.shape) != first:
            raise ValueError(
                f"cannot batch {what} of different shapes: sample 0 is {first}, sample {i} is "
                f"{tuple(item.shape)}; expected one shape [T, ...] (use a fixed number of time "
                f"steps, e.g. TonicFrames(..., n_time_bins=N))"
            )
    return torch.stack(list(items), dim=1)


def collate_time_major(batch: Sequence[tuple[Any, Any]]) -> tuple[Tensor, Tensor]:
    """Stack ``(x [T, ...], label)`` samples into ``(x [T, B, ...], labels [B] or [T, B])``.

    A scalar label per sample gives ``[B]``; a label sequence ``[T]`` per sample gives
    ``[T, B]``, aligned with ``x``.

    Examples:
        >>> batch = [(torch.zeros(5, 3), torch.tensor(1)), (torch.ones(5, 3), torch.tensor(0))]
        >>> x, y = collate_time_major(batch)
        >>> x.shape, y.shape
        (torch.Size([5, 2, 3]), torch.Size([2]))
    """
    if len(batch) == 0:
        raise ValueError("cannot collate an empty batch")
    xs = [torch.as_tensor(x) for x, _ in batch]
    ys = [torch.as_tensor(y) for _, y in batch]
    if xs[0].dim() == 0:
        raise ValueError("collate_time_major needs samples x of shape [T, ...], got scalars")
    x = _stack(xs, "samples")
    if ys[0].dim() == 0:
        return x, torch.stack(ys)
    if ys[0].dim() == 1 and ys[0].shape[0] == x.shape[0]:
        return x, _stack(ys, "labels")  # per-step labels [T, B]
    raise ValueError(
        f"labels must be scalars or one per step [T={x.shape[0]}], got shape {tuple(ys[0].shape)}"
    )


def is_sequence_dataset(dataset: Any) -> bool:
    """Whether ``dataset`` (or the data set under a ``Subset``) yields ``[T, ...]`` samples."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return bool(getattr(dataset, "is_sequence", False))


def collate_for(dataset: Any) -> Callable[[Sequence[Any]], Any]:
    """The ``collate_fn`` for ``dataset``: time-major for sequences, ``default_collate`` else.

    Examples:
        >>> loader = DataLoader(ds, batch_size=64, collate_fn=collate_for(ds))  # doctest: +SKIP
    """
    return collate_time_major if is_sequence_dataset(dataset) else default_collate
