"""The SRNN layers: recurrence, cell/sequence equality, errors."""

import pytest
import torch

import spikeforge.nn as snn

PAIRS = [(snn.RecurrentLIFCell, snn.RecurrentLIF), (snn.RecurrentALIFCell, snn.RecurrentALIF)]


@pytest.mark.parametrize("cell_cls,seq_cls", PAIRS)
def test_cell_loop_equals_sequence(cell_cls, seq_cls):
    torch.manual_seed(1)
    kw = dict(tau_mem=10e-3, learn_tau_mem=True, learn_v_threshold=True, r=20.0, dtype=torch.float64)
    seq = seq_cls(3, 16, **kw)
    cell = cell_cls(3, 16, **kw)
    cell.load_state_dict(seq.state_dict())
    x = torch.rand(60, 4, 3, dtype=torch.float64)
    z_seq, st_seq = seq(x)
    state, outs = None, []
    for t in range(60):
        z, state = cell(x[t], state)
        outs.append(z)
    z_cell = torch.stack(outs)
    assert 0 < z_seq.mean() < 1
    torch.testing.assert_close(z_seq, z_cell, rtol=0, atol=0)
    g = torch.randn_like(z_seq)
    (z_seq * g).sum().backward()
    (z_cell * g).sum().backward()
    for (n, a), (_, b) in zip(seq.named_parameters(), cell.named_parameters()):
        assert a.grad is not None and a.grad.abs().sum() > 0, n
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-7, atol=1e-10, msg=n)


def test_recurrent_weights_feed_back_previous_spikes():
    layer = snn.RecurrentLIF(1, 2, bias=False, tau_mem=2e-3, method="euler")
    with torch.no_grad():
        layer.input.weight.copy_(torch.tensor([[2.0], [0.0]]))
        layer.recurrent.weight.copy_(torch.tensor([[0.0, 0.0], [4.0, 0.0]]))
    x = torch.tensor([1.0, 0.0, 0.0]).reshape(3, 1, 1)
    z, _ = layer(x)
    # neuron 0 fires at t=0 (u = 0.5 * 2 = 1); neuron 1 receives 4 at t=1 (u = 2) and fires then
    assert z[:, 0, 0].tolist() == [1, 0, 0]
    assert z[:, 0, 1].tolist() == [0, 1, 0]


def test_without_recurrent_weights_it_is_linear_then_lif():
    torch.manual_seed(0)
    layer = snn.RecurrentALIF(5, 7, beta=0.5)
    with torch.no_grad():
        layer.recurrent.weight.zero_()
    x = torch.rand(30, 2, 5) * 3
    z, _ = layer(x)
    ref = snn.ALIF(7, beta=0.5)
    z_ref, _ = ref(layer.input(x))
    assert torch.equal(z, z_ref)


def test_state_threads_and_holds_previous_spikes():
    layer = snn.RecurrentALIF(3, 8, r=30.0)
    x = torch.rand(40, 2, 3)
    whole, _ = layer(x)
    first, st = layer(x[:15])
    second, _ = layer(x[15:], st)
    assert torch.equal(torch.cat([first, second]), whole)
    assert torch.equal(st.z, first[-1])


def test_errors():
    with pytest.raises(ValueError, match="hidden_size must be a positive int"):
        snn.RecurrentLIF(3, 0)
    layer = snn.RecurrentLIF(3, 4)
    with pytest.raises(ValueError, match=r"input_size 3 in the last dimension"):
        layer(torch.rand(5, 2, 4))
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        layer(torch.rand(2, 3))
    with pytest.raises(ValueError, match="tau_adp must be positive"):
        snn.RecurrentALIF(3, 4, tau_adp=-1.0)


def test_zero_length_sequence():
    z, st = snn.RecurrentLIF(3, 4)(torch.zeros(0, 2, 3))
    assert z.shape == (0, 2, 4) and st.z.shape == (2, 4)
