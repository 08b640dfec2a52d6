"""CubaLIF golden values with d_syn = d_mem = 0.5 (forward Euler, tau = 2 dt)."""

from spikeforge.functional import CubaLIFParameters
from spikeforge.functional.cuba import CUBA_LIF_MODEL

from ._golden import flat, seq

HALF = dict(tau_mem=2e-3, tau_syn=2e-3, dt=1e-3, method="euler")


def run(x, **kw):
    spikes, trace = CUBA_LIF_MODEL.sequence(seq(x), None, CubaLIFParameters(**{**HALF, **kw}), record=True)
    return flat(spikes), flat(trace.i), flat(trace.v), flat(trace.refrac)


def test_current_feeds_membrane():
    s, i, v, _ = run([2, 0, 0, 0])
    # i: 2, 1, 0.5, 0.25; u: 1 (spike at threshold -> 0), 0.5, 0.25 + 0.25 = 0.5, 0.25 + 0.125 = 0.375
    assert i == [2, 1, 0.5, 0.25]
    assert s == [1, 0, 0, 0]
    assert v == [0, 0.5, 0.5, 0.375]


def test_current_keeps_integrating_while_refractory():
    s, i, v, r = run([2, 2, 0], refractory_steps=1, reset="zero")
    # t0: i=2, u=1 -> spike, v=0; t1: refractory, i = 1 + 2 = 3 but v held at 0; t2: i = 1.5, u = 0.75
    assert s == [1, 0, 0] and i == [2, 3, 1.5] and v == [0, 0, 0.75] and r == [1, 0, 0]
