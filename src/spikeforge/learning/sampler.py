"""The order in which the trainer visits the data: seeded per epoch, sharded per process, resumable.

Epoch ``e`` of a run with seed ``s`` visits the samples in the order
``torch.randperm(n, generator=Generator().manual_seed(epoch_seed(s, e)))``, cut into
global batches of ``batch_size``; with ``world_size`` processes each global batch is split
into contiguous shares (sizes differing by at most one), process ``rank`` taking share
``rank``. One process with batch ``2b`` and two with ``b`` each therefore see the same
global batches. ``start`` skips the first batches of the epoch (a resumed run continues
where the checkpoint was taken), and nothing here draws from torch's global generator.
"""

from __future__ import annotations

from typing import Iterator

import torch

__all__ = ["epoch_seed", "EpochBatchSampler"]

_MASK = (1 << 63) - 1


def epoch_seed(seed: int, epoch: int) -> int:
    """A seed for epoch ``epoch`` of a run seeded ``seed`` (distinct for distinct pairs in practice)."""
    x = (int(seed) * 0x9E3779B97F4A7C15 + int(epoch) * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) & _MASK
    x ^= x >> 31
    return (x * 0xD6E8FEB86659FD93) & _MASK


class EpochBatchSampler:
    """Batches of indices for one epoch of one process (a ``batch_sampler`` for ``DataLoader``).

    Args:
        num_samples: size of the dataset.
        batch_size: the **global** batch size (summed over processes).
        seed, epoch: the order is a function of these two only.
        shuffle: ``False`` keeps the dataset order (evaluation).
        rank, world_size: this process's share of each global batch.
        drop_last: drop a last global batch smaller than ``batch_size``.
        limit: visit at most this many global batches per epoch.
        start: skip this many global batches at the start (resuming).

    A last global batch with fewer samples than processes is dropped (every process
    needs at least one sample).
    """

    def __init__(self, num_samples: int, batch_size: int, *, seed: int = 0, epoch: int = 0, shuffle: bool = True,
                 rank: int = 0, world_size: int = 1, drop_last: bool = False, limit: int | None = None,
                 start: int = 0) -> None:
        if batch_size < world_size:
            raise ValueError(f"the global batch size {batch_size} is smaller than the {world_size} processes")
        if num_samples < 1:
            raise ValueError("the dataset is empty")
        self.num_samples = int(num_samples)
        self.batch_size = int(batch_size)
        self.seed, self.epoch, self.shuffle = int(seed), int(epoch), bool(shuffle)
        self.rank, self.world_size = int(rank), int(world_size)
        self.drop_last = bool(drop_last)
        self.limit = None if limit is None else int(limit)
        self.start = int(start)

    def global_batches(self) -> int:
        """Global batches in the whole epoch (before ``start``)."""
        n, b = self.num_samples, self.batch_size
        full, rest = divmod(n, b)
        count = full + (1 if rest and not self.drop_last and rest >= self.world_size else 0)
        return count if self.limit is None else min(count, self.limit)

    def order(self) -> torch.Tensor:
        if not self.shuffle:
            return torch.arange(self.num_samples)
        g = torch.Generator().manual_seed(epoch_seed(self.seed, self.epoch))
        return torch.randperm(self.num_samples, generator=g)

    def global_batch(self, index: int, order: torch.Tensor | None = None) -> torch.Tensor:
        """The sample indices of global batch ``index`` (all processes together)."""
        order = self.order() if order is None else order
        return order[index * self.batch_size:(index + 1) * self.batch_size]

    def __iter__(self) -> Iterator[list[int]]:
        order = self.order()
        for i in range(self.start, self.global_batches()):
            batch = self.global_batch(i, order)
            yield torch.tensor_split(batch, self.world_size)[self.rank].tolist()

    def __len__(self) -> int:
        return max(0, self.global_batches() - self.start)
