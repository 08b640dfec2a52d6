"""events_to_frames and TonicFrames: hand-counted frames, SHD's 1-D events, a fake Tonic data set."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.data import TonicFrames, collate_for, events_to_frames

XYTP = [("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)]
SENSOR = (3, 2, 2)  # W, H, P


def make_events(rows, dtype=XYTP):
    events = np.zeros(len(rows), dtype=dtype)
    for name, column in zip(events.dtype.names, zip(*rows) if rows else [[]] * len(events.dtype.names)):
        events[name] = column
    return events


#            x  y   t  p
EVENTS = make_events([
    (0, 0, 0, 0),
    (2, 1, 10, 1),
    (2, 1, 19, 1),
    (1, 0, 20, 0),
    (0, 1, 35, 1),
    (0, 1, 40, 1),
])


def frames_with(n_bins, *counts):
    """Zero frames [T, P, H, W] for SENSOR with ``(t, p, y, x, count)`` entries set."""
    frames = torch.zeros(n_bins, 2, 2, 3)
    for t, p, y, x, c in counts:
        frames[t, p, y, x] = c
    return frames


def test_equal_time_bins_by_hand():
    # span 0..40, 2 bins [0, 20) and [20, 40]: t = 20 opens bin 1, the last event closes it
    frames = events_to_frames(EVENTS, SENSOR, n_time_bins=2)
    assert frames.dtype == torch.float32 and frames.shape == (2, 2, 2, 3)
    assert torch.equal(frames, frames_with(2, (0, 0, 0, 0, 1), (0, 1, 1, 2, 2), (1, 0, 0, 1, 1), (1, 1, 1, 0, 2)))


def test_time_window_by_hand():
    # windows of 15 from t = 0: [0, 15), [15, 30), [30, 45) -> 3 bins, the last holding t = 40
    frames = events_to_frames(EVENTS, SENSOR, time_window=15)
    expected = frames_with(3, (0, 0, 0, 0, 1), (0, 1, 1, 2, 1), (1, 1, 1, 2, 1), (1, 0, 0, 1, 1), (2, 1, 1, 0, 2))
    assert torch.equal(frames, expected)


def test_explicit_span_drops_events_outside_it():
    # [10, 40) in 3 bins of 10: t = 0 and t = 40 are left out
    frames = events_to_frames(EVENTS, SENSOR, n_time_bins=3, start_time=10, end_time=40)
    assert torch.equal(frames, frames_with(3, (0, 1, 1, 2, 2), (1, 0, 0, 1, 1), (2, 1, 1, 0, 1)))
    frames = events_to_frames(EVENTS, SENSOR, time_window=10, start_time=0, end_time=40)
    assert torch.equal(frames, frames_with(4, (0, 0, 0, 0, 1), (1, 1, 1, 2, 2), (2, 0, 0, 1, 1), (3, 1, 1, 0, 1)))


def test_order_of_events_does_not_matter():
    shuffled = EVENTS[np.random.default_rng(0).permutation(len(EVENTS))]
    assert torch.equal(events_to_frames(shuffled, SENSOR, n_time_bins=4), events_to_frames(EVENTS, SENSOR, n_time_bins=4))


def test_all_events_at_one_time_go_to_the_first_bin():
    events = make_events([(1, 1, 7, 0), (1, 1, 7, 1)])
    frames = events_to_frames(events, SENSOR, n_time_bins=3)
    assert frames[0].sum() == 2 and frames[1:].sum() == 0


def test_shd_events_without_y():
    # SHD: fields t, x, p (p = 1 everywhere), sensor (700, 1, 1): y counts as 0, p as channel 0
    events = make_events([(0.0, 3, 1), (500.0, 699, 1), (1000.0, 3, 1)], dtype=[("t", float), ("x", int), ("p", int)])
    frames = events_to_frames(events, (700, 1, 1), n_time_bins=2)
    assert frames.shape == (2, 1, 1, 700)
    assert frames[0, 0, 0, 3] == 1 and frames[1, 0, 0, 699] == 1 and frames[1, 0, 0, 3] == 1
    assert frames.sum() == 3


def test_missing_polarity_counts_as_channel_0():
    events = make_events([(1, 0, 5), (2, 1, 6)], dtype=[("x", int), ("y", int), ("t", int)])
    frames = events_to_frames(events, SENSOR, n_time_bins=1)
    assert frames[0, 0].sum() == 2 and frames[0, 1].sum() == 0


def test_empty_recording():
    empty = make_events([])
    assert torch.equal(events_to_frames(empty, SENSOR, n_time_bins=3), torch.zeros(3, 2, 2, 3))
    assert events_to_frames(empty, SENSOR, time_window=5, start_time=0, end_time=20).shape == (4, 2, 2, 3)
    with pytest.raises(ValueError, match="no events: pass start_time and end_time"):
        events_to_frames(empty, SENSOR, time_window=5)


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 4), st.integers(1, 3), st.integers(1, 2),
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 1000), st.integers(0, 1)), max_size=40),
    st.integers(1, 6), st.integers(1, 300),
)
def test_every_event_is_counted_once_where_it_belongs(w, h, n_pol, rows, n_bins, window):
    rows = [(x % w, y % h, t, p % n_pol) for x, y, t, p in rows]
    events = make_events(rows)
    per_pixel = np.zeros((n_pol, h, w), dtype=np.float32)
    for x, y, _, p in rows:
        per_pixel[p, y, x] += 1
    for frames in (
        events_to_frames(events, (w, h, n_pol), n_time_bins=n_bins),
        events_to_frames(events, (w, h, n_pol), time_window=window) if rows else None,
    ):
        if frames is None:
            continue
        assert frames.shape[1:] == (n_pol, h, w)
        np.testing.assert_array_equal(frames.sum(0).numpy(), per_pixel)


@pytest.mark.parametrize(
    "events, kwargs, message",
    [
        (np.zeros((3, 4)), {"n_time_bins": 2}, "structured array.*ToFrame"),
        ([1, 2], {"n_time_bins": 2}, "structured array"),
        (EVENTS, {}, "exactly one of n_time_bins or time_window"),
        (EVENTS, {"n_time_bins": 2, "time_window": 5}, "exactly one of"),
        (EVENTS, {"n_time_bins": 0}, "n_time_bins must be a positive int"),
        (EVENTS, {"n_time_bins": 2.0}, "n_time_bins must be a positive int"),
        (EVENTS, {"time_window": -1}, "time_window must be a positive number"),
        (EVENTS, {"time_window": "1e3"}, "time_window must be a positive number.*'1e3'"),
        (EVENTS, {"n_time_bins": 2, "start_time": 10, "end_time": 10}, r"end_time \(10.0\) must be after"),
        (EVENTS, {"n_time_bins": 2, "start_time": 50}, r"the last event's time \(40.0\) must be after start_time"),
        (make_events([(0, 5)], dtype=[("x", int), ("p", int)]), {"n_time_bins": 1}, "no 't' field"),
        (make_events([(0, 5, 0)], dtype=[("x", int), ("t", int), ("p", int)]), {"n_time_bins": 1}, "no 'y' field"),
        (make_events([(3, 0, 1, 0)]), {"n_time_bins": 1}, r"'x' spans 3..3, outside the sensor's 0..2"),
        (make_events([(0, 0, 1, 2)]), {"n_time_bins": 1}, r"'p' spans 2..2"),
        (make_events([(0, -1, 1, 0)]), {"n_time_bins": 1}, r"'y' spans -1..-1"),
    ],
)
def test_errors(events, kwargs, message):
    with pytest.raises(ValueError, match=message):
        events_to_frames(events, SENSOR, **kwargs)


@pytest.mark.parametrize("sensor", [(3, 2), (3, 0, 2), "abc", None])
def test_bad_sensor_size(sensor):
    with pytest.raises(ValueError, match=r"sensor_size must be \(W, H, P\)"):
        events_to_frames(EVENTS, sensor, n_time_bins=2)


# --- TonicFrames --------------------------------------------------------------------------


class FakeTonic(list):
    """What a Tonic data set offers: items (events, label), sensor_size, classes."""

    sensor_size = SENSOR
    classes = ["a", "b", "c"]


def test_tonic_frames_wraps_a_fake_dataset():
    ds = TonicFrames(FakeTonic([(EVENTS, 2), (EVENTS[:3], np.int64(0))]), n_time_bins=2)
    frames, label = ds[0]
    assert torch.equal(frames, events_to_frames(EVENTS, SENSOR, n_time_bins=2))
    assert label.dtype == torch.int64 and label.dim() == 0 and int(label) == 2
    assert int(ds[1][1]) == 0 and len(ds) == 2
    assert ds.is_sequence and not ds.per_step_labels
    assert ds.input_shape == (2, 2, 3) and ds.num_steps == 2 and ds.num_classes == 3
    x, y = collate_for(ds)([ds[0], ds[1]])
    assert x.shape == (2, 2, 2, 2, 3) and y.tolist() == [2, 0]  # [T, B, P, H, W]


def test_tonic_frames_on_a_plain_list_needs_sensor_size():
    with pytest.raises(ValueError, match="list has no sensor_size attribute; pass sensor_size"):
        TonicFrames([(EVENTS, 1)], n_time_bins=2)
    ds = TonicFrames([(EVENTS, 1)], time_window=10, sensor_size=SENSOR, start_time=0, end_time=50, num_classes=4)
    assert ds[0][0].shape == (5, 2, 2, 3) and ds.num_steps == 5 and ds.num_classes == 4
    assert TonicFrames([(EVENTS, 1)], time_window=10, sensor_size=SENSOR).num_steps is None


def test_tonic_frames_checks_binning_early():
    with pytest.raises(ValueError, match="exactly one of"):
        TonicFrames(FakeTonic(), n_time_bins=None)
