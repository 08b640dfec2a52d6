"""The state-threading container and TimeDistributed."""

import pytest
import torch
from torch import nn

import spikeforge.nn as snn


def scnn():
    torch.manual_seed(0)
    return snn.Sequential(
        nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), snn.LIF(r=4.0),
        nn.Flatten(), nn.Linear(4 * 3 * 3, 5), snn.LIF(r=4.0),
        nn.Linear(5, 3), snn.LI(),
    )


def test_conv_net_on_sequences_folds_time_into_batch():
    net = scnn()
    x = torch.rand(12, 2, 1, 8, 8) * 3
    out, state = net(x)
    assert out.shape == (12, 2, 3)
    assert len(state) == len(net) and state[0] is None and state[2].v.shape == (2, 4, 3, 3)
    # the same computation written out by hand, step by step
    h = net[0](x.flatten(0, 1))
    h = net[1](h).unflatten(0, (12, 2))
    s1, _ = net[2](h)
    h = net[4](net[3](s1.flatten(0, 1))).unflatten(0, (12, 2))
    s2, _ = net[5](h)
    v, _ = net[7](net[6](s2))
    assert torch.equal(out, v)


def test_step_mode_equals_sequence_mode():
    seq_net = scnn()
    torch.manual_seed(0)
    cell_net = snn.Sequential(
        nn.Conv2d(1, 4, 3), nn.MaxPool2d(2), snn.LIFCell(r=4.0),
        nn.Flatten(), nn.Linear(4 * 3 * 3, 5), snn.LIFCell(r=4.0),
        nn.Linear(5, 3), snn.LICell(),
    )
    cell_net.load_state_dict(seq_net.state_dict())
    x = torch.rand(10, 2, 1, 8, 8) * 3
    out, _ = seq_net(x)
    state, outs = None, []
    for t in range(10):
        o, state = cell_net(x[t], state)
        outs.append(o)
    torch.testing.assert_close(out, torch.stack(outs))


def test_state_continues_across_calls():
    net = scnn()
    x = torch.rand(12, 2, 1, 8, 8) * 3
    whole, _ = net(x)
    a, st = net(x[:5])
    b, _ = net(x[5:], st)
    torch.testing.assert_close(torch.cat([a, b]), whole)


def test_forward_layers_returns_every_output():
    net = scnn()
    outs, _ = net.forward_layers(torch.rand(6, 2, 1, 8, 8))
    assert [o.shape[-1] for o in outs][-3:] == [5, 3, 3] and len(outs) == len(net)


def test_nested_and_recurrent():
    net = snn.Sequential(snn.Sequential(nn.Linear(3, 8), snn.LIF()), snn.RecurrentALIF(8, 4), snn.LI())
    out, state = net(torch.rand(20, 2, 3))
    assert out.shape == (20, 2, 4) and len(state[0]) == 2


def test_mixing_cells_and_sequences_is_an_error():
    with pytest.raises(ValueError, match=r"mixes one-step cells and sequence modules: LIF \(sequence\), LIFCell \(step\)"):
        snn.Sequential(snn.LIF(), nn.Linear(3, 3), snn.LIFCell())(torch.rand(4, 2, 3))


def test_errors():
    with pytest.raises(ValueError, match="holds no spiking layer"):
        snn.Sequential(nn.Linear(3, 3))(torch.rand(4, 2, 3))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        scnn()(torch.rand(8, 8))
    with pytest.raises(ValueError, match="state has 2 entries but the container has 8 layers"):
        scnn()(torch.rand(3, 2, 1, 8, 8), (None, None))


def test_time_distributed():
    conv = nn.Conv2d(2, 3, 3)
    td = snn.TimeDistributed(conv)
    x = torch.rand(5, 4, 2, 6, 6)
    y = td(x)
    assert y.shape == (5, 4, 3, 4, 4)
    torch.testing.assert_close(y[3, 1], conv(x[3, 1:2])[0])
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        td(torch.rand(4, 2))
