"""Event-driven inference gives the dense result: same spikes, currents equal to rounding."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import spikeforge.nn as snn
from spikeforge.hardware._layers import HardwareError, network_layers
from spikeforge.hardware.events import EventDrivenNetwork, event_conv2d, event_linear
from spikeforge.models import SCNN


def test_event_linear_equals_the_dense_product():
    g = torch.Generator().manual_seed(0)
    w, b = torch.randn(7, 9, generator=g, dtype=torch.float64), torch.randn(7, generator=g, dtype=torch.float64)
    spikes = (torch.rand(3, 5, 9, generator=g) < 0.2).double()
    torch.testing.assert_close(event_linear(spikes, w, b), F.linear(spikes, w, b), rtol=0, atol=1e-12)
    analog = torch.rand(4, 9, generator=g, dtype=torch.float64) * (torch.rand(4, 9, generator=g) < 0.5)
    torch.testing.assert_close(event_linear(analog, w), F.linear(analog, w), rtol=0, atol=1e-12)
    ints = torch.randint(-7, 8, (7, 9), generator=g).double()   # integer weights: exact
    assert torch.equal(event_linear(spikes, ints), F.linear(spikes, ints))


@pytest.mark.parametrize("kwargs", [dict(padding=1), dict(stride=2), dict(padding=2, dilation=2), {}])
def test_event_conv2d_equals_the_dense_convolution(kwargs):
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, **kwargs).double()
    x = (torch.rand(4, 2, 7, 7) < 0.3).double()
    torch.testing.assert_close(event_conv2d(x, conv), conv(x), rtol=0, atol=1e-12)
    x = x * torch.rand(4, 2, 7, 7, dtype=torch.float64)
    torch.testing.assert_close(event_conv2d(x, conv), conv(x), rtol=0, atol=1e-12)


def test_event_driven_scnn_gives_the_dense_spike_trains():
    torch.manual_seed(0)
    model = SCNN.preset("digits", channels=[4, 8], pooling="avg").eval()
    x = torch.rand(6, 1, 8, 8)
    events = EventDrivenNetwork(model, dtype=torch.float64)
    dense = snn.Sequential(*(layer.module for layer in network_layers(model))).double().eval()
    with torch.no_grad():
        want = dense.forward_layers(model.encode(x).double())[0]
        got, _ = events(x)
    torch.testing.assert_close(got, want[-1], rtol=0, atol=1e-9)
    spikes_in = events.events
    assert set(spikes_in) == {"net.0.module.0", "net.3.module.0", "net.7"}
    assert spikes_in["net.3.module.0"] < x.numel() * 4 * model.num_steps  # only the spikes of the first LIF


def test_recurrent_layers_are_refused():
    with pytest.raises(HardwareError, match="RecurrentLIF"):
        EventDrivenNetwork(snn.Sequential(snn.RecurrentLIF(3, 4)))
