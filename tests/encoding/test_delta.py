"""Delta (send-on-delta) coding: events exactly where the change reaches the threshold."""

import pytest
import torch

from spikeforge.encoding import delta


def events(signal, threshold, **kw):
    """ON and OFF event steps of a one-channel signal."""
    s = delta(torch.tensor(signal).view(-1, 1), threshold, **kw)[:, 0]
    on = s[:, 0].nonzero().flatten().tolist()
    off = s[:, 1].nonzero().flatten().tolist() if s.shape[1] > 1 else None
    return on, off


def test_hand_made_signal():
    #        t: 0    1     2    3     4    5    6    7     8    9     10
    signal = [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5, 0.25, 0.0, -1.0, 0.0]
    # ref 0 -> ON at 2 (0.5) -> ON at 4 (1.0) -> OFF at 6 (0.5) -> OFF at 8 (0.0)
    # -> OFF at 9 (a drop of 1.0 is still one event; ref -1) -> ON at 10
    assert events(signal, 0.5) == ([2, 4, 10], [6, 8, 9])


def test_change_just_below_threshold_gives_nothing():
    assert events([0.0, 0.49, 0.0, -0.49, 0.0], 0.5) == ([], [])


def test_slow_drift_accumulates_against_the_reference():
    # each step changes by 0.125 < 0.5, but the reference stays put until the total reaches 0.5
    signal = [0.125 * k for k in range(9)]
    assert events(signal, 0.5) == ([4, 8], [])


def test_reference_jumps_to_the_signal_not_by_the_threshold():
    # 0 -> 0.75 is one ON (ref 0.75); 0.75 -> 1.0 is only 0.25: no event
    assert events([0.0, 0.75, 1.0], 0.5) == ([1], [])


def test_constant_signal_gives_no_events():
    x = torch.full((20, 3, 4), 2.5)
    assert delta(x, 0.1).sum() == 0


def test_shape_dtype_and_channels():
    x = torch.randn(7, 2, 3, 5, dtype=torch.float64)
    s = delta(x, 0.3)
    assert s.shape == (7, 2, 2, 3, 5) and s.dtype == torch.float64
    assert bool(((s == 0) | (s == 1)).all())
    assert bool((s.sum(2) <= 1).all())  # never ON and OFF at once
    assert s[0].sum() == 0  # step 0 only sets the reference


def test_off_spikes_false_keeps_the_same_on_channel():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, 4, 3, generator=g).cumsum(0)
    both = delta(x, 0.7)
    on_only = delta(x, 0.7, off_spikes=False)
    assert on_only.shape == (30, 4, 1, 3)
    assert torch.equal(on_only, both[:, :, :1])


def test_elements_are_encoded_independently():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(25, 3, 2, generator=g).cumsum(0)
    s = delta(x, 0.5)
    for b in range(3):
        for f in range(2):
            assert torch.equal(delta(x[:, b : b + 1, f], 0.5), s[:, b : b + 1, :, f])


def test_per_feature_threshold_tensor():
    x = torch.tensor([0.0, 0.3, 0.6]).view(3, 1, 1).expand(3, 1, 2).contiguous()
    s = delta(x, torch.tensor([0.25, 0.5]))
    assert s[:, 0, 0, 0].tolist() == [0.0, 1.0, 1.0]  # threshold 0.25: ON at 1 and 2
    assert s[:, 0, 0, 1].tolist() == [0.0, 0.0, 1.0]  # threshold 0.5: ON at 2


def test_errors():
    with pytest.raises(ValueError, match="threshold must be positive"):
        delta(torch.zeros(3, 2), 0.0)
    with pytest.raises(ValueError, match="threshold must be positive"):
        delta(torch.zeros(3, 2), -1.0)
    with pytest.raises(ValueError, match=r"at least 2 dimensions.*\[T, B, \.\.\.\]"):
        delta(torch.zeros(5), 0.5)
    with pytest.raises(TypeError, match="floating-point"):
        delta(torch.zeros(3, 2, dtype=torch.int32), 0.5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        delta(torch.tensor([[0.0], [float("nan")]]), 0.5)
