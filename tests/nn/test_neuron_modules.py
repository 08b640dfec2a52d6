"""Parameters: per-neuron, learnable, buffers, devices, repr, record."""

import pytest
import torch

import spikeforge.nn as snn

from ._models import PAIRS, learn_all


@pytest.mark.parametrize("name", list(PAIRS))
def test_parameters_are_buffers_unless_learnable(name):
    cell_cls, _ = PAIRS[name]
    m = cell_cls(4)
    assert list(m.parameters()) == []
    assert set(dict(m.named_buffers())) == set(cell_cls.model.continuous)
    learn = cell_cls(4, **learn_all(cell_cls))
    stored = {n.removeprefix("log_") for n, _ in learn.named_parameters()}
    assert stored == set(cell_cls.model.continuous)
    assert all(p.shape == (4,) for p in learn.parameters())
    for name in cell_cls.model.continuous:  # time constants are learned in log space
        assert (f"log_{name}" in dict(learn.named_parameters())) == name.startswith("tau_")
        torch.testing.assert_close(getattr(learn, name), getattr(m, name))


def test_scalar_parameters_without_size_stay_shared():
    lif = snn.LIF(tau_mem=20e-3, learn_tau_mem=True, learn_v_threshold=True)
    assert lif.tau_mem.shape == () and isinstance(lif.log_tau_mem, torch.nn.Parameter)
    assert isinstance(lif.v_threshold, torch.nn.Parameter) and lif.v_threshold.shape == ()
    spikes, _ = lif(torch.rand(10, 2, 7))
    assert spikes.shape == (10, 2, 7)


def test_per_neuron_tensor_parameters():
    tau = torch.tensor([5e-3, 50e-3])
    lif = snn.LIF(tau_mem=tau, v_threshold=0.5)
    x = torch.ones(60, 1, 2)
    spikes, _ = lif(x)
    counts = spikes.sum(0).squeeze()
    assert counts[0] > counts[1] > 0  # the faster membrane charges faster and fires more


def test_parameter_shape_must_fit_size():
    with pytest.raises(ValueError, match="does not broadcast to the neuron shape"):
        snn.LIF(3, tau_mem=torch.ones(4) * 1e-2)


def test_refractory_in_seconds_or_steps():
    assert snn.LIF(t_refrac=2e-3).neuron_parameters().refractory_steps == 2
    assert snn.LIF(t_refrac=5e-3, dt=0.5e-3).neuron_parameters().refractory_steps == 10
    assert snn.LIF(refractory_steps=3).neuron_parameters().refractory_steps == 3
    with pytest.raises(ValueError, match="not both"):
        snn.LIF(t_refrac=2e-3, refractory_steps=2)


def test_record_returns_traces():
    alif = snn.ALIF(3, beta=1.0)
    spikes, trace = alif.record(torch.rand(25, 2, 3) * 30)
    assert trace.v.shape == trace.b.shape == (25, 2, 3)
    final_spikes, final = alif(torch.rand(25, 2, 3) * 0)
    assert final.v.shape == (2, 3)


def test_repr_mentions_parameters():
    text = repr(snn.ALIF(8, tau_adp=0.3, learn_tau_adp=True))
    assert "tau_adp=0.3 (per neuron) (learnable)" in text and "reset='subtract'" in text


def test_float64_and_dtype_argument():
    lif = snn.LIF(4, dtype=torch.float64)
    spikes, state = lif(torch.rand(5, 2, 4, dtype=torch.float64))
    assert spikes.dtype == state.v.dtype == torch.float64


def test_learnable_tau_receives_gradient_and_training_changes_output():
    torch.manual_seed(0)
    lif = snn.LIF(5, tau_mem=20e-3, v_threshold=0.3, learn_tau_mem=True, learn_v_threshold=True)
    opt = torch.optim.Adam(lif.parameters(), lr=1e-2)
    x = torch.rand(50, 4, 5) * 2
    first = None
    for _ in range(20):
        spikes, _ = lif(x)
        loss = (spikes.mean() - 0.5) ** 2
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < first
    assert bool((lif.tau_mem > 0).all())
