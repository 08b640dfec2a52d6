"""LIF golden values worked out by hand.

With method="euler", tau_mem = 2 ms and dt = 1 ms the decay is d = 1 - dt/tau = 0.5,
so u_t = 0.5 v_{t-1} + 0.5 x_t (v_leak = 0, r = 1): every number below is an exact
binary fraction.
"""

import pytest
import torch

from spikeforge.functional import LIFParameters, lif_sequence, lif_step
from spikeforge.functional.lif import LIF_MODEL

from ._golden import flat, seq

HALF = dict(tau_mem=2e-3, dt=1e-3, method="euler")


def run(x, **kw):
    spikes, trace = LIF_MODEL.sequence(seq(x), None, LIFParameters(**{**HALF, **kw}), record=True)
    return flat(spikes), flat(trace.v), flat(trace.refrac)


def test_subthreshold_integration_and_subtract_reset():
    s, v, _ = run([1, 1, 1, 2, 0])
    # u: 0.5, 0.75, 0.875, 0.4375 + 1 = 1.4375 -> spike, subtract 1 -> 0.4375; then 0.21875
    assert s == [0, 0, 0, 1, 0]
    assert v == [0.5, 0.75, 0.875, 0.4375, 0.21875]


def test_membrane_exactly_at_threshold_fires():
    s, v, _ = run([2, 0])  # u_0 = 0.5 * 2 = 1.0 == v_threshold
    assert s == [1, 0] and v == [0.0, 0.0]


def test_just_below_threshold_does_not_fire():
    s, _, _ = run([1.9999999, 0])
    assert s == [0, 0]


def test_reset_to_value():
    s, v, _ = run([3, 0], reset="zero", v_reset=-0.25)
    # u_0 = 1.5 -> spike -> v = -0.25; u_1 = -0.125
    assert s == [1, 0] and v == [-0.25, -0.125]


def test_subtract_reset_with_nonzero_v_reset_subtracts_threshold_minus_reset():
    s, v, _ = run([3], v_reset=-0.5)
    assert s == [1] and v == [1.5 - 1.5]


def test_no_reset_keeps_firing():
    s, v, _ = run([3, 0, 0], reset="none")
    # u: 1.5 (spike), 0.75, 0.375
    assert s == [1, 0, 0] and v == [1.5, 0.75, 0.375]


def test_refractory_period_ignores_input_and_blocks_spikes():
    s, v, r = run([2, 2, 2, 2, 2, 2], reset="zero", refractory_steps=2)
    # fires at t=0, held at 0 for t=1,2 (input ignored), integrates at t=3: u = 0 + 1 -> fires again
    assert s == [1, 0, 0, 1, 0, 0]
    assert v == [0, 0, 0, 0, 0, 0]
    assert r == [2, 1, 0, 2, 1, 0]


def test_refractory_holds_subtract_reset_membrane():
    s, v, r = run([3, 3, 3, 0], refractory_steps=1)
    # t0: u=1.5 spike -> 0.5; t1 refractory: held at 0.5; t2: u = 0.25 + 1.5 = 1.75 spike -> 0.75; t3: refractory
    assert s == [1, 0, 1, 0] and v == [0.5, 0.5, 0.75, 0.75] and r == [1, 0, 1, 0]


def test_exact_exponential_decay_and_leak():
    p = LIFParameters(tau_mem=10e-3, v_leak=-0.5, v_threshold=1.0, v_reset=-1.0)
    x = torch.zeros(3, 1, 1, dtype=torch.float64)
    state = LIF_MODEL.init_state(x[0], p)._replace(v=torch.full((1, 1), 0.5, dtype=torch.float64))
    _, state = lif_sequence(x, state, p)
    d = torch.exp(torch.tensor(-0.1, dtype=torch.float64))
    assert state.v.item() == pytest.approx(-0.5 + d.item() ** 3 * 1.0)


def test_constant_input_settles_at_r_times_x():
    p = LIFParameters(tau_mem=5e-3, r=2.0, v_threshold=10.0)
    _, state = lif_sequence(torch.full((400, 1, 1), 1.5, dtype=torch.float64), None, p)
    assert state.v.item() == pytest.approx(3.0)


def test_step_from_rest():
    s, state = lif_step(torch.tensor([[2.0, 1.0]]), None, LIFParameters(**HALF))
    assert s.tolist() == [[1.0, 0.0]] and state.v.tolist() == [[0.0, 0.5]]


def test_zero_length_sequence():
    spikes, state = lif_sequence(torch.zeros(0, 3, 4))
    assert spikes.shape == (0, 3, 4) and state.v.shape == (3, 4)
