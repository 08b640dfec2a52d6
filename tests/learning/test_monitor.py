"""The spike monitor: per-layer counts that match the spikes, for sequences, cells and recurrent layers."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.learning import SpikeMonitor, spiking_layers


def network():
    torch.manual_seed(0)
    return snn.Sequential(nn.Linear(4, 8), snn.LIF(8, r=3.0, backend="torch"),
                          snn.RecurrentALIF(8, 6, r=3.0, backend="torch"), nn.Linear(6, 3), snn.LI(3))


def test_counts_match_the_spikes_of_each_layer():
    net = network()
    assert [(n, type(m).__name__) for n, m in spiking_layers(net)] == [("1", "LIF"), ("2", "RecurrentALIF")]
    x = torch.rand(20, 5, 4) * 2
    with SpikeMonitor(net) as monitor, torch.no_grad():
        outs, _ = net.forward_layers(x)
        net(x[:10, :2])
    lif, alif = monitor.activity()
    assert lif.spikes == outs[1].sum().item() + net.forward_layers(x[:10, :2])[0][1].sum().item()
    assert lif.neurons == 8 and lif.steps == 30 and lif.sample_steps == 20 * 5 + 10 * 2 and lif.batch == 2
    assert alif.neurons == 6 and alif.dt == 1e-3 and alif.counts.shape == (6,)
    assert lif.rate == pytest.approx(lif.spikes / (8 * 120)) and lif.rate_hz == pytest.approx(lif.rate * 1e3)
    assert 0 < lif.active <= 1 and lif.spikes_per_sample(7) == pytest.approx(lif.spikes / 7)
    assert monitor.total_spikes() == lif.spikes + alif.spikes
    monitor.reset()
    assert monitor.total_spikes() == 0
    net(x)  # detached: nothing counted
    assert monitor.total_spikes() == 0


def test_cells_and_records():
    cell = snn.LIFCell(5, r=4.0)
    monitor = SpikeMonitor(cell, record=True)
    x = torch.rand(6, 3, 5)
    with monitor:
        state, total = None, 0.0
        for x_t in x:
            s, state = cell(x_t, state)
            total += s.sum().item()
    (row,) = monitor.activity()
    assert row.spikes == total and row.steps == 6 and row.sample_steps == 18 and row.neurons == 5
    assert len(monitor.records[""]) == 6 and monitor.records[""][0].shape == (3, 5)


def test_state_round_trip_and_non_spiking_models():
    net = network()
    with SpikeMonitor(net) as monitor:
        net(torch.rand(5, 2, 4))
    other = SpikeMonitor(network())
    other.load_state_dict(monitor.state_dict())
    assert [r.spikes for r in other.activity()] == [r.spikes for r in monitor.activity()]
    assert SpikeMonitor(snn.LI(3)).activity() == [] and SpikeMonitor(nn.Linear(2, 2)).mean_rate() == 0.0
    with pytest.raises(ValueError, match="monitor state holds layers"):
        SpikeMonitor(snn.LIF(2)).load_state_dict(monitor.state_dict())


@pytest.mark.parametrize("reset", ["subtract", "zero"])  # the hand-written scan, the reference loop
def test_the_adaptive_membrane_readout_reports_its_spikes(reset):
    from spikeforge.models._readout import ALIFMembrane

    torch.manual_seed(1)
    readout = ALIFMembrane(4, beta=1.8, v_threshold=0.2, r=2.0, reset=reset)
    net = snn.Sequential(nn.Linear(3, 4), readout)
    assert [(n, type(m).__name__) for n, m in spiking_layers(net)] == [("1", "ALIFMembrane")]
    x = torch.rand(30, 5, 3)
    with SpikeMonitor(net, record=True) as monitor, torch.no_grad():
        net(x)
    expected, _ = readout.neuron.record(net[0](x))  # the same neurons run step by step
    (row,) = monitor.activity()
    assert expected.sum() > 0 and row.spikes == expected.sum().item()
    assert row.neurons == 4 and row.sample_steps == 30 * 5 and row.dt == 1e-3
    assert torch.equal(monitor.records["1"][0], expected)
