"""ECG wave segmentation: the QT Database (Laguna et al. 1997) as preprocessed by Yin et al. (2021).

The data: two-lead ECG recordings of the PhysioNet QT Database (Laguna, Mark, Goldberger
& Moody 1997, "A database for evaluation of algorithms for measurement of QT and other
waveform intervals in the ECG", Computers in Cardiology 24, 673-676), cut into windows
of 1301 steps and spike-encoded by Yin, Corradi & Bohté (2021, "Accurate and efficient
time-domain classification with adaptive spiking recurrent neural networks", Nature
Machine Intelligence 3, 905-913): each lead becomes an UP and a DOWN level-crossing
channel, so the input has 4 channels of values in {-1, 0, 1}. Every time step is labelled
with one of 6 wave classes (P, PQ, QR, RS, ST, TP). 618 training and 141 test windows,
published as ``QTDB_train.mat`` / ``QTDB_test.mat`` in the authors' repository
(github.com/byin-cwi/Efficient-spiking-networks, folder ``data/``, MIT License).

Items: ``(x, y)`` with ``x`` float32 ``[T=1301, 4]`` and ``y`` int64 ``[T]``, the class
of each step. About 8% of the steps carry no label (an all-zero one-hot row); they get
class ``unlabeled`` (default 0, which is what the authors' ``argmax`` gives, so
accuracies compare with the paper's); pass ``unlabeled=-100`` to have
``torch.nn.functional.cross_entropy`` ignore them.

Errors: a missing file raises :class:`~spikeforge.data.DataNotFoundError`; a file that
is not a MATLAB file, lacks the keys ``x``/``y``, or has other shapes or values raises
:class:`~spikeforge.data.CorruptDataError` saying what was found and what was expected.
Needs scipy (extra ``spikeforge[data]``), imported only when a file is read.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from ._files import CorruptDataError, find_file, import_optional, resolve_root

__all__ = ["QTDB", "QTDB_CLASSES"]

#: The six wave classes, in the order of the one-hot labels.
QTDB_CLASSES = ("P", "PQ", "QR", "RS", "ST", "TP")

_N_CHANNELS = 4
_SOURCE = "github.com/byin-cwi/Efficient-spiking-networks (folder data/)"


def _loadmat(path: Path) -> dict:
    sio = import_optional("scipy.io", extra="data", needed_by="QTDB (reading .mat files)")
    try:
        return sio.loadmat(path)
    except Exception as exc:  # scipy raises ValueError, TypeError, MatReadError, ... for bad files
        raise CorruptDataError(
            f"{path}: cannot be read as a MATLAB .mat file ({type(exc).__name__}: {exc}); the file "
            f"is truncated or corrupt. Fetch QTDB_train.mat / QTDB_test.mat again from {_SOURCE}."
        ) from exc


def _check_arrays(mat: dict, path: Path) -> tuple[np.ndarray, np.ndarray]:
    missing = [key for key in ("x", "y") if key not in mat]
    if missing:
        found = sorted(k for k in mat if not k.startswith("__"))
        raise CorruptDataError(
            f"{path}: missing key(s) {missing}; found {found}. Expected x (N, T, 4) and "
            f"y (N, T, 6), the files of Yin et al. (2021) from {_SOURCE}."
        )
    x, y = mat["x"], mat["y"]
    n_classes = len(QTDB_CLASSES)
    if x.ndim != 3 or x.shape[2] != _N_CHANNELS:
        raise CorruptDataError(f"{path}: x has shape {x.shape}, expected (N, T, {_N_CHANNELS})")
    if y.ndim != 3 or y.shape[2] != n_classes:
        raise CorruptDataError(f"{path}: y has shape {y.shape}, expected (N, T, {n_classes}) one-hot")
    if y.shape[:2] != x.shape[:2]:
        raise CorruptDataError(
            f"{path}: x has shape {x.shape} but y has {y.shape}; expected the same (N, T) for both"
        )
    if not np.isin(x, (-1, 0, 1)).all():
        raise CorruptDataError(f"{path}: x holds values other than -1, 0, 1 (expected spike-encoded input)")
    if not np.isin(y, (0, 1)).all() or (y.sum(axis=2) > 1).any():
        raise CorruptDataError(f"{path}: y is not one-hot (expected 0/1 with at most one 1 per step)")
    return x, y


class QTDB(Dataset):
    """QTDB ECG segmentation: ``(x [1301, 4] float32, y [1301] int64)``, one label per step.

    Args:
        root: folder holding ``QTDB_train.mat`` and ``QTDB_test.mat`` directly or in
            ``qtdb/``; ``None`` uses :func:`~spikeforge.data.default_data_dir`.
        train: the 618 training windows (``True``) or the 141 test windows.
        unlabeled: the class given to steps without a label (default 0, as the authors'
            ``argmax``; ``-100`` makes ``cross_entropy`` skip them).

    Attributes:
        x: float32 ``[N, T, 4]``; y: int64 ``[N, T]``.

    Examples:
        >>> test = QTDB("~/data/qtdb", train=False)  # doctest: +SKIP
        >>> x, y = test[0]  # [1301, 4], [1301]  # doctest: +SKIP
    """

    is_sequence = True
    per_step_labels = True
    num_classes = len(QTDB_CLASSES)
    input_shape = (_N_CHANNELS,)
    num_steps = 1301
    classes = QTDB_CLASSES

    def __init__(
        self, root: str | os.PathLike[str] | None = None, train: bool = True, *, unlabeled: int = 0
    ) -> None:
        if not isinstance(train, bool):
            raise TypeError(f"train must be True or False, got {train!r}")
        if not isinstance(unlabeled, int) or isinstance(unlabeled, bool):
            raise TypeError(f"unlabeled must be an int class index, got {unlabeled!r}")
        self.root = resolve_root(root)
        self.train = train
        name = "QTDB_train.mat" if train else "QTDB_test.mat"
        self.path = find_file(
            self.root, (name,), ("qtdb",), dataset="QTDB",
            expected=f"QTDB_train.mat and QTDB_test.mat from {_SOURCE}",
        )
        x, y = _check_arrays(_loadmat(self.path), self.path)
        labels = y.argmax(axis=2).astype(np.int64)
        labels[y.sum(axis=2) == 0] = unlabeled
        self.x: Tensor = torch.from_numpy(x.astype(np.float32))
        self.y: Tensor = torch.from_numpy(labels)
        self.num_steps = x.shape[1]

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.x[index], self.y[index]

    def __repr__(self) -> str:
        split = "train" if self.train else "test"
        return f"QTDB(split={split!r}, n={len(self)}, T={self.num_steps}, path={str(self.path)!r})"
