"""STDP math: traces, the seed's pair window, triplet closed form, weight dependence, bounds."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from spikeforge.functional.plasticity import (
    PAIRINGS,
    RewardParameters,
    STDPParameters,
    TripletParameters,
    conv2d_correlation,
    linear_correlation,
    normalize_weights,
    pair_stdp_sequence,
    pair_stdp_step,
    pair_window,
    reward_stdp_sequence,
    trace_step,
    triplet_pairing_change,
    triplet_stdp_sequence,
    validate_parameters,
)

DT = 1e-3
P = STDPParameters(a_pre=0.01, a_post=0.012, tau_pre=20e-3, tau_post=30e-3, clip=False, w_min=-10.0, w_max=10.0)


def spikes_at(times: list[int], steps: int) -> torch.Tensor:
    s = torch.zeros(steps, 1, 1, dtype=torch.float64)
    for t in times:
        s[t] += 1
    return s


def test_traces_add_or_reset():
    s = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    x_all, x_near = torch.zeros(()), torch.zeros(())
    got_all, got_near = [], []
    for v in s:
        x_all, x_near = trace_step(x_all, v, 0.5, "all_to_all"), trace_step(x_near, v, 0.5, "nearest")
        got_all.append(float(x_all))
        got_near.append(float(x_near))
    assert got_all == [1.0, 0.5, 1.25, 0.625]
    assert got_near == [1.0, 0.5, 1.0, 0.5]


@pytest.mark.parametrize("pairing", PAIRINGS)
@pytest.mark.parametrize("lag", [1, 5, 20, -1, -5, -20])
def test_one_pair_changes_the_weight_by_the_seed_formula(pairing, lag):
    """Pre at t0, post at t0 + lag: +A_pre e^{-Δt/τ+} (pre first) or -A_post e^{Δt/τ-} (post first)."""
    p = P._replace(pairing=pairing)
    t0, steps = 30, 60
    pre, post = spikes_at([t0], steps), spikes_at([t0 + lag], steps)
    w = torch.zeros(1, 1, dtype=torch.float64)
    state, total, traces_at_second = None, torch.zeros_like(w), None
    for t in range(steps):
        dw, state = pair_stdp_step(pre[t], post[t], state, w, p)
        total += dw
        if t == t0 + max(lag, 0):
            traces_at_second = state
    delta_t = lag * DT
    expected = 0.01 * math.exp(-delta_t / 20e-3) if lag > 0 else -0.012 * math.exp(delta_t / 30e-3)
    assert float(total) == pytest.approx(expected, rel=1e-12, abs=0)
    # the trace read at the second spike is e^{-|Δt|/τ} of the first one
    if lag > 0:
        assert float(traces_at_second.pre) == pytest.approx(math.exp(-delta_t / 20e-3), rel=1e-12)
    else:
        assert float(traces_at_second.post) == pytest.approx(math.exp(delta_t / 30e-3), rel=1e-12)
    assert float(total) == pytest.approx(float(pair_window(torch.tensor(delta_t, dtype=torch.float64), p)), rel=1e-12)


def test_all_to_all_sums_every_pair_nearest_takes_the_latest():
    pre, post = spikes_at([10, 15], 40), spikes_at([20], 40)
    w = torch.zeros(1, 1, dtype=torch.float64)
    a2a, _ = pair_stdp_sequence(pre, post, None, w, P)
    near, _ = pair_stdp_sequence(pre, post, None, w, P._replace(pairing="nearest"))
    ltp = lambda lag: 0.01 * math.exp(-lag * DT / 20e-3)  # noqa: E731
    assert float(a2a) == pytest.approx(ltp(10) + ltp(5), rel=1e-12)
    assert float(near) == pytest.approx(ltp(5), rel=1e-12)


def test_coincident_spikes_count_both_orders():
    s = spikes_at([3], 6)
    dw, _ = pair_stdp_sequence(s, s, None, torch.zeros(1, 1, dtype=torch.float64), P)
    assert float(dw) == pytest.approx(0.01 - 0.012, rel=1e-12)


def test_multiplicative_and_offset_weight_dependence():
    pre, post = spikes_at([10], 30), spikes_at([15], 30)
    w = torch.full((1, 1), 0.3, dtype=torch.float64)
    mult = P._replace(weight_dependence="multiplicative", w_min=0.0, w_max=1.0, mu=0.5)
    dw, _ = pair_stdp_sequence(pre, post, None, w, mult)
    assert float(dw) == pytest.approx(0.01 * math.exp(-5e-3 / 20e-3) * (1 - 0.3) ** 0.5, rel=1e-12)
    # offset: a post spike with no pre spike before it depresses by a_pre x_tar (w_max - w)^mu
    off = P._replace(weight_dependence="offset", w_min=0.0, w_max=1.0, a_post=0.0, x_tar=0.4, mu=1.0)
    dw, _ = pair_stdp_sequence(torch.zeros(30, 1, 1, dtype=torch.float64), post, None, w, off)
    assert float(dw) == pytest.approx(-0.01 * 0.4 * 0.7, rel=1e-12)
    dw, _ = pair_stdp_sequence(spikes_at([15], 30), post, None, w, off)
    assert float(dw) == pytest.approx(0.01 * 0.6 * 0.7, rel=1e-12)


@pytest.mark.parametrize("delta_t,rho", [(10e-3, 20.0), (-10e-3, 20.0), (5e-3, 1.0), (-25e-3, 10.0), (10e-3, 40.0)])
def test_triplet_pairing_protocol_matches_the_closed_form(delta_t, rho):
    """60 pre-post pairs at rho Hz (Pfister & Gerstner's protocol; 10 at 1 Hz, to keep the run short),
    all-to-all, additive."""
    p = TripletParameters(clip=False, w_min=-1.0, w_max=1.0)
    period, lag, n_pairs = round(1 / (rho * DT)), round(abs(delta_t) / DT), 60 if rho > 1 else 10
    first, second = [k * period for k in range(n_pairs)], [k * period + lag for k in range(n_pairs)]
    pre_t, post_t = (first, second) if delta_t > 0 else (second, first)
    steps = n_pairs * period + lag + 1
    w = torch.zeros(1, 1, dtype=torch.float64)
    dw, _ = triplet_stdp_sequence(spikes_at(pre_t, steps), spikes_at(post_t, steps), None, w, p)
    expected = triplet_pairing_change(delta_t, rho, n_pairs, p)
    assert float(dw) == pytest.approx(expected, rel=1e-9)
    # with the triplet terms the change depends on the frequency (the paper's Fig. 5): at 40 Hz
    # even post-before-pre pairs potentiate, unlike the pair rule
    if rho == 40.0:
        assert triplet_pairing_change(-10e-3, 40.0, 60, p) > 0 > triplet_pairing_change(-10e-3, 1.0, 60, p)


def test_triplet_without_triplet_terms_is_the_pair_rule():
    torch.manual_seed(0)
    pre = (torch.rand(50, 3, 4, dtype=torch.float64) < 0.2).double()
    post = (torch.rand(50, 3, 2, dtype=torch.float64) < 0.2).double()
    w = torch.rand(2, 4, dtype=torch.float64)
    for pairing in PAIRINGS:
        trip = TripletParameters(a2_plus=0.01, a3_plus=0.0, a2_minus=0.012, a3_minus=0.0, tau_plus=20e-3,
                                 tau_minus=30e-3, pairing=pairing)
        dw_t, _ = triplet_stdp_sequence(pre, post, None, w, trip)
        dw_p, _ = pair_stdp_sequence(pre, post, None, w, STDPParameters(a_pre=0.01, a_post=0.012, tau_pre=20e-3,
                                                                        tau_post=30e-3, pairing=pairing))
        torch.testing.assert_close(dw_t, dw_p, rtol=1e-12, atol=1e-15)


def test_vectorized_sequence_equals_the_step_loop():
    torch.manual_seed(1)
    pre = (torch.rand(40, 2, 5, dtype=torch.float64) < 0.3).double()
    post = (torch.rand(40, 2, 3, dtype=torch.float64) < 0.3).double()
    w = torch.rand(3, 5, dtype=torch.float64)
    fast, s_fast = pair_stdp_sequence(pre, post, None, w, P)  # additive, unbounded: one product
    loop, state = torch.zeros_like(w), None
    for t in range(40):
        dw, state = pair_stdp_step(pre[t], post[t], state, w, P)
        loop += dw
    torch.testing.assert_close(fast, loop, rtol=1e-12, atol=1e-15)
    torch.testing.assert_close(s_fast.pre, state.pre)


def test_conv2d_correlation_is_the_kernel_sum():
    torch.manual_seed(2)
    post, pre = torch.rand(2, 3, 4, 4, dtype=torch.float64), torch.rand(2, 2, 6, 6, dtype=torch.float64)
    got = conv2d_correlation((3, 2, 3, 3))(post, pre, False)
    expected = torch.zeros(3, 2, 3, 3, dtype=torch.float64)
    for o in range(3):
        for i in range(2):
            for ky in range(3):
                for kx in range(3):
                    expected[o, i, ky, kx] = (post[:, o] * pre[:, i, ky:ky + 4, kx:kx + 4]).sum()
    torch.testing.assert_close(got, expected)
    per = conv2d_correlation((3, 2, 3, 3))(post, pre, True)
    torch.testing.assert_close(per.sum(0), expected)
    torch.testing.assert_close(linear_correlation(post[:, :, 0, 0], pre[:, :, 0, 0], True).sum(0),
                               linear_correlation(post[:, :, 0, 0], pre[:, :, 0, 0]))


def test_reward_turns_eligibility_into_change():
    pre, post = spikes_at([5], 30), spikes_at([10], 30)
    w = torch.zeros(1, 1, dtype=torch.float64)
    p = RewardParameters(STDPParameters(a_pre=0.01, a_post=0.012, clip=False, w_min=-1.0), tau_e=0.1, lr=2.0)
    dw, state = reward_stdp_sequence(pre, post, None, w, 0.0, p)
    eligible = 0.01 * math.exp(-5e-3 / 20e-3)
    assert float(dw) == 0.0 and float(state.eligibility) == pytest.approx(eligible * math.exp(-19e-3 / 0.1), rel=1e-12)
    reward = torch.zeros(30, dtype=torch.float64)
    reward[20] = 1.5
    dw, _ = reward_stdp_sequence(pre, post, None, w, reward, p)
    assert float(dw) == pytest.approx(2.0 * 1.5 * eligible * math.exp(-10e-3 / 0.1), rel=1e-12)


def test_normalize_weights_per_post_neuron():
    w = torch.tensor([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]])
    out = normalize_weights(w, 8.0)
    torch.testing.assert_close(out, torch.tensor([[2.0, 6.0], [0.0, 0.0], [4.0, 4.0]]))


@pytest.mark.parametrize("change,message", [
    ({"pairing": "closest"}, "pairing must be one of"),
    ({"weight_dependence": "soft"}, "weight_dependence must be one of"),
    ({"tau_pre": 0.0}, "tau_pre must be a positive time"),
    ({"a_post": -1.0}, "a_post must be >= 0"),
    ({"w_min": 1.0, "w_max": 1.0}, "w_min must be below w_max"),
    ({"weight_dependence": "multiplicative", "w_max": math.inf}, "needs a finite w_max"),
    ({"reduction": "max"}, "reduction must be"),
])
def test_bad_parameters_raise(change, message):
    with pytest.raises(ValueError, match=message):
        validate_parameters(STDPParameters()._replace(**change))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), dependence=st.sampled_from(["additive", "multiplicative", "offset"]),
       pairing=st.sampled_from(PAIRINGS), amp=st.floats(1e-3, 5.0), triplet=st.booleans(),
       bounds=st.tuples(st.floats(-2.0, 0.5), st.floats(0.01, 2.0)))
def test_bounds_are_never_crossed(seed, dependence, pairing, amp, triplet, bounds):
    w_min, w_max = bounds[0], bounds[0] + bounds[1]
    g = torch.Generator().manual_seed(seed)
    pre = (torch.rand(30, 3, 6, generator=g) < 0.4).float()
    post = (torch.rand(30, 3, 4, generator=g) < 0.4).float()
    w = w_min + (w_max - w_min) * torch.rand(4, 6, generator=g)
    if triplet:
        p = TripletParameters(a2_plus=amp, a3_plus=amp, a2_minus=amp, a3_minus=amp, pairing=pairing,
                              weight_dependence=dependence, w_min=w_min, w_max=w_max, x_tar=0.5)
        dw, _ = triplet_stdp_sequence(pre, post, None, w, p)
    else:
        p = STDPParameters(a_pre=amp, a_post=amp, pairing=pairing, weight_dependence=dependence, w_min=w_min,
                           w_max=w_max, x_tar=0.5)
        dw, _ = pair_stdp_sequence(pre, post, None, w, p)
    out = w + dw
    assert bool((out >= w_min - 1e-6).all()) and bool((out <= w_max + 1e-6).all())
