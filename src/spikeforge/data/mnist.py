"""MNIST handwritten digits (LeCun, Bottou, Bengio & Haffner 1998), from the original IDX files.

The data: 70,000 grey-scale images of 28x28 pixels (60,000 for training, 10,000 for
testing), each a handwritten digit 0-9, stored as four IDX files::

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

each either gzipped (``.gz``, as published) or raw. :class:`MNIST` looks for them in
``root``, ``root/mnist`` and ``root/MNIST/raw`` (torchvision's layout); ``root=None`` is
:func:`~spikeforge.data.default_data_dir` (``$SPIKEFORGE_DATA`` or ``~/.cache/spikeforge``).

Items: ``(image, label)`` with ``image`` float32 ``[1, 28, 28]`` in ``[0, 1]`` (the byte
divided by 255) and ``label`` an int64 scalar tensor. The split is held in memory as
uint8 (47 MB for the training set) and converted per item.

Checksums: the sha256 of each file's *uncompressed* bytes is checked against the
standard values (:data:`SHA256`) on every load (``verify=True``, about 0.1 s for the
training images) and after every download; ``verify=False`` skips it, e.g. for a
hand-made subset in the same format.

Errors: a missing file raises :class:`~spikeforge.data.DataNotFoundError` (a
``FileNotFoundError``) listing where it looked; a truncated, corrupt or wrong file raises
:class:`~spikeforge.data.CorruptDataError` (a ``ValueError``) naming the file; a failed
download raises :class:`~spikeforge.data.DownloadError`.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from . import _download
from ._files import CorruptDataError, find_file, resolve_root, sha256_hex

__all__ = ["MNIST", "read_idx", "MIRRORS", "SHA256"]

logger = logging.getLogger(__name__)

#: Where ``download=True`` looks, in order (each serves the four ``.gz`` files).
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

#: sha256 of the uncompressed bytes of each standard file.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}

_SPLITS = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_SUBFOLDERS = ("mnist", "MNIST/raw")
_EXPECTED = "the MNIST IDX files " + ", ".join(f"{s}.gz" for s in SHA256) + " (gzipped or not)"

# IDX type byte -> big-endian numpy dtype (the format of LeCun's page)
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _file_bytes(path: Path) -> bytes:
    """The contents of ``path``, gunzipped when it starts with the gzip magic bytes."""
    data = path.read_bytes()
    if data[:2] != b"\x1f\x8b":
        return data
    return _gunzip(data, str(path))


def _gunzip(data: bytes, name: str) -> bytes:
    try:
        return gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise CorruptDataError(
            f"{name}: not a valid gzip stream ({exc}); the file is truncated or corrupt. "
            f"Delete it and fetch it again (download=True)."
        ) from exc


def _parse_idx(data: bytes, name: str) -> np.ndarray:
    """Decode IDX bytes: magic ``00 00 <type> <ndim>``, ``ndim`` big-endian uint32 sizes, data."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise CorruptDataError(
            f"{name}: not an IDX file (it starts with {data[:4].hex() or 'nothing'}; expected "
            f"the magic number 00 00 <type> <ndim>, e.g. 00000803 for images)"
        )
    type_code, ndim = data[2], data[3]
    if type_code not in _IDX_DTYPES:
        known = ", ".join(f"0x{code:02X}" for code in _IDX_DTYPES)
        raise CorruptDataError(f"{name}: unknown IDX data type 0x{type_code:02X}; expected one of {known}")
    if ndim == 0:
        raise CorruptDataError(f"{name}: IDX header declares 0 dimensions; expected at least 1")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise CorruptDataError(
            f"{name}: truncated IDX header ({len(data)} bytes, expected {header} for {ndim} dimensions)"
        )
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(data) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise CorruptDataError(
            f"{name}: IDX file {what}: {got} data bytes after the header, expected {expected} "
            f"for shape {dims} of {dtype.name}. Delete it and fetch it again (download=True)."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # native byte order, a writable copy


def read_idx(path: str | os.PathLike[str]) -> np.ndarray:
    """Read an IDX file (gzipped or raw) into a numpy array of its shape and type.

    Args:
        path: the file; gzip is recognised by its magic bytes, not by the name.

    Returns:
        A writable array in native byte order, shaped as the header says.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        CorruptDataError: (a ``ValueError``) bad gzip stream, bad magic number, unknown
            type, or a length that does not match the dimensions; the message names the file.

    Examples:
        >>> labels = read_idx("mnist/train-labels-idx1-ubyte.gz")  # doctest: +SKIP
        >>> labels.shape, labels.dtype  # doctest: +SKIP
        ((60000,), dtype('uint8'))
    """
    path = Path(path)
    return _parse_idx(_file_bytes(path), str(path))


def _check_sha256(data: bytes, stem: str, name: str) -> None:
    digest = sha256_hex(data)
    if digest != SHA256[stem]:
        raise CorruptDataError(
            f"{name}: sha256 of the uncompressed contents is {digest}, expected {SHA256[stem]} "
            f"(the standard MNIST {stem}). The file is corrupt or not the standard one: delete it "
            f"and fetch it again (download=True), or pass verify=False to load it anyway."
        )


def _check_download(data: bytes, stem: str) -> None:
    """Raise ``ValueError`` unless ``data`` is the gzipped standard file ``stem``."""
    try:
        raw = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"it is not a valid gzip stream ({exc})") from exc
    digest = sha256_hex(raw)
    if digest != SHA256[stem]:
        raise ValueError(f"the sha256 of its uncompressed bytes is {digest}, expected {SHA256[stem]}")


