"""Invariants that hold for any parameters (hypothesis)."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ._models import PAIRS, SPIKING

names = st.sampled_from(SPIKING)
resets = st.sampled_from(["subtract", "zero", "none"])


@settings(max_examples=40, deadline=None)
@given(name=names, reset=resets, refrac=st.integers(0, 3), seed=st.integers(0, 2**16),
       scale=st.floats(0.0, 10.0), threshold=st.floats(0.1, 3.0))
def test_spikes_are_binary_and_refractory_respected(name, reset, refrac, seed, scale, threshold):
    g = torch.Generator().manual_seed(seed)
    _, seq_cls = PAIRS[name]
    m = seq_cls(reset=reset, refractory_steps=refrac, v_threshold=threshold)
    x = torch.rand(30, 3, 4, generator=g) * scale
    spikes, _ = m(x)
    assert bool(((spikes == 0) | (spikes == 1)).all())
    if refrac:  # after a spike, at least `refrac` silent steps
        s = spikes.reshape(30, -1)
        for t in range(1, refrac + 1):
            assert not bool((s[:-t] * s[t:]).any())


@settings(max_examples=30, deadline=None)
@given(name=names, reset=resets, threshold=st.floats(0.01, 5.0))
def test_no_input_from_rest_gives_no_spikes(name, reset, threshold):
    _, seq_cls = PAIRS[name]
    spikes, _ = seq_cls(reset=reset, v_threshold=threshold)(torch.zeros(50, 2, 3))
    assert spikes.sum() == 0


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), gain=st.floats(1.0, 4.0))
def test_more_input_never_fewer_lif_spikes(seed, gain):
    """Monotonicity of the LIF with subtractive reset: scaling a positive input up
    does not reduce the spike count."""
    _, seq_cls = PAIRS["lif"]
    x = torch.rand(80, 2, 5, generator=torch.Generator().manual_seed(seed)) * 2
    lif = seq_cls(v_threshold=0.5)
    assert bool((lif(x * gain)[0].sum(0) >= lif(x)[0].sum(0)).all())
