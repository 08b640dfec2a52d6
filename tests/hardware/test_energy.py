"""SynOps, sparsity, memory and energy: a hand-counted example, NeuroBench's numbers, profiles."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.hardware.energy import (
    PROFILES, HardwareProfile, conv_fan_out, energy_chart, format_report, get_profile, load_profiles,
    measure_activity,
)
from spikeforge.models import SCNN, SRNN


class Replay(snn.StatefulModule):
    """Emits a fixed spike train ``[T, B, 3]`` whatever its input (a 3-neuron layer with known spikes)."""

    time_major = True

    def __init__(self, spikes: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("spikes", spikes)

    def forward(self, x, state=None):
        return self.spikes, None


def test_hand_counted_synops_for_a_three_neuron_layer():
    # 3 neurons, T = 4, one sample:  neuron 0 fires at steps 0 and 2, neuron 1 at step 1, neuron 2 never
    spikes = torch.tensor([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]], dtype=torch.float32).unsqueeze(1)
    fc = nn.Linear(3, 2)
    with torch.no_grad():
        fc.weight.copy_(torch.tensor([[0.5, 0.0, 1.0], [0.2, 0.3, 0.0]]))  # fan-out: neuron 0 -> 2, 1 -> 1, 2 -> 1
    lif = snn.LIF(2, reset="zero")
    net = snn.Sequential(snn.LIF(3), fc, lif)  # the first LIF only marks the layer; Replay feeds the spikes
    net[0] = Replay(spikes)
    report = measure_activity(net, torch.zeros(4, 1, 3))
    row = {r.name: r for r in report.layers}["1"]
    # neuron 0: 2 spikes x fan-out 2 = 4; neuron 1: 1 spike x fan-out 1 = 1; neuron 2: 0  ->  5 ACs
    assert row.acs == 5 and row.macs == 0
    assert row.dense == 4 * 3 * 2                         # T x in x out
    assert report.acs == 5 and report.steps == 4
    assert {r.name: r for r in report.layers}["2"].neuron_updates == 4 * 2


def test_analog_input_counts_macs_and_conv_borders_count_fewer_synapses():
    conv = nn.Conv2d(1, 2, 3, padding=1, bias=False)
    fan = conv_fan_out(conv, (1, 4, 4))
    assert fan[0, 0, 0] == 2 * 4 and fan[0, 1, 1] == 2 * 9 and fan[0, 0, 1] == 2 * 6
    net = snn.Sequential(conv, snn.LIF(reset="zero"))
    x = torch.full((2, 1, 1, 4, 4), 0.5)
    report = measure_activity(net, x)
    row = report.layers[0]
    assert row.acs == 0 and row.macs == 2 * float(fan.sum())   # every input nonzero and analog
    assert row.dense == row.macs


def test_zero_weights_are_not_synapses():
    fc = nn.Linear(4, 3, bias=False)
    with torch.no_grad():
        fc.weight.zero_()
        fc.weight[0, 0] = 1.0
    net = snn.Sequential(fc, snn.LIF(reset="zero"))
    report = measure_activity(net, torch.ones(5, 2, 4))
    assert report.acs == 5 * 1       # only input 0 has a synapse; ones are binary
    assert report.connection_sparsity == pytest.approx(11 / 12)


def test_recurrent_synops_come_from_the_previous_steps_spikes():
    torch.manual_seed(0)
    layer = snn.RecurrentLIF(3, 4, r=5.0, backend="torch")  # the kernel path is counted the same way
    x = torch.rand(6, 2, 3) * 2
    report = measure_activity(snn.Sequential(layer), x)
    with torch.no_grad():
        spikes, _ = layer(x)
    fan = (layer.recurrent.weight != 0).sum(0).double()
    expected = float((spikes[:-1].sum((0, 1)).double() * fan).sum()) / 2
    row = {r.name: r for r in report.layers}["0.recurrent"]
    assert row.acs == pytest.approx(expected) and row.dense == 6 * 4 * 4


def test_profiles_price_the_counts():
    torch.manual_seed(0)
    report = measure_activity(SCNN.preset("digits", encoding="bernoulli").eval(), torch.rand(8, 1, 8, 8))
    e = report.energy("cmos-45nm-fp32")
    assert e.snn_pj == pytest.approx(report.acs * 0.9 + report.macs * 4.6)
    assert e.ann_pj == pytest.approx(report.dense / report.steps * 4.6)
    loihi = report.energy("loihi")
    assert loihi.parts["neuron updates"] == pytest.approx(report.neuron_updates * 52.0)
    assert PROFILES["cmos-45nm-fp32"].mac == 4.6 and PROFILES["cmos-45nm-fp32"].ac == 0.9
    assert all(p.source for p in PROFILES.values())
    text = format_report(report, ["cmos-45nm-fp32", "loihi"])
    assert "activation sparsity" in text and "not verified" in text


def test_user_profiles_from_yaml(tmp_path):
    pytest.importorskip("yaml")
    path = tmp_path / "chips.yaml"
    path.write_text("mine:\n  ac: 0.5\n  mac: 2.0\n  source: measured\n")
    profiles = load_profiles(path)
    assert profiles["mine"].ac == 0.5
    assert get_profile({"name": "x", "ac": 1.0}).ac == 1.0
    bad = tmp_path / "bad.yaml"
    bad.write_text("mine:\n  ac: -1\n")
    with pytest.raises(ValueError, match="non-negative"):
        load_profiles(bad)
    bad.write_text("mine:\n  joules: 1\n")
    with pytest.raises(ValueError, match="unknown keys"):
        load_profiles(bad)
    with pytest.raises(ValueError, match="unknown hardware profile"):
        get_profile("nope")
    assert isinstance(get_profile(profiles["mine"]), HardwareProfile)


def test_energy_chart_draws():
    pytest.importorskip("matplotlib")
    report = measure_activity(SCNN.preset("digits").eval(), torch.rand(4, 1, 8, 8))
    fig = energy_chart(report, ["cmos-45nm-fp32", "cmos-45nm-int8"])
    assert len(fig.axes) == 2


CASES = {
    "scnn-direct": lambda: (SCNN.preset("digits"), torch.rand(16, 1, 8, 8)),
    "scnn-bernoulli-avgpool": lambda: (SCNN.preset("digits", encoding="bernoulli", pooling="avg"),
                                       torch.rand(16, 1, 8, 8)),
    "srnn-ecg": lambda: (SRNN.preset("ecg", backend="torch"), torch.rand(40, 4, 4)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_synops_and_sparsity_equal_neurobench(case):
    pytest.importorskip("neurobench")
    pytest.importorskip("snntorch")  # neurobench imports it
    from spikeforge.hardware.energy._neurobench import neurobench_metrics

    torch.manual_seed(0)
    model, x = CASES[case]()
    model.eval()
    samples = x.shape[0] if x.dim() == 4 else x.shape[1]
    torch.manual_seed(1)
    ours = measure_activity(model, x)
    torch.manual_seed(1)
    theirs = neurobench_metrics(model, x, samples)
    assert ours.acs == pytest.approx(theirs["Effective_ACs"], rel=1e-12)
    assert ours.macs == pytest.approx(theirs["Effective_MACs"], rel=1e-12)
    assert ours.dense == pytest.approx(theirs["Dense"], rel=1e-12)
    assert ours.activation_sparsity == pytest.approx(theirs["ActivationSparsity"], rel=1e-12)
    assert ours.footprint_bytes == theirs["Footprint"]
    assert round(ours.connection_sparsity, 4) == theirs["ConnectionSparsity"]
