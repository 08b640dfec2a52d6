"""MNIST: the IDX reader, the real files (counts, statistics), checksums, errors, download."""

import gzip
import urllib.error

import numpy as np
import pytest
import torch

from spikeforge.data import MNIST, CorruptDataError, DataNotFoundError, DownloadError, read_idx
from spikeforge.data import _download
from spikeforge.data.mnist import MIRRORS, SHA256

from ._shared import MNIST_DIR, SHARED_DATA, idx_bytes, require, write_idx

TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
STEMS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


@pytest.fixture(scope="module")
def train_set():
    return MNIST(require(SHARED_DATA), train=True)


@pytest.fixture(scope="module")
def test_set():
    return MNIST(require(SHARED_DATA), train=False)


def fake_split(folder, n=5, *, split="test", gz=True, images=None, labels=None):
    """Write a small, well-formed but non-standard MNIST split into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8) if images is None else images
    labels = (np.arange(n) % 10).astype(np.uint8) if labels is None else labels
    suffix = ".gz" if gz else ""
    write_idx(folder / (STEMS[split][0] + suffix), images, gz=gz)
    write_idx(folder / (STEMS[split][1] + suffix), labels, gz=gz)
    return images, labels


# --- the real files -----------------------------------------------------------------------


def test_training_set_shapes_and_types(train_set):
    assert len(train_set) == 60000
    image, label = train_set[0]
    assert image.shape == (1, 28, 28) == train_set.input_shape
    assert image.dtype == torch.float32 and label.dtype == torch.int64 and label.dim() == 0
    assert float(image.min()) >= 0.0 and float(image.max()) <= 1.0
    assert train_set.data.dtype == torch.uint8 and train_set.data.shape == (60000, 28, 28)
    assert train_set.num_classes == 10 and not train_set.is_sequence and train_set.num_steps is None


def test_items_are_bytes_over_255(train_set):
    for i in (0, 1, 59999, -1):
        image, label = train_set[i]
        assert torch.equal(image[0], train_set.data[i].float() / 255)
        assert label == train_set.targets[i]
    assert int(train_set[0][1]) == 5  # the first training digit is a 5


def test_training_label_counts(train_set):
    assert torch.bincount(train_set.targets, minlength=10).tolist() == TRAIN_COUNTS


def test_training_pixel_mean_and_std(train_set):
    # exact statistics from the histogram of the bytes (no 188 MB float copy)
    hist = torch.bincount(train_set.data.flatten(), minlength=256).double()
    values = torch.arange(256, dtype=torch.float64) / 255
    mean = (hist * values).sum() / hist.sum()
    std = ((hist * (values - mean) ** 2).sum() / hist.sum()).sqrt()
    assert float(mean) == pytest.approx(0.1307, abs=5e-5)
    assert float(std) == pytest.approx(0.3081, abs=5e-5)


def test_test_set(test_set):
    assert len(test_set) == 10000 and test_set[0][0].shape == (1, 28, 28)
    assert torch.bincount(test_set.targets, minlength=10).sum() == 10000
    assert int(test_set[0][1]) == 7


def test_root_may_hold_the_files_directly_or_in_torchvision_layout(tmp_path, test_set):
    direct = MNIST(require(MNIST_DIR), train=False)
    assert torch.equal(direct.data, test_set.data)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for stem in STEMS["test"]:
        (raw / (stem + ".gz")).symlink_to(MNIST_DIR / (stem + ".gz"))
    assert torch.equal(MNIST(tmp_path, train=False).targets, test_set.targets)


def test_root_none_reads_spikeforge_data(monkeypatch, test_set):
    monkeypatch.setenv("SPIKEFORGE_DATA", str(require(SHARED_DATA)))
    assert torch.equal(MNIST(train=False).targets, test_set.targets)


def test_uncompressed_files_are_read_and_verified(tmp_path, test_set):
    for stem in STEMS["test"]:
        (tmp_path / stem).write_bytes(gzip.decompress((require(MNIST_DIR) / (stem + ".gz")).read_bytes()))
    assert torch.equal(MNIST(tmp_path, train=False, verify=True).data, test_set.data)


# --- read_idx -----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("gz", [True, False])
def test_read_idx_round_trip(tmp_path, dtype, gz):
    array = (np.arange(24) - 5).reshape(2, 3, 4).astype(dtype)
    out = read_idx(write_idx(tmp_path / "a.idx", array, gz=gz))
    assert out.dtype == np.dtype(dtype) and out.shape == (2, 3, 4)
    np.testing.assert_array_equal(out, array)
    assert out.flags.writeable and out.dtype.isnative


def test_read_idx_real_labels():
    labels = read_idx(require(MNIST_DIR) / "t10k-labels-idx1-ubyte.gz")
    assert labels.shape == (10000,) and labels.dtype == np.uint8 and labels[:3].tolist() == [7, 2, 1]


@pytest.mark.parametrize(
    "data, message",
    [
        (b"\x01\x00\x08\x01" + b"\x00" * 8, "not an IDX file"),
        (b"PK\x03\x04", "not an IDX file"),
        (b"", "not an IDX file"),
        (b"\x00\x00\x07\x01\x00\x00\x00\x01\x00", "unknown IDX data type 0x07"),
        (b"\x00\x00\x08\x00", "0 dimensions"),
        (b"\x00\x00\x08\x03\x00\x00\x00\x02", "truncated IDX header"),
    ],
)
def test_read_idx_bad_header(tmp_path, data, message):
    path = tmp_path / "bad.idx"
    path.write_bytes(data)
    with pytest.raises(CorruptDataError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_read_idx_truncated_and_trailing_data(tmp_path):
    good = idx_bytes(np.zeros((4, 28, 28), dtype=np.uint8))
    (tmp_path / "short").write_bytes(good[:-10])
    with pytest.raises(CorruptDataError, match=r"truncated: 3126 data bytes after the header, expected 3136"):
        read_idx(tmp_path / "short")
    (tmp_path / "long").write_bytes(good + b"\x00")
    with pytest.raises(CorruptDataError, match="trailing bytes"):
        read_idx(tmp_path / "long")


def test_read_idx_truncated_gzip(tmp_path):
    data = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CorruptDataError, match="not a valid gzip stream") as info:
        read_idx(path)
    assert str(path) in str(info.value)
    assert isinstance(info.value, ValueError)


def test_read_idx_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.idx")


# --- checks on load -----------------------------------------------------------------------


def test_wrong_checksum_is_reported_and_verify_false_loads(tmp_path):
    images, labels = fake_split(tmp_path)
    with pytest.raises(CorruptDataError, match="sha256") as info:
        MNIST(tmp_path, train=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte.gz" in message and SHA256["t10k-images-idx3-ubyte"] in message
    assert "verify=False" in message and "download=True" in message
    ds = MNIST(tmp_path, train=False, verify=False)
    assert len(ds) == 5
    np.testing.assert_array_equal(ds.data.numpy(), images)
    assert ds.targets.tolist() == labels.tolist()


def test_truncated_real_file_names_the_file(tmp_path):
    data = (require(MNIST_DIR) / "t10k-images-idx3-ubyte.gz").read_bytes()
    (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(data[: len(data) // 3])
    with pytest.raises(CorruptDataError, match="t10k-images-idx3-ubyte.gz: not a valid gzip stream"):
        MNIST(tmp_path, train=False)


def test_images_and_labels_must_agree(tmp_path):
    fake_split(tmp_path, labels=np.zeros(4, dtype=np.uint8))
    with pytest.raises(CorruptDataError, match="5 images but .* 4 labels"):
        MNIST(tmp_path, train=False, verify=False)


def test_wrong_shape_dtype_and_labels(tmp_path):
    fake_split(tmp_path / "a", images=np.zeros((3, 27, 27), dtype=np.uint8), labels=np.zeros(3, np.uint8))
    with pytest.raises(CorruptDataError, match=r"shape \(3, 27, 27\), expected uint8 of shape \(N, 28, 28\)"):
        MNIST(tmp_path / "a", train=False, verify=False)
    fake_split(tmp_path / "b", n=3, labels=np.array([1, 2, 3], dtype=np.int32))
    with pytest.raises(CorruptDataError, match="int32 of shape"):
        MNIST(tmp_path / "b", train=False, verify=False)
    fake_split(tmp_path / "c", n=3, labels=np.array([1, 12, 3], dtype=np.uint8))
    with pytest.raises(CorruptDataError, match="label 12 found, expected digits 0-9"):
        MNIST(tmp_path / "c", train=False, verify=False)


def test_missing_files_say_where_and_how(tmp_path):
    with pytest.raises(DataNotFoundError) as info:
        MNIST(tmp_path, train=True)
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "train-images-idx3-ubyte.gz" in message and str(tmp_path / "mnist") in message
    assert "--data-dir" in message and "root=" in message and "SPIKEFORGE_DATA" in message
    assert "download=True" in message


def test_train_must_be_a_bool(tmp_path):
    with pytest.raises(TypeError, match="train must be True or False"):
        MNIST(tmp_path, train="false")


# --- download -----------------------------------------------------------------------------


def test_download_tries_mirrors_and_writes_atomically(tmp_path, monkeypatch, test_set):
    require(MNIST_DIR)
    calls = []

    def fake_fetch(url, timeout=30.0):
        calls.append(url)
        if url.startswith(MIRRORS[0]):
            raise urllib.error.URLError("unreachable")
        return (MNIST_DIR / url.rsplit("/", 1)[1]).read_bytes()

    monkeypatch.setattr(_download, "fetch_url", fake_fetch)
    ds = MNIST(tmp_path, train=False, download=True)
    assert torch.equal(ds.data, test_set.data) and torch.equal(ds.targets, test_set.targets)
    assert calls == [m + s + ".gz" for s in STEMS["test"] for m in MIRRORS]
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(s + ".gz" for s in STEMS["test"])
    calls.clear()
    MNIST(tmp_path, train=False, download=True)  # already there: no fetch
    assert calls == []


def test_download_skips_a_mirror_with_wrong_bytes(tmp_path, monkeypatch):
    require(MNIST_DIR)

    def fake_fetch(url, timeout=30.0):
        if url.startswith(MIRRORS[0]):
            return gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")  # valid gzip, wrong file
        return (MNIST_DIR / url.rsplit("/", 1)[1]).read_bytes()

    monkeypatch.setattr(_download, "fetch_url", fake_fetch)
    assert len(MNIST(tmp_path, train=False, download=True)) == 10000


def test_download_failure_says_network_and_how_to_fix(tmp_path, monkeypatch):
    def offline(url, timeout=30.0):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(_download, "fetch_url", offline)
    with pytest.raises(DownloadError) as info:
        MNIST(tmp_path, train=True, download=True)
    message = str(info.value)
    assert "network may be unreachable" in message and "root=" in message and "--data-dir" in message
    assert all(m in message for m in MIRRORS) and "name resolution" in message
    assert not (tmp_path / "mnist").exists()


@pytest.mark.parametrize(
    "payload, reason",
    [(gzip.compress(b"not mnist", mtime=0), "sha256"), (b"<html>moved</html>", "not a valid gzip stream")],
    ids=["gzip-of-the-wrong-file", "html-page"],  # stable ids: every pytest-xdist worker must collect the same tests
)
def test_download_with_only_bad_mirrors_says_why(tmp_path, monkeypatch, payload, reason):
    monkeypatch.setattr(_download, "fetch_url", lambda url, timeout=30.0: payload)
    with pytest.raises(DownloadError, match=reason) as info:
        MNIST(tmp_path, train=False, download=True)
    assert "t10k-images-idx3-ubyte.gz" in str(info.value)
    assert not (tmp_path / "mnist").exists()


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(_download.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        _download.atomic_write(tmp_path / "f.gz", b"data")
    assert list(tmp_path.iterdir()) == []
