"""STDP rules on connections: -Δw in .grad, step == sequence, SGD(lr=1) is the textbook rule."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from spikeforge.learning.stdp import PairSTDP, RewardSTDP, TripletSTDP


def _linear(seed: int = 0) -> nn.Linear:
    torch.manual_seed(seed)
    fc = nn.Linear(6, 4, bias=False).double()
    with torch.no_grad():
        fc.weight.uniform_(0.1, 0.9)
    return fc


def _conv(seed: int = 0) -> nn.Conv2d:
    torch.manual_seed(seed)
    conv = nn.Conv2d(2, 3, 3, padding=1, bias=False).double()
    with torch.no_grad():
        conv.weight.uniform_(0.1, 0.9)
    return conv


def _spikes(shape, p=0.3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(shape, generator=g) < p).double()


RULES = [
    ("pair-additive", PairSTDP, {"a_pre": 0.05, "a_post": 0.06}),
    ("pair-nearest-multiplicative", PairSTDP, {"a_pre": 0.05, "a_post": 0.06, "pairing": "nearest",
                                               "weight_dependence": "multiplicative", "mu": 0.7}),
    ("pair-offset", PairSTDP, {"a_pre": 0.05, "a_post": 0.0, "weight_dependence": "offset", "x_tar": 0.4}),
    ("triplet", TripletSTDP, {"a2_plus": 0.01, "a3_plus": 0.05, "a2_minus": 0.03, "a3_minus": 0.01}),
    ("triplet-nearest-soft", TripletSTDP, {"a3_plus": 0.05, "a2_minus": 0.03, "pairing": "nearest",
                                           "weight_dependence": "multiplicative"}),
    ("reward", RewardSTDP, {"a_pre": 0.05, "a_post": 0.06, "tau_e": 0.05, "lr": 0.5}),
]


@pytest.mark.parametrize("name,cls,kwargs", RULES, ids=[r[0] for r in RULES])
@pytest.mark.parametrize("kind", ["linear", "conv2d"])
def test_sequence_and_steps_give_the_same_weights(name, cls, kwargs, kind):
    steps = 25
    make = _linear if kind == "linear" else _conv
    shapes = ((steps, 3, 6), (steps, 3, 4)) if kind == "linear" else ((steps, 2, 2, 5, 5), (steps, 2, 3, 5, 5))
    pre, post = _spikes(shapes[0], seed=1), _spikes(shapes[1], seed=2)
    extra = {"reward": torch.linspace(-1, 1, steps, dtype=torch.float64)} if cls is RewardSTDP else {}

    seq_conn = make()
    cls(seq_conn, **kwargs).sequence(pre, post, **extra)
    seq_w = seq_conn.weight.detach() - seq_conn.weight.grad

    step_conn = make()
    rule = cls(step_conn, **kwargs)
    opt = torch.optim.SGD(step_conn.parameters(), lr=1.0)
    state = None
    for t in range(steps):
        state = rule.step(pre[t], post[t], state, **({"reward": extra["reward"][t]} if extra else {}))
        if t % 3 == 0:  # applying in between or accumulating in .grad gives the same weights
            opt.step()
            opt.zero_grad()
    opt.step()
    torch.testing.assert_close(step_conn.weight.detach(), seq_w, rtol=1e-10, atol=1e-12)
    assert not torch.equal(seq_w, make().weight.detach())  # something was learned


def test_sgd_with_lr_one_applies_the_textbook_window():
    fc = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        fc.weight.fill_(0.5)
    rule = PairSTDP(fc, a_pre=0.01, a_post=0.012, tau_pre=20e-3, tau_post=30e-3)
    opt = torch.optim.SGD(fc.parameters(), lr=1.0)
    pre, post = torch.zeros(40, 1, 1), torch.zeros(40, 1, 1)
    pre[10], post[17] = 1, 1
    opt.zero_grad()
    rule.sequence(pre, post)
    assert float(fc.weight.grad) == pytest.approx(-0.01 * math.exp(-7e-3 / 20e-3), rel=1e-6)
    opt.step()
    assert float(fc.weight.detach()) == pytest.approx(0.5 + 0.01 * math.exp(-7e-3 / 20e-3), rel=1e-6)


def test_clip_and_normalize_hold_after_the_optimizer_step():
    fc = _linear()
    rule = PairSTDP(fc, a_pre=5.0, a_post=0.0, w_min=0.0, w_max=1.0)
    opt = torch.optim.SGD(fc.parameters(), lr=1.0)
    rule.sequence(torch.ones(5, 2, 6, dtype=torch.float64), torch.ones(5, 2, 4, dtype=torch.float64))
    opt.step()
    assert float(fc.weight.detach().max()) == 1.0
    fc = _linear()
    rule = PairSTDP(fc, a_pre=0.1, normalize=3.0)
    opt = torch.optim.SGD(fc.parameters(), lr=1.0)
    rule.sequence(_spikes((10, 2, 6)), _spikes((10, 2, 4), seed=5))
    opt.step()
    torch.testing.assert_close(fc.weight.detach().sum(1), torch.full((4,), 3.0, dtype=torch.float64))


def test_reward_zero_learns_nothing_but_builds_eligibility():
    fc = _linear()
    rule = RewardSTDP(fc, a_pre=0.1, a_post=0.1)
    state = rule.sequence(_spikes((10, 1, 6)), _spikes((10, 1, 4), seed=3))
    assert float(fc.weight.grad.abs().max()) == 0.0 and float(state.eligibility.abs().max()) > 0
    state = rule.step(torch.zeros(1, 6, dtype=torch.float64), torch.zeros(1, 4, dtype=torch.float64), state,
                      reward=torch.tensor([2.0]))
    assert float(fc.weight.grad.abs().max()) > 0


@pytest.mark.parametrize("call,message", [
    (lambda r: r.step(torch.zeros(2, 5), torch.zeros(2, 4)), "pre has 5 features"),
    (lambda r: r.step(torch.zeros(6), torch.zeros(4)), r"pre spikes must be \[B, in_features\]"),
    (lambda r: r.sequence(torch.zeros(2, 6), torch.zeros(2, 4)), r"pre spikes must be \[T, B, in_features\]"),
    (lambda r: r.step(torch.zeros(2, 6), torch.zeros(3, 4)), "same batch size"),
    (lambda r: r.step(torch.zeros(2, 6, dtype=torch.long), torch.zeros(2, 4)), "floating-point"),
    (lambda r: r.step(torch.full((2, 6), float("nan")), torch.zeros(2, 4)), "pre spikes .*NaN"),
])
def test_bad_spikes_raise(call, message):
    rule = PairSTDP(nn.Linear(6, 4, bias=False))
    with pytest.raises((ValueError, TypeError), match=message):
        call(rule)


def test_bad_connections_and_settings_raise():
    with pytest.raises(TypeError, match="nn.Linear or nn.Conv2d"):
        PairSTDP(nn.ReLU())
    with pytest.raises(ValueError, match="tau_post must be a positive time"):
        PairSTDP(nn.Linear(2, 2), tau_post=-1.0)
    with pytest.raises(ValueError, match="a_pre must be >= 0"):
        PairSTDP(nn.Linear(2, 2), a_pre=-1e-2)
    with pytest.raises(ValueError, match="a3_plus must be >= 0"):
        TripletSTDP(nn.Linear(2, 2), a3_plus=-1e-3)
    with pytest.raises(ValueError, match="tau_e must be a positive time"):
        RewardSTDP(nn.Linear(2, 2), tau_e=-0.1)
    conv = PairSTDP(nn.Conv2d(2, 3, 3, bias=False))
    with pytest.raises(ValueError, match="pre has 1 channels, post 3"):
        conv.step(torch.zeros(1, 1, 6, 6), torch.zeros(1, 3, 4, 4))
    with pytest.raises(ValueError, match="normalize must be a positive"):
        PairSTDP(nn.Linear(2, 2), normalize=0.0)
    with pytest.raises(ValueError, match="numeric zero padding"):
        PairSTDP(nn.Conv2d(1, 1, 3, padding="same"))
    with pytest.raises(ValueError, match="post-triggered"):
        RewardSTDP(nn.Linear(2, 2), weight_dependence="offset")
