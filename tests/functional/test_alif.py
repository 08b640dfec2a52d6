"""ALIF golden values: d = rho = 0.5, beta = 2, v_threshold = 1.

theta_t = 1 + 2 b_{t-1};  u_t = 0.5 v_{t-1} + 0.5 x_t;  b_t = 0.5 b_{t-1} + 0.5 s_t.
"""

import torch

from spikeforge.functional import ALIFParameters, alif_threshold
from spikeforge.functional.alif import ALIF_MODEL

from ._golden import flat, seq

HALF = dict(tau_mem=2e-3, tau_adp=2e-3, beta=2.0, dt=1e-3, method="euler")


def run(x, **kw):
    spikes, trace = ALIF_MODEL.sequence(seq(x), None, ALIFParameters(**{**HALF, **kw}), record=True)
    return flat(spikes), flat(trace.v), flat(trace.b)


def test_threshold_adapts_after_spikes():
    s, v, b = run([2, 2, 2, 2, 2, 2])
    # t0: theta 1,     u 1    -> spike (at threshold), v 0,      b 0.5
    # t1: theta 2,     u 1    -> no,                   v 1,      b 0.25
    # t2: theta 1.5,   u 1.5  -> spike, v 0,                     b 0.625
    # t3: theta 2.25,  u 1    -> no,    v 1,                     b 0.3125
    # t4: theta 1.625, u 1.5  -> no,    v 1.5,                   b 0.15625
    # t5: theta 1.3125,u 1.75 -> spike, v 1.75 - 1.3125 = 0.4375, b 0.578125
    assert s == [1, 0, 1, 0, 0, 1]
    assert v == [0, 1, 0, 1, 1.5, 0.4375]
    assert b == [0.5, 0.25, 0.625, 0.3125, 0.15625, 0.578125]


def test_without_adaptation_it_is_a_lif():
    from spikeforge.functional import LIFParameters
    from spikeforge.functional.lif import LIF_MODEL

    x = torch.rand(50, 3, 7, dtype=torch.float64) * 3
    s_alif, st = ALIF_MODEL.sequence(x, None, ALIFParameters(tau_mem=15e-3, beta=0.0))
    s_lif, st_lif = LIF_MODEL.sequence(x, None, LIFParameters(tau_mem=15e-3))
    assert torch.equal(s_alif, s_lif) and torch.equal(st.v, st_lif.v)


def test_threshold_helper():
    p = ALIFParameters(**HALF)
    _, trace = ALIF_MODEL.sequence(seq([2, 2]), None, p, record=True)
    assert flat(alif_threshold(trace, p)) == [2.0, 1.5]
