"""QTDB (ECG): the real files of Yin et al. (2021), label conversion, and bad-file errors."""

import sys

import numpy as np
import pytest
import torch

scipy_io = pytest.importorskip("scipy.io")

from spikeforge.data import QTDB, QTDB_CLASSES, CorruptDataError, DataNotFoundError  # noqa: E402

from ._shared import QTDB_DIR, SHARED_DATA, require  # noqa: E402


@pytest.fixture(scope="module")
def train_set():
    return QTDB(require(QTDB_DIR), train=True)


@pytest.fixture(scope="module")
def test_set():
    return QTDB(require(SHARED_DATA), train=False)  # found in the qtdb/ subfolder


@pytest.fixture(scope="module")
def raw_test():
    return scipy_io.loadmat(require(QTDB_DIR) / "QTDB_test.mat")


def test_sizes_shapes_and_types(train_set, test_set):
    assert len(train_set) == 618 and len(test_set) == 141
    x, y = train_set[0]
    assert x.shape == (1301, 4) and x.dtype == torch.float32
    assert y.shape == (1301,) and y.dtype == torch.int64
    assert train_set.x.shape == (618, 1301, 4) and test_set.y.shape == (141, 1301)


def test_attributes_describe_the_data(train_set):
    assert train_set.is_sequence and train_set.per_step_labels
    assert train_set.num_classes == 6 and train_set.classes == QTDB_CLASSES
    assert train_set.input_shape == (4,) and train_set.num_steps == 1301


def test_values(train_set):
    assert bool(((train_set.x == -1) | (train_set.x == 0) | (train_set.x == 1)).all())
    assert set(torch.unique(train_set.y).tolist()) == set(range(6))


def test_labels_are_the_one_hot_index(test_set, raw_test):
    onehot = raw_test["y"]
    labelled = onehot.sum(-1) == 1
    np.testing.assert_array_equal(test_set.y.numpy()[labelled], onehot.argmax(-1)[labelled])
    np.testing.assert_array_equal(test_set.x.numpy(), raw_test["x"].astype(np.float32))
    # steps with no label take class 0, as the authors' argmax does
    assert (~labelled).sum() == 19056 and bool((test_set.y.numpy()[~labelled] == 0).all())


def test_unlabeled_steps_can_be_ignored(raw_test):
    ds = QTDB(require(QTDB_DIR), train=False, unlabeled=-100)
    assert int((ds.y == -100).sum()) == int((raw_test["y"].sum(-1) == 0).sum())
    logits = torch.zeros(1301, 6, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(logits, ds[0][1])  # ignore_index=-100 by default
    assert torch.isfinite(loss)


def test_missing_file(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        QTDB(tmp_path, train=False)
    message = str(info.value)
    assert "QTDB_test.mat" in message and str(tmp_path / "qtdb") in message
    assert "byin-cwi/Efficient-spiking-networks" in message and "--data-dir" in message


def test_truncated_file_names_it(tmp_path):
    data = (require(QTDB_DIR) / "QTDB_test.mat").read_bytes()
    path = tmp_path / "QTDB_test.mat"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDataError, match="cannot be read as a MATLAB .mat file") as info:
        QTDB(tmp_path, train=False)
    assert str(path) in str(info.value)


def test_not_a_mat_file(tmp_path):
    (tmp_path / "QTDB_train.mat").write_bytes(b"<html>404</html>")
    with pytest.raises(CorruptDataError, match="QTDB_train.mat"):
        QTDB(tmp_path)


def _write(path, **arrays):
    scipy_io.savemat(path, arrays)
    return path.parent


def _onehot(n, t, classes=6):
    y = np.zeros((n, t, classes), dtype=np.uint8)
    y[..., 0] = 1
    return y


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((2, 5, 4), np.int16)}, r"missing key\(s\) \['y'\]; found \['x'\]"),
        ({"x": np.zeros((2, 5, 3), np.int16), "y": _onehot(2, 5)}, r"x has shape \(2, 5, 3\), expected \(N, T, 4\)"),
        ({"x": np.zeros((2, 5, 4), np.int16), "y": _onehot(2, 5, 5)}, r"expected \(N, T, 6\) one-hot"),
        ({"x": np.zeros((2, 5, 4), np.int16), "y": _onehot(2, 6)}, "expected the same"),
        ({"x": np.full((2, 5, 4), 3, np.int16), "y": _onehot(2, 5)}, "values other than -1, 0, 1"),
        ({"x": np.zeros((2, 5, 4), np.int16), "y": _onehot(2, 5) * 2}, "not one-hot"),
    ],
)
def test_wrong_contents_say_what_is_wrong(tmp_path, arrays, message):
    root = _write(tmp_path / "QTDB_train.mat", **arrays)
    with pytest.raises(CorruptDataError, match=message):
        QTDB(root, train=True)


def test_small_valid_file(tmp_path):
    y = _onehot(3, 7)
    y[1, 2] = [0, 0, 0, 0, 1, 0]
    y[2, 4] = 0  # unlabelled step
    root = _write(tmp_path / "QTDB_train.mat", x=np.ones((3, 7, 4), np.int16), y=y)
    ds = QTDB(root, unlabeled=-1)
    assert len(ds) == 3 and ds.num_steps == 7
    assert ds[1][1].tolist() == [0, 0, 4, 0, 0, 0, 0] and ds[2][1][4] == -1


def test_scipy_missing_names_the_extra(monkeypatch):
    require(QTDB_DIR)
    monkeypatch.setitem(sys.modules, "scipy.io", None)
    with pytest.raises(ImportError, match=r"spikeforge\[data\]"):
        QTDB(QTDB_DIR, train=False)


def test_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="train must be True or False"):
        QTDB(tmp_path, train=1)
    with pytest.raises(TypeError, match="unlabeled must be an int"):
        QTDB(tmp_path, unlabeled=None)
