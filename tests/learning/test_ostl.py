"""OSTL: exact for a single layer, the paper's approximation for deeper networks."""

from __future__ import annotations

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.learning import RULES, rule_from_name
from spikeforge.learning.objectives import objective_from_name
from spikeforge.learning.ostl import OSTL
from spikeforge.models._readout import ALIFMembrane

from ._online_nets import C, COUNT, DT, H, I, PER_STEP, assert_exact, cosine, data, hidden, linear, readout


@pytest.mark.parametrize("kind", ["lif", "alif"])
@pytest.mark.parametrize("variant", [{}, {"reset": "zero", "detach_reset": False}, {"refractory_steps": 1},
                                     {"detach_reset": False}], ids=["subtract", "zero-inside", "refractory",
                                                                    "subtract-inside"])
def test_single_spiking_layer_is_exact(kind, variant):
    net = snn.Sequential(linear(I, C, 0), hidden(kind, C, **variant))
    x, y = data(0, per_step=False)
    assert_exact(net, OSTL(block=6), x, y, COUNT)


def test_single_layer_per_step_loss_on_spikes_is_exact():
    net = snn.Sequential(linear(I, C, 0), hidden("alif", C))
    x, y = data(1)
    assert_exact(net, OSTL(), x, y, PER_STEP)


def test_single_layer_membrane_readouts_are_exact():
    x, y = data(2)
    assert_exact(snn.Sequential(linear(I, C, 0), readout()), OSTL(), x, y, PER_STEP)
    alif = ALIFMembrane(C, tau_mem=torch.full((C,), 8e-3, dtype=DT), tau_adp=torch.full((C,), 30e-3, dtype=DT),
                        beta=0.5, v_threshold=0.3, learn_tau_mem=True, learn_tau_adp=True, backend="torch",
                        dtype=DT)
    assert_exact(snn.Sequential(linear(I, C, 0), alif), OSTL(), x, y, PER_STEP)
    x, y = data(2, per_step=False)
    assert_exact(snn.Sequential(linear(I, C, 0), alif), OSTL(), x, y, objective_from_name("last_membrane"))


def test_hidden_layer_under_a_memoryless_readout_is_exact():
    # the readout holds no state, so the residual terms the approximation drops are zero
    net = snn.Sequential(linear(I, H, 0), hidden("alif"), linear(H, C, 1), readout(1e-6))
    x, y = data(3)
    assert_exact(net, OSTL(), x, y, PER_STEP)


@pytest.mark.parametrize("kind", ["lif", "alif"])
def test_hidden_layer_under_a_leaky_readout_is_exact_with_the_readout_filter(kind):
    # the filter carries the readout's memory of the hidden spikes (as e-prop's does); the
    # paper's rule without it is only an approximation here
    net = snn.Sequential(linear(I, H, 0), hidden(kind, detach_reset=False), linear(H, C, 1), readout(10e-3))
    x, y = data(4)
    assert_exact(net, OSTL(filter_readout=True, block=7), x, y, PER_STEP)
    assert cosine(net, OSTL(), x, y, PER_STEP, ["0.weight"]) < 1 - 1e-3


def test_the_readout_filter_is_a_recipe_setting():
    rule = rule_from_name("ostl", filter_readout=True)
    assert rule.filter_readout and rule.config()["filter_readout"] is True
    assert not OSTL().filter_readout
    with pytest.raises(ValueError, match="filter_readout"):
        rule_from_name("ostl", filter_readout="yes")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_deep_network_approximation(seed):
    # two stateful hidden layers: the lower one's effect through the upper one's state is
    # dropped; measured cosine 0.48-0.95 on these nets, so the bound is 0.3
    net = snn.Sequential(linear(I, 8, seed), hidden("alif", 8), linear(8, 7, seed + 10), hidden("lif", 7),
                         linear(7, C, seed + 20), readout(1e-6))
    x, y = data(seed, steps=40)
    assert cosine(net, OSTL(), x, y, PER_STEP, ["0.weight"]) > 0.3
    assert cosine(net, OSTL(), x, y, PER_STEP, ["2.weight", "3.log_tau_mem"]) > 1 - 1e-9  # top hidden exact


def test_registered():
    assert RULES["ostl"] is OSTL
