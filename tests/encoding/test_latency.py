"""Latency coding: hand-worked spike times, ordering, one spike per input, errors."""

import math

import pytest
import torch

from spikeforge.encoding import first_spike_time, latency


def times(x, num_steps, **kw):
    """First spike step of each input (num_steps where there is none), after checking <= 1 spike."""
    s = latency(torch.tensor([x]), num_steps, **kw)
    assert bool((s.sum(0) <= 1).all())
    return first_spike_time(s)[0].tolist()


def test_linear_hand_worked_times():
    # T = 5: t = round((1 - x) * 4); x <= threshold (0.01) -> no spike (reported as T = 5)
    assert times([1.0, 0.75, 0.5, 0.25, 0.02, 0.01, 0.0], 5) == [0, 1, 2, 3, 4, 5, 5]


def test_linear_rounds_to_nearest_step():
    # T = 11: (1 - x) * 10 = 3.4 -> 3, 3.6 -> 4, 9.9 -> 10
    assert times([0.66, 0.64, 0.011], 11) == [3, 4, 10]


def test_linear_threshold_zero_keeps_everything_but_zero():
    assert times([0.0, 1e-3, 1.0], 8, threshold=0.0) == [8, 7, 0]


def test_log_hand_worked_times():
    # t = 5 ln(x / (x - 0.01)): x=1 -> 0.05, 0.02 -> 3.47, 0.011 -> 11.99, 0.0101 -> 23.08
    assert times([1.0, 0.02, 0.011, 0.0101, 0.01, 0.0], 50, method="log", tau=5.0) == [0, 3, 12, 23, 50, 50]
    # times past the window are clipped to the last step T - 1
    assert times([0.0101, 0.011], 20, method="log", tau=5.0) == [19, 12]


def test_log_tau_scales_times():
    x = 0.02  # ln 2
    assert times([x], 100, method="log", tau=10.0) == [round(10 * math.log(2))]
    assert times([x], 100, method="log", tau=40.0) == [round(40 * math.log(2))]


@pytest.mark.parametrize(
    ("x", "kw"),
    [
        ([0.1, 0.3, 0.5, 0.7, 0.9], dict(method="linear")),
        ([0.02, 0.05, 0.1, 0.3, 1.0], dict(method="log", tau=20.0)),
    ],
)
def test_brighter_inputs_spike_strictly_earlier(x, kw):
    t = times(x, 21 if kw["method"] == "linear" else 200, **kw)
    assert all(a > b for a, b in zip(t, t[1:])), t


@pytest.mark.parametrize("method", ["linear", "log"])
def test_one_spike_above_threshold_none_at_or_below(method):
    g = torch.Generator().manual_seed(0)
    x = torch.rand(16, 64, generator=g)
    x[:, :8] = 0.01  # exactly at the threshold
    x[:, 8:12] = 0.0
    s = latency(x, 30, method=method, threshold=0.01)
    count = s.sum(0)
    assert torch.equal(count, (x > 0.01).float())
    # monotone: sorting by intensity sorts the spike times the other way
    t = first_spike_time(s)[x > 0.01]
    order = torch.argsort(x[x > 0.01])
    assert bool((t[order].diff() <= 0).all())


def test_log_normalize_spans_the_window_per_sample():
    x = torch.tensor([[1.0, 0.5, 0.02, 0.0], [1.0, 0.8, 0.3, 0.005]])
    s = latency(x, 10, method="log", tau=5.0, normalize=True)
    t = first_spike_time(s)
    # each sample's dimmest spiking input fires at T - 1
    assert t[0, 2] == 9 and t[1, 2] == 9
    assert t[0, 3] == 10 and t[1, 3] == 10  # below threshold: no spike
    # samples are encoded independently of their batch mates
    assert torch.equal(latency(x[1:], 10, method="log", tau=5.0, normalize=True), s[:, 1:])
    # t * (T-1) / t_max with t = tau ln(x / (x - 0.01)), rounded
    raw = [5 * math.log(v / (v - 0.01)) for v in (1.0, 0.8, 0.3)]
    assert t[1, :3].tolist() == [round(r * 9 / raw[2]) for r in raw]


def test_dtype_device_and_shape():
    x = torch.rand(2, 3, 4, dtype=torch.float64)
    s = latency(x, 6)
    assert s.shape == (6, 2, 3, 4) and s.dtype == torch.float64 and s.device == x.device
    assert bool(((s == 0) | (s == 1)).all())


def test_single_step_window():
    assert times([1.0, 0.3, 0.0], 1) == [0, 0, 1]


def test_errors():
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*1\.5"):
        latency(torch.tensor([[0.5, 1.5]]), 5)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\].*-0\.1"):
        latency(torch.tensor([[-0.1, 0.5]]), 5)
    with pytest.raises(ValueError, match="method must be one of 'linear', 'log'"):
        latency(torch.rand(2, 2), 5, method="exp")
    with pytest.raises(ValueError, match="tau must be positive"):
        latency(torch.rand(2, 2), 5, method="log", tau=0.0)
    with pytest.raises(ValueError, match=r"threshold must lie in \[0, 1\)"):
        latency(torch.rand(2, 2), 5, threshold=1.0)
    with pytest.raises(TypeError, match="normalize must be a bool"):
        latency(torch.rand(2, 2), 5, normalize="yes")
    with pytest.raises(TypeError, match="floating-point"):
        latency(torch.ones(2, 2, dtype=torch.uint8), 5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        latency(torch.tensor([[float("inf")]]), 5)
