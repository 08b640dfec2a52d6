"""Data sets for training and evaluating spiking networks, as ``torch.utils.data.Dataset``.

- :class:`MNIST` (LeCun et al. 1998) from the IDX files, checksummed, optional download;
  :func:`read_idx` reads any IDX file;
- :class:`Digits`: scikit-learn's bundled 8x8 digits (no files needed; extra ``data``);
- :class:`QTDB`: ECG wave segmentation (Laguna et al. 1997; Yin et al. 2021), one
  label per time step (extra ``data`` for scipy);
- :class:`SequentialMNIST`: row-by-row, pixel-by-pixel or permuted MNIST (Le et al. 2015);
- :func:`events_to_frames` / :class:`TonicFrames`: event recordings binned into frames
  (Tonic data sets such as N-MNIST, SHD, DVS Gesture; extra ``tonic``);
- :class:`EvidenceAccumulation` / :class:`StoreRecall`: the memory tasks of the e-prop
  paper (Bellec et al. 2020), generated (no files).

Every data set has ``num_classes``, ``input_shape`` (one sample for images, one time step
for sequences), ``num_steps`` (``None`` for images) and ``is_sequence``/``per_step_labels``.
Sequence samples are time-first ``[T, ...]``; :func:`collate_for` gives the
``collate_fn`` that batches them time-major ``[T, B, ...]``. :func:`build_dataset` builds
any of them from a name and plain options (for recipe files).

Files are looked for under ``root`` (``None``: :func:`default_data_dir`, that is
``$SPIKEFORGE_DATA`` or ``~/.cache/spikeforge``). A missing file raises
:class:`DataNotFoundError`, a corrupt one :class:`CorruptDataError`, a failed download
:class:`DownloadError`; each message says which file, what was expected and how to fix it.
"""

from ._download import DownloadError
from ._files import CorruptDataError, DataNotFoundError, default_data_dir
from .batching import collate_for, collate_time_major, is_sequence_dataset
from .cue_tasks import EvidenceAccumulation, StoreRecall
from .digits import Digits
from .events import TonicFrames, events_to_frames
from .mnist import MNIST, read_idx
from .qtdb import QTDB, QTDB_CLASSES
from .registry import DATASETS, build_dataset
from .sequential import SEQUENCE_MODES, SequentialMNIST, pixel_permutation

__all__ = [
    "MNIST", "read_idx", "Digits", "QTDB", "QTDB_CLASSES", "SequentialMNIST", "SEQUENCE_MODES",
    "pixel_permutation", "events_to_frames", "TonicFrames", "EvidenceAccumulation", "StoreRecall",
    "collate_time_major", "collate_for", "is_sequence_dataset",
    "build_dataset", "DATASETS",
    "default_data_dir", "DataNotFoundError", "CorruptDataError", "DownloadError",
]
