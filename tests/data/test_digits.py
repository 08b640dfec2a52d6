"""Digits: scikit-learn's 8x8 digits, scaled, and a seeded stratified split that never overlaps."""

import sys

import numpy as np
import pytest
import torch

datasets = pytest.importorskip("sklearn.datasets")

from spikeforge.data import Digits  # noqa: E402


@pytest.fixture(scope="module")
def raw():
    return datasets.load_digits()


def test_shapes_types_and_range():
    ds = Digits(train=True)
    image, label = ds[0]
    assert image.shape == (1, 8, 8) == ds.input_shape and image.dtype == torch.float32
    assert label.dtype == torch.int64 and label.dim() == 0
    assert float(ds.data.min()) == 0.0 and float(ds.data.max()) == 1.0
    assert ds.num_classes == 10 and not ds.is_sequence and ds.num_steps is None


def test_values_are_counts_over_16(raw):
    ds = Digits(train=False)
    np.testing.assert_allclose(ds.data[:, 0].numpy(), raw.images[ds.indices] / 16, rtol=0, atol=1e-7)
    np.testing.assert_array_equal(ds.targets.numpy(), raw.target[ds.indices])


def test_split_is_disjoint_complete_and_stratified(raw):
    train, test = Digits(train=True), Digits(train=False)
    assert len(train) == 1438 and len(test) == 359
    assert set(train.indices).isdisjoint(test.indices)
    assert sorted([*train.indices, *test.indices]) == list(range(1797))
    per_class = np.bincount(raw.target)
    expected_test = np.round(0.2 * per_class).astype(int)
    np.testing.assert_array_equal(np.bincount(test.targets.numpy(), minlength=10), expected_test)


def test_split_is_deterministic_and_seeded():
    a, b = Digits(train=False, split_seed=5), Digits(train=False, split_seed=5)
    np.testing.assert_array_equal(a.indices, b.indices)
    assert not np.array_equal(a.indices, Digits(train=False, split_seed=6).indices)
    assert len(Digits(train=False, test_fraction=0.5)) in range(890, 910)


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 2])
def test_bad_fraction(fraction):
    with pytest.raises(ValueError, match=r"test_fraction must be in \(0, 1\)"):
        Digits(test_fraction=fraction)


def test_sklearn_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[data\]'"):
        Digits()
