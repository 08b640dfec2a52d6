"""Decoders on a hand-made spike train and membrane trace."""

import math

import pytest
import torch

from spikeforge.encoding import (
    accuracy,
    first_spike_time,
    firing_rate,
    last_membrane,
    max_membrane,
    mean_membrane,
    spike_count,
)

from ._data import SPIKES, V


def test_spike_count():
    assert spike_count(SPIKES).tolist() == [[2, 3, 0], [1, 0, 2]]


def test_firing_rate_per_step_and_in_hz():
    assert firing_rate(SPIKES).tolist() == [[0.5, 0.75, 0.0], [0.25, 0.0, 0.5]]
    hz = firing_rate(SPIKES, dt=1e-3)
    assert torch.allclose(hz, torch.tensor([[500.0, 750.0, 0.0], [250.0, 0.0, 500.0]]))


def test_first_spike_time_with_never_firing_neurons():
    t = first_spike_time(SPIKES)
    assert t.dtype == torch.int64
    assert t.tolist() == [[1, 0, 4], [3, 4, 1]]  # 4 = T: never fires


def test_first_spike_time_higher_rank_and_empty():
    s = torch.zeros(5, 2, 3, 4)
    s[2, 1, 0, 3] = 1.0
    s[4, 1, 0, 3] = 1.0
    t = first_spike_time(s)
    assert t.shape == (2, 3, 4) and t[1, 0, 3] == 2 and (t.sum() - 2) == 5 * (t.numel() - 1)
    assert first_spike_time(torch.zeros(3, 0, 2)).shape == (0, 2)


def test_membrane_readouts():
    assert torch.allclose(max_membrane(V), torch.tensor([[0.7, 0.5]]))
    assert torch.allclose(mean_membrane(V), torch.tensor([[0.4, -0.1]]))
    assert torch.equal(last_membrane(V), torch.tensor([[0.4, 0.5]]))


def test_membrane_readouts_are_differentiable():
    v = V.clone().requires_grad_(True)
    (max_membrane(v).sum() + mean_membrane(v).sum() + last_membrane(v).sum()).backward()
    expected = torch.full_like(V, 1 / 3)
    expected[1, 0, 0] += 1  # max of channel 0
    expected[2] += 1  # last step; also the max of channel 1
    expected[2, 0, 1] += 1
    assert torch.allclose(v.grad, expected)


def test_accuracy():
    counts = spike_count(SPIKES)  # argmax: [1, 2]
    assert accuracy(counts, torch.tensor([1, 0])) == 0.5
    assert accuracy(counts, torch.tensor([1, 2])) == 1.0
    assert accuracy(counts.long(), torch.tensor([0, 0])) == 0.0
    assert isinstance(accuracy(counts, torch.tensor([1, 2])), float)
    # ties go to the lowest index: a silent output predicts class 0
    assert accuracy(torch.zeros(2, 3), torch.tensor([0, 1])) == 0.5
    assert math.isnan(accuracy(torch.zeros(0, 3), torch.zeros(0, dtype=torch.int64)))


DECODERS = [spike_count, firing_rate, first_spike_time, max_membrane, mean_membrane, last_membrane]


@pytest.mark.parametrize("decode", DECODERS)
def test_decoder_errors(decode):
    with pytest.raises(ValueError, match=r"at least 2 dimensions laid out as \[T, B, \.\.\.\]"):
        decode(torch.zeros(4))
    with pytest.raises(TypeError, match="floating-point"):
        decode(torch.zeros(4, 2, dtype=torch.int64))
    with pytest.raises(ValueError, match="NaN or Inf"):
        decode(torch.tensor([[0.0], [float("nan")]]))


def test_firing_rate_bad_dt():
    with pytest.raises(ValueError, match="dt must be positive"):
        firing_rate(SPIKES, dt=-1e-3)


def test_accuracy_errors():
    target = torch.tensor([0, 1])
    with pytest.raises(ValueError, match=r"scores must have exactly 2 dimensions laid out as \[B, C\]"):
        accuracy(SPIKES, target)
    with pytest.raises(TypeError, match="real-valued"):
        accuracy(torch.zeros(2, 3, dtype=torch.bool), target)
    with pytest.raises(TypeError, match="int64 tensor of class indices.*float32"):
        accuracy(torch.zeros(2, 3), target.float())
    with pytest.raises(ValueError, match=r"target must have shape \[B\] = \(2,\)"):
        accuracy(torch.zeros(2, 3), torch.tensor([0, 1, 2]))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        accuracy(torch.zeros(2, 3), torch.tensor([0, 3]))
