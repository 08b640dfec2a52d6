"""Build a data set from its name and plain options, as recipe files give them.

``build_dataset("smnist", train=True, root="~/data", mode="pixel")`` is
``SequentialMNIST(MNIST("~/data", train=True), mode="pixel")``. Options are plain data
(strings, numbers, booleans, a dict for Tonic), so a YAML recipe can hold them; each name
accepts only its own options, and an unknown name or option raises an error listing the
valid ones.

=========== ======================================= ==========================================
name        data set                                options
=========== ======================================= ==========================================
digits      :class:`Digits` (sklearn, no files)     ``test_fraction``, ``split_seed``
mnist       :class:`MNIST`                          ``download``, ``verify``
smnist      :class:`SequentialMNIST` of MNIST       ``mode="row"|"pixel"``, ``window``,
                                                    ``binarize``, ``download``, ``verify``
psmnist     permuted pixel-by-pixel MNIST           ``permutation_seed``, ``window``,
                                                    ``binarize``, ``download``, ``verify``
qtdb, ecg   :class:`QTDB`                           ``unlabeled``
tonic       :class:`TonicFrames` of a Tonic set     ``dataset`` (e.g. ``"NMNIST"``), ``n_time_bins``
                                                    or ``time_window``, ``start_time``,
                                                    ``end_time``, ``dataset_kwargs``
evidence    :class:`EvidenceAccumulation`           ``train_size``, ``test_size``, ``seed`` and
            (generated, no files)                   the task's keyword arguments
store_recall :class:`StoreRecall` (generated)       the same
=========== ======================================= ==========================================

``root`` is the data folder (``None``: :func:`~spikeforge.data.default_data_dir`);
``digits`` needs none and ignores it. For ``tonic`` it is Tonic's ``save_to``, and the
class is built as ``tonic.datasets.<dataset>(save_to=root, train=train, **dataset_kwargs)``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

from torch.utils.data import Dataset

from ._files import import_optional, resolve_root
from .cue_tasks import EvidenceAccumulation, StoreRecall
from .digits import Digits
from .events import TonicFrames
from .mnist import MNIST
from .qtdb import QTDB
from .sequential import SequentialMNIST

__all__ = ["DATASETS", "build_dataset"]

_Root = str | os.PathLike[str] | None


def _digits(train: bool, root: _Root, test_fraction: float = 0.2, split_seed: int = 0) -> Dataset:
    return Digits(train=train, test_fraction=test_fraction, split_seed=split_seed)


def _mnist(train: bool, root: _Root, download: bool = False, verify: bool = True) -> Dataset:
    return MNIST(root, train=train, download=download, verify=verify)


def _smnist(train: bool, root: _Root, mode: str = "row", window: int = 1, binarize: float | None = None,
            download: bool = False, verify: bool = True) -> Dataset:
    images = MNIST(root, train=train, download=download, verify=verify)
    return SequentialMNIST(images, mode=mode, window=window, binarize=binarize)


def _psmnist(
    train: bool, root: _Root, permutation_seed: int = 0, window: int = 1, binarize: float | None = None,
    download: bool = False, verify: bool = True
) -> Dataset:
    images = MNIST(root, train=train, download=download, verify=verify)
    return SequentialMNIST(images, mode="pixel", permute=True, permutation_seed=permutation_seed, window=window,
                           binarize=binarize)


def _qtdb(train: bool, root: _Root, unlabeled: int = 0) -> Dataset:
    return QTDB(root, train=train, unlabeled=unlabeled)


def _tonic(
    train: bool,
    root: _Root,
    dataset: str | None = None,
    n_time_bins: int | None = None,
    time_window: float | None = None,
    start_time: float | None = None,
    end_time: float | None = None,
    dataset_kwargs: Mapping[str, Any] | None = None,
) -> Dataset:
    if not isinstance(dataset, str):
        raise ValueError(
            "build_dataset('tonic') needs dataset=<name of a tonic.datasets class>, e.g. 'NMNIST', "
            f"'SHD' or 'DVSGesture'; got {dataset!r}"
        )
    datasets = import_optional("tonic.datasets", extra="tonic", needed_by="build_dataset('tonic')")
    cls = getattr(datasets, dataset, None)
    if not isinstance(cls, type):
        raise ValueError(f"tonic.datasets has no data set {dataset!r}; e.g. 'NMNIST', 'SHD', 'DVSGesture'")
    events = cls(save_to=str(resolve_root(root)), train=train, **dict(dataset_kwargs or {}))
    return TonicFrames(
        events, n_time_bins=n_time_bins, time_window=time_window, start_time=start_time, end_time=end_time
    )


def _evidence(train: bool, root: _Root, train_size: int = 1000, test_size: int = 200, seed: int = 0,
              n_cues: int = 7, cue_steps: int = 100, gap_steps: int = 50, delay_steps: int = 1050,
              recall_steps: int = 150, cue_rate: float = 40.0, noise_rate: float = 10.0, channels: int = 10,
              dt: float = 1e-3) -> Dataset:
    return EvidenceAccumulation(train_size if train else test_size, seed=seed, train=train, n_cues=n_cues,
                                cue_steps=cue_steps, gap_steps=gap_steps, delay_steps=delay_steps,
                                recall_steps=recall_steps, cue_rate=cue_rate, noise_rate=noise_rate,
                                channels=channels, dt=dt)


def _store_recall(train: bool, root: _Root, train_size: int = 1000, test_size: int = 200, seed: int = 0,
                  periods: int = 10, period_steps: int = 40, max_delay: int | None = None, rate: float = 50.0,
                  noise_rate: float = 0.0, channels: int = 10, dt: float = 1e-3) -> Dataset:
    return StoreRecall(train_size if train else test_size, seed=seed, train=train, periods=periods,
                       period_steps=period_steps, max_delay=max_delay, rate=rate, noise_rate=noise_rate,
                       channels=channels, dt=dt)


_BUILDERS: dict[str, Callable[..., Dataset]] = {
    "digits": _digits,
    "mnist": _mnist,
    "smnist": _smnist,
    "psmnist": _psmnist,
    "qtdb": _qtdb,
    "ecg": _qtdb,
    "tonic": _tonic,
    "evidence": _evidence,
    "store_recall": _store_recall,
}

#: Every name :func:`build_dataset` accepts (``"ecg"`` is another name for ``"qtdb"``).
DATASETS = tuple(_BUILDERS)


def _options(builder: Callable[..., Dataset]) -> tuple[str, ...]:
    return tuple(inspect.signature(builder).parameters)[2:]  # after (train, root)


def build_dataset(name: str, *, train: bool, root: _Root = None, **kwargs: Any) -> Dataset:
    """The data set called ``name`` (one of :data:`DATASETS`), training or test split.

    Args:
        name: ``"digits"``, ``"mnist"``, ``"smnist"``, ``"psmnist"``, ``"qtdb"``/``"ecg"``,
            ``"tonic"``, ``"evidence"`` or ``"store_recall"`` (case-insensitive).
        train: the training split (``True``) or the test split.
        root: data folder; ``None`` is :func:`~spikeforge.data.default_data_dir`.
        **kwargs: that data set's options (see the module's table).

    Raises:
        ValueError: unknown name (the message lists :data:`DATASETS`).
        TypeError: an option the data set does not take (the message lists those it takes).

    Examples:
        >>> ds = build_dataset("digits", train=True, split_seed=1)
        >>> ds.num_classes, ds.input_shape
        (10, (1, 8, 8))
    """
    key = name.strip().lower() if isinstance(name, str) else name
    if key not in _BUILDERS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join(DATASETS)}")
    builder = _BUILDERS[key]
    allowed = _options(builder)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(
            f"build_dataset({key!r}) got unknown option(s) {unknown}; it accepts: {', '.join(allowed)}"
        )
    return builder(train, root, **kwargs)
