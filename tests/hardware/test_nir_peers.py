"""NIR interop with snnTorch and Norse: identical output spike trains where the peers' importers are right.

Skipped where the peers are not installed (they live in the ``anchors`` environment). The
networks use forward Euler and reset to zero, the equations the peers simulate NIR
graphs with; snnTorch's importer fixes ``dt = 1e-4``. The peers' importer and exporter
bugs are shown by ``benchmarks/hardware/nir_interop.py`` (docs/hardware.md lists them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from torch import nn

import spikeforge.nn as snn

pytest.importorskip("nir")

from spikeforge.hardware.nir import from_nir, to_nir  # noqa: E402
from spikeforge.hardware.nir._peers import (  # noqa: E402
    SNNTORCH_DT, norse_from_nir, quiet, run_norse, run_snntorch, snntorch_from_nir,
)


def _peer(name: str):
    with warnings.catch_warnings():  # the peers warn about torch.jit on import
        warnings.simplefilter("ignore")
        return pytest.importorskip(name)


@pytest.fixture(scope="module")
def snntorch():
    module = _peer("snntorch")
    _peer("snntorch.import_nir")  # needs nirtorch besides snntorch
    return module


@pytest.fixture(scope="module")
def norse():
    _peer("norse")
    _peer("nirtorch")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import norse.torch

    return norse.torch


def two_layer(make, weight_gain: float = 1.0) -> snn.Sequential:
    torch.manual_seed(1)
    net = snn.Sequential(nn.Linear(8, 6), make(), nn.Linear(6, 4), make())
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(weight_gain)
            layer.bias.mul_(weight_gain)
    return net


def spiking_input(gain: float = 1.0) -> torch.Tensor:
    return torch.rand((60, 4, 8), generator=torch.Generator().manual_seed(0)) * gain


SNNTORCH_NEURONS = {
    "LIF": lambda: snn.LIF(tau_mem=2e-3, r=20.0, dt=SNNTORCH_DT, method="euler", reset="zero"),
    "CubaLIF": lambda: snn.CubaLIF(tau_mem=2e-3, tau_syn=1e-3, r=20.0, dt=SNNTORCH_DT, method="euler",
                                   reset="zero"),
}


@pytest.mark.parametrize("kind", sorted(SNNTORCH_NEURONS))
def test_spikeforge_to_snntorch_identical_spikes(snntorch, kind):
    net = two_layer(SNNTORCH_NEURONS[kind])
    x = spiking_input()
    with torch.no_grad():
        ours, _ = net(x)
    theirs = run_snntorch(snntorch_from_nir(to_nir(net)), x)
    assert ours.sum() > 10 and torch.equal(ours, theirs)


@pytest.mark.parametrize("kind", ["LIF", "CubaLIF"])
def test_snntorch_to_spikeforge_identical_spikes(snntorch, kind):
    from snntorch.export_nir import export_to_nir

    def make(n):
        full = lambda v: torch.full((n,), v)  # noqa: E731  (its exporter needs per-neuron tensors)
        kw = dict(threshold=full(1.0), reset_mechanism="zero", reset_delay=False, init_hidden=True)
        if kind == "LIF":
            return snntorch.Leaky(beta=full(0.95), **kw)
        return snntorch.Synaptic(alpha=full(0.9), beta=full(0.95), **kw)

    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(8, 6), make(6), nn.Linear(6, 4), make(4))
    x = spiking_input()
    theirs = run_snntorch(net, x)
    with quiet():
        graph = export_to_nir(net, x[0], ignore_dims=[0])
    with torch.no_grad():
        ours, _ = from_nir(graph, dt=SNNTORCH_DT, method="euler")(x)
    assert theirs.sum() > 10 and torch.equal(ours, theirs)


NORSE_NEURONS = {  # Norse's LIF and IF importers drop r, so r = 1 there (the weights carry the gain)
    "LIF": (lambda: snn.LIF(tau_mem=20e-3, r=1.0, method="euler", reset="zero"), 1.0, 20.0),
    "IF": (lambda: snn.IF(r=1.0, reset="zero"), 0.3, 1.0),
    "CubaLIF": (lambda: snn.CubaLIF(tau_mem=20e-3, tau_syn=10e-3, r=20.0, method="euler", reset="zero"), 1.0, 1.0),
}


@pytest.mark.parametrize("kind", sorted(NORSE_NEURONS))
def test_spikeforge_to_norse_identical_spikes(norse, kind):
    make, gain, weight_gain = NORSE_NEURONS[kind]
    net = two_layer(make, weight_gain)
    x = spiking_input(gain)
    with torch.no_grad():
        ours, _ = net(x)
    theirs = run_norse(norse_from_nir(to_nir(net), dt=1e-3), x)
    assert ours.sum() > 10 and torch.equal(ours, theirs)


def test_norse_to_spikeforge_identical_once_its_exporter_units_are_fixed(norse):
    """Norse 1.1 exports tau as dt / tau_inv (a 10 ms membrane as 10 us); with tau corrected the spikes match."""
    from norse.torch.utils.export_nir import to_nir as norse_to_nir

    torch.manual_seed(1)
    net = norse.SequentialState(nn.Linear(8, 6), norse.LIFBoxCell(), nn.Linear(6, 4), norse.LIFBoxCell())
    with torch.no_grad():
        for layer in (net[0], net[2]):
            layer.weight.mul_(10.0)
    x = spiking_input()
    theirs = run_norse(net, x)
    with quiet():
        graph = norse_to_nir(net, x[0])
    for node in graph.nodes.values():
        if hasattr(node, "tau"):
            node.tau = np.asarray(node.tau, dtype=np.float64) / 1e-3  # dt / tau_inv -> 1 / tau_inv
    with torch.no_grad():
        ours, _ = from_nir(graph, dt=1e-3, method="euler")(x)
    assert theirs.sum() > 0 and torch.equal(ours, theirs)
