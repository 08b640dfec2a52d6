"""scikit-learn's bundled 8x8 handwritten digits (the UCI "optical recognition" test set).

The data: 1,797 images of 8x8 pixels, each pixel a count 0-16 (Alpaydin & Kaynak 1998,
UCI Machine Learning Repository), shipped inside scikit-learn
(``sklearn.datasets.load_digits``), so it loads with no network and no files: the
quickest real data set for smoke tests and examples.

Items: ``(image, label)`` with ``image`` float32 ``[1, 8, 8]`` in ``[0, 1]`` (count / 16)
and ``label`` an int64 scalar tensor. There is no official split: this one is stratified
and seeded (``split_seed``), ``round(test_fraction * n_c)`` images of each class ``c`` go
to the test set, so train and test never overlap and the class proportions match.

Needs scikit-learn (extra ``spikeforge[data]``), imported when the data set is built.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ._files import import_optional

__all__ = ["Digits", "split_indices"]


def split_indices(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified seeded split: sorted ``(train, test)`` index arrays, disjoint, covering all."""
    rng = np.random.default_rng(seed)
    test = []
    for c in np.unique(labels):
        members = np.flatnonzero(labels == c)
        n_test = int(round(test_fraction * len(members)))
        test.append(rng.permutation(members)[:n_test])
    test = np.sort(np.concatenate(test))
    train = np.setdiff1d(np.arange(len(labels)), test)
    return train, test


class Digits(Dataset):
    """The 8x8 digits as ``(image [1, 8, 8] float32 in [0, 1], label int64)``.

    Args:
        train: the training part (``True``) or the test part of the split.
        test_fraction: share of each class held out for testing, in ``(0, 1)``.
        split_seed: seed of the split; the same seed gives the same split everywhere.

    Attributes:
        data: float32 ``[N, 1, 8, 8]``; targets: int64 ``[N]``; indices: the rows of
        ``load_digits()`` in this part.

    Examples:
        >>> train, test = Digits(train=True), Digits(train=False)
        >>> len(train), len(test), train[0][0].shape
        (1438, 359, torch.Size([1, 8, 8]))
    """

    is_sequence = False
    per_step_labels = False
    num_classes = 10
    input_shape = (1, 8, 8)
    num_steps = None

    def __init__(self, train: bool = True, test_fraction: float = 0.2, split_seed: int = 0) -> None:
        if not isinstance(train, bool):
            raise TypeError(f"train must be True or False, got {train!r}")
        if not 0.0 < float(test_fraction) < 1.0:
            raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction!r}")
        datasets = import_optional("sklearn.datasets", extra="data", needed_by="Digits")
        bunch = datasets.load_digits()
        images = np.asarray(bunch.images, dtype=np.float32) / 16.0
        labels = np.asarray(bunch.target, dtype=np.int64)
        train_idx, test_idx = split_indices(labels, float(test_fraction), int(split_seed))
        self.train = train
        self.indices = train_idx if train else test_idx
        self.data: Tensor = torch.from_numpy(images[self.indices]).unsqueeze(1)
        self.targets: Tensor = torch.from_numpy(labels[self.indices])

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.data[index], self.targets[index]

    def __repr__(self) -> str:
        return f"Digits(split={'train' if self.train else 'test'!r}, n={len(self)})"
