"""build_dataset: every name, plain options, the Tonic path with a fake module, and errors."""

import sys
import types

import pytest
import torch

from spikeforge.data import (
    DATASETS, MNIST, QTDB, Digits, SequentialMNIST, TonicFrames, build_dataset, pixel_permutation,
)

from ._shared import SHARED_DATA, require
from .test_events import EVENTS, SENSOR


def test_names():
    assert DATASETS == ("digits", "mnist", "smnist", "psmnist", "qtdb", "ecg", "tonic", "evidence", "store_recall")


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown data set 'cifar'; expected one of digits, mnist, smnist"):
        build_dataset("cifar", train=True)


def test_unknown_option_lists_the_accepted_ones():
    with pytest.raises(TypeError, match=r"build_dataset\('digits'\) got unknown option\(s\) \['mode'\]; "
                                        r"it accepts: test_fraction, split_seed"):
        build_dataset("digits", train=True, mode="row")


def test_train_is_keyword_only_and_required():
    with pytest.raises(TypeError):
        build_dataset("digits")


def test_digits_with_options():
    pytest.importorskip("sklearn")
    ds = build_dataset(" Digits ", train=False, test_fraction=0.5, split_seed=2)
    assert isinstance(ds, Digits) and len(ds) in range(890, 910)


def test_mnist_family():
    root = require(SHARED_DATA)
    mnist = build_dataset("mnist", train=False, root=root)
    assert isinstance(mnist, MNIST) and len(mnist) == 10000 and not mnist.train
    rows = build_dataset("smnist", train=False, root=root)
    assert isinstance(rows, SequentialMNIST) and rows.mode == "row" and rows[0][0].shape == (28, 28)
    pixels = build_dataset("smnist", train=False, root=root, mode="pixel", verify=False)
    assert pixels[0][0].shape == (784, 1) and pixels.permutation is None
    permuted = build_dataset("psmnist", train=False, root=root, permutation_seed=7)
    assert permuted.permute and torch.equal(permuted.permutation, pixel_permutation(784, 7))
    assert torch.equal(permuted[0][0][:, 0], mnist[0][0].flatten()[permuted.permutation])


def test_qtdb_and_its_alias():
    pytest.importorskip("scipy")
    root = require(SHARED_DATA / "qtdb")
    ds = build_dataset("ecg", train=False, root=root, unlabeled=-100)
    assert isinstance(ds, QTDB) and len(ds) == 141 and int((ds.y == -100).sum()) > 0
    assert isinstance(build_dataset("qtdb", train=False, root=root), QTDB)


@pytest.fixture
def fake_tonic(monkeypatch):
    """A stand-in ``tonic`` package whose ``datasets.NMNIST`` records how it was built."""

    class NMNIST(list):
        sensor_size = SENSOR
        classes = list("0123456789")

        def __init__(self, save_to, train=True, first_saccade_only=False):
            super().__init__([(EVENTS, 3)] * (3 if train else 2))
            self.save_to, self.train, self.first_saccade_only = save_to, train, first_saccade_only

    tonic = types.ModuleType("tonic")
    tonic.datasets = types.ModuleType("tonic.datasets")
    tonic.datasets.NMNIST = NMNIST
    monkeypatch.setitem(sys.modules, "tonic", tonic)
    monkeypatch.setitem(sys.modules, "tonic.datasets", tonic.datasets)
    return tonic


def test_tonic_builds_the_named_class(fake_tonic, tmp_path):
    ds = build_dataset("tonic", train=False, root=tmp_path, dataset="NMNIST", n_time_bins=4,
                       dataset_kwargs={"first_saccade_only": True})
    assert isinstance(ds, TonicFrames) and len(ds) == 2
    inner = ds.dataset
    assert inner.save_to == str(tmp_path) and inner.train is False and inner.first_saccade_only
    frames, label = ds[0]
    assert frames.shape == (4, 2, 2, 3) and int(label) == 3 and ds.num_classes == 10


def test_tonic_root_none_is_the_default_dir(fake_tonic, tmp_path, monkeypatch):
    monkeypatch.setenv("SPIKEFORGE_DATA", str(tmp_path / "d"))
    ds = build_dataset("tonic", train=True, dataset="NMNIST", time_window=10)
    assert ds.dataset.save_to == str(tmp_path / "d") and ds.num_steps is None


def test_tonic_errors(fake_tonic):
    with pytest.raises(ValueError, match="needs dataset=<name of a tonic.datasets class>"):
        build_dataset("tonic", train=True, n_time_bins=4)
    with pytest.raises(ValueError, match="tonic.datasets has no data set 'NMINST'"):
        build_dataset("tonic", train=True, dataset="NMINST", n_time_bins=4)


def test_tonic_missing_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "tonic", None)
    monkeypatch.setitem(sys.modules, "tonic.datasets", None)
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[tonic\]'"):
        build_dataset("tonic", train=True, dataset="NMNIST", n_time_bins=4)