class MNIST(Dataset):
    """The MNIST digits as ``(image [1, 28, 28] float32 in [0, 1], label int64)``.

    Args:
        root: folder holding the four IDX files directly, in ``mnist/`` or in
            ``MNIST/raw/``; ``None`` uses :func:`~spikeforge.data.default_data_dir`.
        train: the 60,000 training images (``True``) or the 10,000 test images.
        download: fetch the split's files that are missing from :data:`MIRRORS` into
            ``root/mnist/`` (files already present are used as they are).
        verify: check the sha256 of the uncompressed files against :data:`SHA256`.

    Attributes:
        data: uint8 ``[N, 28, 28]``; targets: int64 ``[N]``.

    Examples:
        >>> train = MNIST("~/data", train=True)  # doctest: +SKIP
        >>> image, label = train[0]  # [1, 28, 28] float32, tensor(5)  # doctest: +SKIP
    """

    is_sequence = False
    per_step_labels = False
    num_classes = 10
    input_shape = (1, 28, 28)
    num_steps = None

    def __init__(
        self,
        root: str | os.PathLike[str] | None = None,
        train: bool = True,
        download: bool = False,
        verify: bool = True,
    ) -> None:
        for flag, value in (("train", train), ("download", download), ("verify", verify)):
            if not isinstance(value, bool):
                raise TypeError(f"{flag} must be True or False, got {value!r}")
        self.root = resolve_root(root)
        self.train = train
        images_stem, labels_stem = _SPLITS["train" if train else "test"]
        images, images_path = self._load(images_stem, download=download, verify=verify)
        labels, labels_path = self._load(labels_stem, download=download, verify=verify)
        if len(images) != len(labels):
            raise CorruptDataError(
                f"{images_path} holds {len(images)} images but {labels_path} holds {len(labels)} "
                f"labels; expected one label per image (are the files from different sets?)"
            )
        self.data: Tensor = torch.from_numpy(images)
        self.targets: Tensor = torch.from_numpy(labels).long()

    def _locate(self, stem: str, download: bool) -> Path:
        try:
            return find_file(
                self.root, (stem + ".gz", stem), _SUBFOLDERS, dataset="MNIST", expected=_EXPECTED,
                alternative=", or pass download=True to fetch them",
            )
        except FileNotFoundError:
            if not download:
                raise
        target = self.root / "mnist" / (stem + ".gz")
        return _download.download_first(
            stem + ".gz",
            MIRRORS,
            target,
            lambda data: _check_download(data, stem),
            dataset="MNIST",
            manual_hint=(
                "download the four MNIST files by hand (" + ", ".join(f"{s}.gz" for s in SHA256)
                + ") into a folder and pass it as root= (--data-dir on the command line)"
            ),
        )

    def _load(self, stem: str, *, download: bool, verify: bool) -> tuple[np.ndarray, Path]:
        path = self._locate(stem, download)
        data = _file_bytes(path)
        if verify:
            _check_sha256(data, stem, str(path))
        array = _parse_idx(data, str(path))
        self._check_file(array, path, images=stem.endswith("idx3-ubyte"))
        logger.debug("read %s: %s %s", path, array.shape, array.dtype)
        return array, path

    @staticmethod
    def _check_file(array: np.ndarray, path: Path, *, images: bool) -> None:
        expected = "uint8 of shape (N, 28, 28)" if images else "uint8 of shape (N,)"
        ok = array.dtype == np.uint8 and (array.shape[1:] == (28, 28) if images else array.ndim == 1)
        if not ok:
            raise CorruptDataError(
                f"{path}: holds {array.dtype} of shape {array.shape}, expected {expected} "
                f"(is it the {'images' if images else 'labels'} file of another data set?)"
            )
        if not images and array.size and int(array.max()) > 9:
            raise CorruptDataError(f"{path}: label {int(array.max())} found, expected digits 0-9")

    def __len__(self) -> int:
        return self.data.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        image = self.data[index].unsqueeze(0).to(torch.float32).div_(255.0)
        return image, self.targets[index]

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"MNIST(split={split!r}, n={len(self)}, root={str(self.root)!r})"
