"""The data order: seeded per epoch, the same global batches for any number of processes, resumable."""

from __future__ import annotations

import pytest
import torch

from spikeforge.learning import EpochBatchSampler, epoch_seed


def batches(**kw):
    return list(EpochBatchSampler(**{"num_samples": 23, "batch_size": 6, **kw}))


def test_order_depends_on_seed_and_epoch_only():
    assert batches(seed=1, epoch=2) == batches(seed=1, epoch=2)
    assert batches(seed=1, epoch=2) != batches(seed=1, epoch=3) != batches(seed=2, epoch=2)
    assert epoch_seed(0, 1) != epoch_seed(1, 0)
    state = torch.get_rng_state()
    batches()
    assert torch.equal(state, torch.get_rng_state())  # the global generator is not touched
    flat = sorted(i for b in batches() for i in b)
    assert flat == list(range(23)) and [len(b) for b in batches()] == [6, 6, 6, 5]
    assert [len(b) for b in batches(drop_last=True)] == [6, 6, 6]
    assert batches(shuffle=False)[0] == [0, 1, 2, 3, 4, 5]


def test_shards_make_up_the_global_batches():
    whole = batches(seed=4)
    parts = [batches(seed=4, rank=r, world_size=3) for r in range(3)]
    for i, batch in enumerate(whole):
        assert sum((p[i] for p in parts), []) == batch
    assert [len(b) for b in parts[2]] == [2, 2, 2, 1]


def test_start_and_limit():
    assert batches(seed=5, start=2) == batches(seed=5)[2:]
    assert len(EpochBatchSampler(23, 6, start=1)) == 3 and len(EpochBatchSampler(23, 6, limit=2)) == 2
    assert EpochBatchSampler(5, 4, world_size=2).global_batches() == 1  # 1 sample left for 2 processes: dropped
    with pytest.raises(ValueError, match="smaller than the 4 processes"):
        EpochBatchSampler(10, 2, world_size=4)
