"""e-prop: exact where the theory says so, close to BPTT elsewhere, feedback and regularizer."""

from __future__ import annotations

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.learning import RULES, rule_from_name
from spikeforge.learning.eprop import EProp

from ._online_nets import (
    B, C, DT, H, I, MEAN, PER_STEP, assert_exact, cosine, data, grads, hidden, linear, readout,
)


def _net(kind: str, tau: float, **kw):
    return snn.Sequential(linear(I, H, 0), hidden(kind, **kw), linear(H, C, 1), readout(tau))


@pytest.mark.parametrize("kind", ["lif", "alif"])
@pytest.mark.parametrize("tau", [1e-6, 10e-3], ids=["non-leaky", "leaky"])
def test_exact_without_recurrent_weights_per_step_loss(kind, tau):
    # one feed-forward hidden layer, a readout with one shared decay, a loss at every step:
    # the filtered eligibility trace is the whole gradient (Bellec et al. 2020, eq. 28-29)
    x, y = data(0)
    assert_exact(_net(kind, tau), EProp(block=7), x, y, PER_STEP)


@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_exact_with_end_of_sequence_loss(kind):
    x, y = data(1, per_step=False)
    assert_exact(_net(kind, 10e-3), EProp(block=5), x, y, MEAN)


def test_exact_with_reset_inside_the_gradient_and_refractory_period():
    x, y = data(2)
    net = _net("alif", 1e-6, reset="zero", detach_reset=False, refractory_steps=2)
    assert_exact(net, EProp(), x, y, PER_STEP)


def _recurrent(seed: int):
    torch.manual_seed(seed)
    net = snn.Sequential(snn.RecurrentALIF(I, 8, backend="torch", beta=0.5, r=2.0, v_threshold=0.5, dtype=DT,
                                           learn_tau_mem=True), linear(8, C, 1), readout())
    with torch.no_grad():
        net[0].recurrent.weight.mul_(0.3)
    return net


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recurrent_network_is_close_to_bptt(seed):
    # the path through the recurrent spikes is dropped; on these nets the update points the
    # way of the gradient (measured 0.975-0.999), the readout stays exact
    net = _recurrent(seed)
    x, y = data(seed, steps=40)
    assert cosine(net, EProp(), x, y, PER_STEP, ["0.input.weight", "0.recurrent.weight"]) > 0.9
    assert cosine(net, EProp(), x, y, PER_STEP, ["1.weight", "1.bias"]) > 1 - 1e-9


def test_random_feedback_is_fixed_by_the_seed_and_differs_from_symmetric():
    net = _recurrent(0)
    x, y = data(0, steps=30)
    a = grads(net, EProp(feedback="random", seed=3), x, y, PER_STEP)
    b = grads(net, EProp(feedback="random", seed=3), x, y, PER_STEP)
    c = grads(net, EProp(feedback="random", seed=4), x, y, PER_STEP)
    s = grads(net, EProp(), x, y, PER_STEP)
    torch.testing.assert_close(a["0.input.weight"], b["0.input.weight"], rtol=0, atol=0)
    assert not torch.allclose(a["0.input.weight"], c["0.input.weight"])
    assert not torch.allclose(a["0.input.weight"], s["0.input.weight"])
    torch.testing.assert_close(a["1.weight"], s["1.weight"])  # the readout learns with its own trace


def test_rate_regularizer_follows_the_gradient_of_the_rate_loss():
    # no step is scored, so only the regularizer moves the weights; its update (with the
    # running rate estimate) must point along the BPTT gradient of c/2 * sum_j (rate_j - target)^2
    net = _net("lif", 1e-6)
    x, _ = data(3)
    reg, target = 2.0, 0.3
    unscored = torch.full((x.shape[0], B), -100)
    without = grads(net, EProp(), x, unscored, PER_STEP)
    assert all(float(g.abs().max()) == 0 for g in without.values())
    with_reg = grads(net, EProp(reg=reg, target_rate=target), x, unscored, PER_STEP)
    net.zero_grad(set_to_none=True)
    spikes, _ = net[1](net[0](x.flatten(0, 1)).unflatten(0, x.shape[:2]))
    rate = spikes.mean((0, 1))
    (reg / 2 * ((rate - target) ** 2).sum()).backward()
    want = net[0].weight.grad
    got = with_reg["0.weight"]
    cos = torch.nn.functional.cosine_similarity(want.flatten(), got.flatten(), 0)
    assert float(cos) > 0.8, float(cos)


def test_registered_and_built_from_names():
    assert RULES["eprop"] is EProp
    rule = rule_from_name("eprop", feedback="random", block=10)
    assert isinstance(rule, EProp) and rule.feedback_mode == "random" and rule.block == 10
    with pytest.raises(ValueError, match="feedback"):
        EProp(feedback="transpose")
    with pytest.raises(ValueError, match="block"):
        EProp(block=0)
