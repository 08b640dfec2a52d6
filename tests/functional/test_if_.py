"""IF golden values: u_t = v_{t-1} + r x_t."""

from spikeforge.functional import IFParameters
from spikeforge.functional.if_ import IF_MODEL

from ._golden import flat, seq


def run(x, **kw):
    spikes, trace = IF_MODEL.sequence(seq(x), None, IFParameters(**kw), record=True)
    return flat(spikes), flat(trace.v), flat(trace.refrac)


def test_integrates_without_leak_and_fires_at_threshold():
    s, v, _ = run([1, 1, 1, 1, 0, 0], r=0.5)
    assert s == [0, 1, 0, 1, 0, 0]
    assert v == [0.5, 0.0, 0.5, 0.0, 0.0, 0.0]


def test_no_leak_means_charge_is_kept():
    s, v, _ = run([0.25, 0, 0, 0.5])
    assert s == [0, 0, 0, 0] and v == [0.25, 0.25, 0.25, 0.75]


def test_rest_is_v_reset_and_zero_reset():
    s, v, _ = run([0.75, 1.0, 0.5], v_reset=0.25, reset="zero")
    # v_0 = 0.25 + 0.75 = 1.0 -> spike -> 0.25; v_1 = 1.25 -> spike -> 0.25; v_2 = 0.75
    assert s == [1, 1, 0] and v == [0.25, 0.25, 0.75]


def test_refractory():
    s, v, r = run([1, 1, 1, 1], refractory_steps=1)
    assert s == [1, 0, 1, 0] and v == [0, 0, 0, 0] and r == [1, 0, 1, 0]
