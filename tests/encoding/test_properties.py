"""Property tests: invariants of every encoder and of the first-spike decoders."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.encoding import (
    bernoulli,
    delta,
    first_spike_time,
    latency,
    poisson,
    soft_first_spike_time,
)

SETTINGS = settings(max_examples=40, deadline=None)
shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)
steps = st.integers(1, 12)
seeds = st.integers(0, 2**31 - 1)
dtypes = st.sampled_from([torch.float32, torch.float64])


def intensities(shape, seed, dtype, quantize):
    """Values in [0, 1]; quantized to quarters to hit 0, 1 and exact ties often."""
    x = torch.rand(shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)
    return (x * 4).round() / 4 if quantize else x


def is_binary(s):
    return bool(((s == 0) | (s == 1)).all())


@SETTINGS
@given(shape=shapes, num_steps=steps, seed=seeds, dtype=dtypes, gain=st.floats(0, 3), quantize=st.booleans())
def test_rate_encoders_give_binary_spikes_of_the_right_shape(shape, num_steps, seed, dtype, gain, quantize):
    x = intensities(shape, seed, dtype, quantize)
    g = torch.Generator().manual_seed(seed)
    for s in (bernoulli(x, num_steps, gain=gain, generator=g), poisson(x * 500, num_steps, generator=g)):
        assert s.shape == (num_steps, *shape) and s.dtype == dtype and is_binary(s)
    # zero intensity never fires, full intensity (gain >= 1) always fires
    s = bernoulli(x, num_steps, gain=gain, generator=g)
    assert s[:, x == 0].sum() == 0
    if gain >= 1:
        assert bool((s[:, x == 1] == 1).all())


@SETTINGS
@given(
    shape=shapes, num_steps=steps, seed=seeds, dtype=dtypes, quantize=st.booleans(),
    method=st.sampled_from(["linear", "log"]), threshold=st.sampled_from([0.0, 0.01, 0.25]),
    normalize=st.booleans(),
)
def test_latency_one_spike_per_input_above_threshold_and_monotone(
    shape, num_steps, seed, dtype, quantize, method, threshold, normalize
):
    x = intensities(shape, seed, dtype, quantize)
    s = latency(x, num_steps, method=method, threshold=threshold, normalize=normalize)
    assert s.shape == (num_steps, *shape) and s.dtype == dtype and is_binary(s)
    assert torch.equal(s.sum(0), (x > threshold).to(dtype))
    if not normalize:  # without per-sample scaling a brighter input never fires later
        flat_x, flat_t = x.flatten(), first_spike_time(s).flatten()
        order = torch.argsort(flat_x)
        assert bool((flat_t[order].diff() <= 0).all())


@SETTINGS
@given(
    t=st.integers(1, 12), shape=shapes, seed=seeds, dtype=dtypes,
    threshold=st.floats(0.05, 2.0), off_spikes=st.booleans(),
)
def test_delta_events_are_binary_exclusive_and_only_at_real_changes(t, shape, seed, dtype, threshold, off_spikes):
    x = torch.randn((t, *shape), generator=torch.Generator().manual_seed(seed), dtype=dtype).cumsum(0)
    s = delta(x, threshold, off_spikes=off_spikes)
    channels = 2 if off_spikes else 1
    assert s.shape == (t, shape[0], channels, *shape[1:]) and s.dtype == dtype and is_binary(s)
    assert bool((s.sum(2) <= 1).all())
    assert s[0].sum() == 0
    # an event needs a change of at least the threshold since the previous step's reference,
    # which the signal must have crossed: so no event where the signal is constant over time
    const = delta(x[:1].expand_as(x).contiguous(), threshold, off_spikes=off_spikes)
    assert const.sum() == 0


@SETTINGS
@given(t=st.integers(1, 10), shape=shapes, seed=seeds, p=st.floats(0, 1))
def test_soft_first_spike_time_matches_first_spike_time_on_binary_spikes(t, shape, seed, p):
    s = (torch.rand((t, *shape), generator=torch.Generator().manual_seed(seed)) < p).float()
    assert torch.equal(soft_first_spike_time(s), first_spike_time(s).float())
