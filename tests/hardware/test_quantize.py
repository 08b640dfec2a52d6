"""Quantization: integer arithmetic matching a plain-Python integer reference exactly; accuracy; QAT."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.hardware.quantize import QuantizationError, prepare_qat, quantize, quantize_weight, strip_qat
from spikeforge.models import SCNN


def reference_lif(spikes, w, b, *, tau, r, dt, threshold, v_reset, reset, bits, decay_bits, state_bits):
    """The documented fixed-point LIF in Python integers: spikes [T][B][I] (0/1), w [O][I], b [O]."""
    qmax = 2 ** (bits - 1) - 1
    d = math.exp(-dt / tau)
    gain = (1 - d) * r
    out = []
    units, wq = [], []
    for row in w:
        unit = max(abs(gain * v) for v in row) / qmax
        units.append(unit)
        wq.append([max(-qmax, min(qmax, round(gain * v / unit))) for v in row])
    bq = [round(bb * gain / u) for bb, u in zip(b, units)]
    dq = round(d * 2 ** decay_bits)
    thq = [round(threshold / u) for u in units]
    rq = [round(v_reset / u) for u in units]
    lim = 2 ** (state_bits - 1)
    batch = len(spikes[0])
    v = [[0] * len(w) for _ in range(batch)]
    for step in spikes:
        s_out = []
        for k, x in enumerate(step):
            row_out = []
            for o in range(len(w)):
                current = sum(wq[o][i] * x[i] for i in range(len(x))) + bq[o]
                u = ((dq * v[k][o] + 2 ** (decay_bits - 1)) >> decay_bits) + current
                u = max(-lim, min(lim - 1, u))
                fired = int(u >= thq[o])
                if reset == "zero":
                    v[k][o] = rq[o] if fired else u
                else:
                    v[k][o] = u - fired * (thq[o] - rq[o])
                row_out.append(fired)
            s_out.append(row_out)
        out.append(s_out)
    return out, v


@pytest.mark.parametrize("bits, reset", [(8, "subtract"), (4, "zero"), (8, "zero")])
def test_integer_lif_matches_the_python_reference_exactly(bits, reset):
    torch.manual_seed(0)
    fc = nn.Linear(5, 3)
    lif = snn.LIF(tau_mem=4e-3, r=3.0, v_threshold=0.7, reset=reset)
    net = snn.Sequential(fc, lif)
    g = torch.Generator().manual_seed(1)
    spikes = (torch.rand((30, 2, 5), generator=g) < 0.4).float()
    q = quantize(net, bits=bits, state_bits=16, spiking_input=True)
    got, _ = q(spikes)
    want, _ = reference_lif(spikes.int().tolist(), fc.weight.double().tolist(), fc.bias.double().tolist(),
                            tau=4e-3, r=3.0, dt=1e-3, threshold=0.7, v_reset=0.0, reset=reset, bits=bits,
                            decay_bits=12, state_bits=16)
    assert got.tolist() == want and got.sum() > 0
    weights = q.stages[0].weight
    assert weights.dtype == torch.int64 and int(weights.abs().max()) == 2 ** (bits - 1) - 1


def test_states_hold_integers_only_and_saturate():
    net = snn.Sequential(nn.Linear(2, 1, bias=False), snn.LIF(tau_mem=1.0, r=1000.0, v_threshold=1e9, reset="zero"))
    with torch.no_grad():
        net[0].weight.fill_(1.0)
    q = quantize(net, bits=8, state_bits=8, spiking_input=True)
    neurons = q.stages[1]
    current = q.stages[0](torch.ones(50, 1, 2))
    _, v = neurons(current)
    assert v.dtype == torch.int64 and int(v.max()) == 2 ** 7 - 1


def test_int8_keeps_a_float_network_close():
    torch.manual_seed(0)
    model = SCNN.preset("digits").eval()
    x = torch.rand(16, 1, 8, 8)
    q8 = quantize(model, bits=8, calibration=x)
    with torch.no_grad():
        a, _ = model(x)
        b, _ = q8(x)
    assert (a.mean(0).argmax(1) == b.mean(0).argmax(1)).float().mean() >= 0.9
    assert float((a - b).abs().max()) < 0.05 * float(a.abs().max())


def test_analog_first_layer_needs_calibration_and_unsupported_layers_are_named():
    with pytest.raises(QuantizationError, match="calibration"):
        quantize(SCNN.preset("digits").eval(), bits=8)
    with pytest.raises(QuantizationError, match=r"1 \(ALIF\)"):
        quantize(snn.Sequential(nn.Linear(2, 2), snn.ALIF()), bits=8)
    with pytest.raises(QuantizationError, match="refractory"):
        quantize(snn.Sequential(nn.Linear(2, 2), snn.LIF(refractory_steps=1)), bits=8)
    with pytest.raises(QuantizationError, match="feed a neuron layer"):
        quantize(snn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2), snn.LIF()), bits=8)
    with pytest.raises(ValueError, match="bits"):
        quantize(snn.Sequential(nn.Linear(2, 2), snn.LIF()), bits=1)


def test_average_pooling_runs_as_an_integer_sum():
    torch.manual_seed(0)
    net = snn.Sequential(nn.Conv2d(1, 2, 3, padding=1), snn.LIF(r=4.0, reset="zero"), nn.AvgPool2d(2),
                         nn.Flatten(), nn.Linear(2 * 3 * 3, 3), snn.LIF(r=4.0, reset="zero")).eval()
    x = torch.rand(10, 2, 1, 6, 6) * 2
    q = quantize(net, bits=8, calibration=x)
    with torch.no_grad():
        a, _ = net(x)
        b, _ = q(x)
    assert a.shape == b.shape and (a == b).float().mean() > 0.9


def test_qat_fake_quantizes_with_a_straight_through_gradient():
    torch.manual_seed(0)
    net = snn.Sequential(nn.Linear(4, 3), snn.LIF(reset="zero"))
    w = net[0].weight.detach().clone()
    prepare_qat(net, bits=4)
    assert torch.equal(net[0].weight, quantize_weight(w, 4))
    assert len(torch.unique(net[0].weight[0])) <= 15
    out, _ = net(torch.rand(5, 2, 4) * 5)
    (net[0].weight.sum() + out.sum()).backward()
    grad = net[0].parametrizations.weight.original.grad
    assert grad is not None and torch.all(grad != 0)   # the rounding passes the gradient through
    strip_qat(net)
    assert torch.equal(net[0].weight, w) and not hasattr(net[0], "parametrizations")
