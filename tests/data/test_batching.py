"""collate_time_major / collate_for: [T, B, ...] batches, per-sample and per-step labels."""

import pytest
import torch
from torch.utils.data import DataLoader, Subset, default_collate

from spikeforge.data import collate_for, collate_time_major, is_sequence_dataset


class Sequences(torch.utils.data.Dataset):
    is_sequence = True

    def __init__(self, per_step=False, n=5, t=7):
        self.x = torch.randn(n, t, 3, generator=torch.Generator().manual_seed(0))
        self.y = torch.arange(n * t).reshape(n, t) % 4 if per_step else torch.arange(n)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class Images(torch.utils.data.Dataset):
    is_sequence = False

    def __len__(self):
        return 4

    def __getitem__(self, i):
        return torch.full((1, 2, 2), float(i)), torch.tensor(i)


def test_one_label_per_sample():
    ds = Sequences()
    x, y = collate_time_major([ds[0], ds[3], ds[4]])
    assert x.shape == (7, 3, 3) and y.shape == (3,) and y.dtype == torch.int64
    assert torch.equal(x[:, 1], ds.x[3]) and y.tolist() == [0, 3, 4]


def test_one_label_per_step():
    ds = Sequences(per_step=True)
    x, y = collate_time_major([ds[1], ds[2]])
    assert x.shape == (7, 2, 3) and y.shape == (7, 2)
    assert torch.equal(y[:, 0], ds.y[1]) and torch.equal(y[:, 1], ds.y[2])


def test_python_int_labels():
    x, y = collate_time_major([(torch.zeros(4, 2), 1), (torch.ones(4, 2), 0)])
    assert y.tolist() == [1, 0] and y.dtype == torch.int64 and x[:, 1].eq(1).all()


def test_errors():
    with pytest.raises(ValueError, match=r"sample 0 is \(5, 3\), sample 1 is \(6, 3\).*n_time_bins"):
        collate_time_major([(torch.zeros(5, 3), 0), (torch.zeros(6, 3), 1)])
    with pytest.raises(ValueError, match="empty batch"):
        collate_time_major([])
    with pytest.raises(ValueError, match=r"scalars or one per step \[T=5\], got shape \(2,\)"):
        collate_time_major([(torch.zeros(5, 3), torch.zeros(2)), (torch.zeros(5, 3), torch.zeros(2))])
    with pytest.raises(ValueError, match=r"\[T, \.\.\.\], got scalars"):
        collate_time_major([(torch.tensor(1.0), 0)])


def test_collate_for_picks_by_dataset():
    assert collate_for(Sequences()) is collate_time_major
    assert collate_for(Images()) is default_collate
    assert collate_for([1, 2]) is default_collate  # no is_sequence: not a sequence
    nested = Subset(Subset(Sequences(), [0, 1, 2]), [0, 1])
    assert is_sequence_dataset(nested) and collate_for(nested) is collate_time_major


def test_data_loader_end_to_end():
    seq = Sequences(per_step=True)
    x, y = next(iter(DataLoader(seq, batch_size=4, collate_fn=collate_for(seq))))
    assert x.shape == (7, 4, 3) and y.shape == (7, 4)
    images = Images()
    x, y = next(iter(DataLoader(images, batch_size=4, collate_fn=collate_for(images))))
    assert x.shape == (4, 1, 2, 2) and y.tolist() == [0, 1, 2, 3]
