"""Event-camera and event-audio recordings as frames of event counts (an adapter for Tonic).

Neuromorphic data sets (N-MNIST, DVS Gesture, SHD, ...) are lists of events, as served
by Tonic (Lenz, Chaney, Shrestha et al., "Tonic: event-based datasets and
transformations", 2021, doi:10.5281/zenodo.5079802): a numpy structured array with fields
``x``, ``y`` (pixel), ``t`` (timestamp, usually microseconds) and ``p`` (polarity), and a
``sensor_size = (W, H, P)``. :func:`events_to_frames` counts them in time bins, giving
float32 frames ``[T, P, H, W]``; :class:`TonicFrames` wraps any Tonic data set (items
``(events, label)``) to yield ``(frames [T, P, H, W], label)``.

Binning (timestamps in the events' own unit; no sorting needed):

- the span runs from ``start_time`` (default: the first event) to ``end_time`` (default:
  the last event, which is included); events outside it are dropped;
- ``n_time_bins=N``: ``N`` bins of equal length, event at ``t`` in bin
  ``floor((t - start) * N / (end - start))`` (the last event in bin ``N - 1``);
- ``time_window=w``: bins of length ``w`` from ``start``, ``ceil((end - start) / w)``
  of them for an explicit ``end_time``, else enough to hold the last event (the last
  bin may be partly empty). Give ``end_time`` to get the same ``T`` for every recording.

1-D sensors: SHD events (Cramer et al. 2020) have fields ``t``, ``x``, ``p`` and no
``y``, with ``sensor_size = (700, 1, 1)``; a missing ``y`` counts as row 0 (so SHD frames
are ``[T, 1, 1, 700]``), a missing ``p`` as polarity 0, and with one polarity channel
(``P == 1``) every event counts in channel 0 whatever its ``p`` (Tonic's SHD sets
``p = 1``). Reshape to ``[T, B, 700]`` for a dense network.

Tonic itself is optional (extra ``spikeforge[tonic]``): :func:`events_to_frames` is pure
numpy and :class:`TonicFrames` only needs an object with ``__getitem__``/``__len__``.
Errors: a non-structured array, a missing ``x``/``t`` field, coordinates outside the
sensor, or bad binning arguments raise ``ValueError`` saying what was expected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["events_to_frames", "TonicFrames"]


def _sensor(sensor_size: Sequence[int]) -> tuple[int, int, int]:
    try:
        w, h, p = (int(s) for s in sensor_size)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"sensor_size must be (W, H, P), three positive ints, got {sensor_size!r}"
        ) from exc
    if min(w, h, p) < 1:
        raise ValueError(f"sensor_size must be (W, H, P), three positive ints, got {sensor_size!r}")
    return w, h, p


def _check_binning(n_time_bins: int | None, time_window: float | None) -> None:
    if (n_time_bins is None) == (time_window is None):
        raise ValueError(
            f"give exactly one of n_time_bins or time_window, got n_time_bins={n_time_bins!r}, "
            f"time_window={time_window!r}"
        )
    bad_count = isinstance(n_time_bins, bool) or not isinstance(n_time_bins, int) or n_time_bins < 1
    if n_time_bins is not None and bad_count:
        raise ValueError(f"n_time_bins must be a positive int, got {n_time_bins!r}")
    if time_window is not None:
        is_number = isinstance(time_window, (int, float)) and not isinstance(time_window, bool)
        if not (is_number and math.isfinite(time_window) and time_window > 0):
            raise ValueError(
                f"time_window must be a positive number (in the events' time unit), got {time_window!r}"
            )


def _coordinate(events: np.ndarray, field: str, size: int, *, optional: bool) -> np.ndarray:
    names = events.dtype.names
    if field not in names:
        if not optional:
            raise ValueError(f"events have no {field!r} field (fields: {names}); expected x, y, t, p")
        return np.zeros(len(events), dtype=np.int64)
    values = events[field].astype(np.int64)
    if values.size and (values.min() < 0 or values.max() >= size):
        raise ValueError(
            f"event field {field!r} spans {values.min()}..{values.max()}, outside the sensor's "
            f"0..{size - 1}; is sensor_size (W, H, P) right?"
        )
    return values


def events_to_frames(
    events: np.ndarray,
    sensor_size: Sequence[int],
    n_time_bins: int | None = None,
    time_window: float | None = None,
    *,
    start_time: float | None = None,
    end_time: float | None = None,
) -> Tensor:
    """Count events per time bin, polarity and pixel.

    Args:
        events: numpy structured array with fields ``x``, ``t`` and optionally ``y``,
            ``p`` (missing ones count as 0), as Tonic gives them.
        sensor_size: ``(W, H, P)``, Tonic's ``dataset.sensor_size``.
        n_time_bins: number of equal bins over the span (exactly one of this and
            ``time_window``).
        time_window: length of each bin, in the unit of ``t``.
        start_time, end_time: the span to bin (default first event to last event
            inclusive); an explicit ``end_time`` is exclusive.

    Returns:
        float32 event counts ``[T, P, H, W]``.

    Examples:
        >>> ev = np.zeros(3, dtype=[("x", int), ("y", int), ("t", int), ("p", int)])
        >>> ev["x"], ev["t"], ev["p"] = [0, 1, 1], [0, 5, 10], [0, 1, 1]
        >>> events_to_frames(ev, (2, 1, 2), n_time_bins=2)[:, :, 0, :].tolist()
        [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]]
    """
    if not isinstance(events, np.ndarray) or events.dtype.names is None:
        got = f"dtype {events.dtype}" if isinstance(events, np.ndarray) else type(events).__name__
        raise ValueError(
            f"events must be a numpy structured array with fields x, (y,) t, (p), got {got} "
            f"(was a Tonic ToFrame transform already applied? TonicFrames needs raw events)"
        )
    if events.ndim != 1:
        raise ValueError(f"events must be a 1-D structured array, got shape {events.shape}")
    _check_binning(n_time_bins, time_window)
    w, h, n_pol = _sensor(sensor_size)
    if "t" not in events.dtype.names:
        raise ValueError(
            f"events have no 't' field (fields: {events.dtype.names}); expected x, y, t, p"
        )
    if "y" not in events.dtype.names and h > 1:
        raise ValueError(
            f"events have no 'y' field but sensor_size {tuple(sensor_size)} has height {h} > 1"
        )

    t = events["t"].astype(np.float64)
    if len(t) == 0 and (start_time is None or end_time is None) and time_window is not None:
        raise ValueError(
            "cannot size time_window bins for a recording with no events: pass start_time and end_time"
        )
    start = float(start_time) if start_time is not None else (float(t.min()) if len(t) else 0.0)
    explicit_end = end_time is not None
    end = float(end_time) if explicit_end else (float(t.max()) if len(t) else start)
    if end < start or (explicit_end and end == start):
        what = "end_time" if explicit_end else "the last event's time"
        raise ValueError(f"{what} ({end}) must be after start_time ({start})")

    keep = (t >= start) & ((t < end) if explicit_end else (t <= end))
    if n_time_bins is not None:
        n_bins = n_time_bins
        span = end - start
        # multiply first: an event exactly on a bin edge lands in the later bin, exactly
        bins = np.floor((t - start) * n_bins / span) if span > 0 else np.zeros_like(t)
    else:
        if explicit_end:
            n_bins = math.ceil((end - start) / time_window)
        else:
            n_bins = int((end - start) // time_window) + 1
        bins = np.floor((t - start) / time_window)
    bins = np.clip(bins, 0, n_bins - 1).astype(np.int64)  # the last event sits on the upper edge

    x = _coordinate(events, "x", w, optional=False)
    y = _coordinate(events, "y", h, optional=True)
    if n_pol == 1:
        p = np.zeros(len(events), dtype=np.int64)
    else:
        p = _coordinate(events, "p", n_pol, optional=True)
    flat = ((bins * n_pol + p) * h + y) * w + x
    counts = np.bincount(flat[keep], minlength=n_bins * n_pol * h * w)
    return torch.from_numpy(counts.astype(np.float32).reshape(n_bins, n_pol, h, w))


class TonicFrames(Dataset):
    """A Tonic event data set as ``(frames [T, P, H, W] float32, label int64)``.

    Args:
        dataset: anything indexable whose items are ``(events, label)``, e.g.
            ``tonic.datasets.NMNIST(save_to, train=True)`` (no ``ToFrame`` transform).
        n_time_bins, time_window, start_time, end_time: as in :func:`events_to_frames`.
        sensor_size: ``(W, H, P)``; default ``dataset.sensor_size``.
        num_classes: default ``len(dataset.classes)`` when the data set has ``classes``.

    Examples:
        >>> import tonic                                              # doctest: +SKIP
        >>> nmnist = TonicFrames(tonic.datasets.NMNIST("data", train=False), n_time_bins=20)  # doctest: +SKIP
        >>> frames, label = nmnist[0]  # [20, 2, 34, 34]  # doctest: +SKIP
    """

    is_sequence = True
    per_step_labels = False

    def __init__(
        self,
        dataset: Any,
        n_time_bins: int | None = None,
        time_window: float | None = None,
        *,
        sensor_size: Sequence[int] | None = None,
        start_time: float | None = None,
        end_time: float | None = None,
        num_classes: int | None = None,
    ) -> None:
        _check_binning(n_time_bins, time_window)
        if sensor_size is None:
            sensor_size = getattr(dataset, "sensor_size", None)
            if sensor_size is None:
                raise ValueError(
                    f"{type(dataset).__name__} has no sensor_size attribute; pass sensor_size=(W, H, P)"
                )
        w, h, n_pol = _sensor(sensor_size)
        self.dataset = dataset
        self.sensor_size = (w, h, n_pol)
        self.n_time_bins, self.time_window = n_time_bins, time_window
        self.start_time, self.end_time = start_time, end_time
        self.input_shape = (n_pol, h, w)
        if n_time_bins is not None:
            self.num_steps: int | None = n_time_bins
        elif start_time is not None and end_time is not None:
            self.num_steps = math.ceil((end_time - start_time) / time_window)
        else:
            self.num_steps = None  # varies with each recording's length
        if num_classes is None and hasattr(dataset, "classes"):
            num_classes = len(dataset.classes)
        self.num_classes = num_classes

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        events, label = self.dataset[index]
        frames = events_to_frames(
            events, self.sensor_size, self.n_time_bins, self.time_window,
            start_time=self.start_time, end_time=self.end_time,
        )
        return frames, torch.as_tensor(np.asarray(label), dtype=torch.int64)

    def __repr__(self) -> str:
        if self.n_time_bins is not None:
            binning = f"n_time_bins={self.n_time_bins}"
        else:
            binning = f"time_window={self.time_window}"
        name = type(self.dataset).__name__
        return f"TonicFrames({name}, {binning}, sensor_size={self.sensor_size}, n={len(self)})"
