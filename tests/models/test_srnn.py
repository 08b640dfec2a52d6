"""SRNN: shapes for every readout, per-neuron time constants, state carry, the membrane readout."""

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.models import SRNN, draw_time_constants
from spikeforge.models._readout import ALIFMembrane

from ._tiny import TINY_SRNN


@pytest.mark.parametrize("readout", ["li", "alif", "alif-membrane"])
def test_shapes_for_every_readout(readout):
    torch.manual_seed(0)
    model = SRNN(**TINY_SRNN, readout=readout)
    out, state = model(torch.rand(6, 2, 3))
    assert out.shape == (6, 2, 4) and out.dtype == torch.float32
    assert len(state) == len(model.net)
    if readout == "alif":
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_layers_follow_the_recurrent_flags():
    model = SRNN(input_size=2, num_classes=3, hidden_sizes=[4, 5, 6], recurrent=[True, True, False])
    kinds = [type(m).__name__ for m in model.net]
    assert kinds == ["RecurrentALIF", "RecurrentALIF", "Linear", "ALIF", "Linear", "LI"]
    all_ff = SRNN(input_size=2, num_classes=3, hidden_sizes=[4], recurrent=False)
    assert [type(m).__name__ for m in all_ff.net] == ["Linear", "ALIF", "Linear", "LI"]


def test_per_neuron_learnable_time_constants_from_normal_draws():
    torch.manual_seed(0)
    model = SRNN(input_size=2, num_classes=3, hidden_sizes=[2000], tau_mem=20e-3, tau_mem_std=5e-3,
                 tau_adp=200e-3, tau_adp_std=25e-3)
    neuron = model.net[0].neuron
    assert isinstance(neuron.log_tau_mem, torch.nn.Parameter) and neuron.log_tau_mem.shape == (2000,)
    assert isinstance(neuron.log_tau_adp, torch.nn.Parameter)
    assert abs(neuron.tau_mem.mean().item() - 20e-3) < 0.5e-3
    assert abs(neuron.tau_mem.std().item() - 5e-3) < 0.5e-3
    assert abs(neuron.tau_adp.mean().item() - 200e-3) < 2e-3
    fixed = SRNN(**TINY_SRNN, learn_tau=False, tau_mem_std=0.0)
    assert not any("tau" in n for n, _ in fixed.named_parameters())
    assert torch.all(fixed.net[0].neuron.tau_mem == 20e-3)


def test_time_constant_draws_are_at_least_one_step():
    torch.manual_seed(0)
    tau = draw_time_constants(2e-3, 5e-3, 1000, dt=1e-3)
    assert tau.min().item() == pytest.approx(1e-3) and tau.shape == (1000,)
    with pytest.raises(ValueError, match="positive"):
        draw_time_constants(-1.0, 0.0, 3, dt=1e-3)


def test_readout_beta_sets_the_output_neurons_adaptation():
    model = SRNN(**TINY_SRNN, readout="alif", beta=0.0, readout_beta=1.8)
    assert torch.all(model.net[0].neuron.beta == 0) and torch.all(model.net[-1].beta == 1.8)
    assert torch.all(SRNN(**TINY_SRNN, readout="alif", beta=0.5).net[-1].beta == 0.5)


def test_recurrent_init_zeros():
    model = SRNN(**TINY_SRNN, recurrent_init="zeros")
    assert torch.all(model.net[0].recurrent.weight == 0)
    assert torch.all(model.net[-2].bias == 0)


def _run(model, chunks):
    model.zero_grad()
    outs, state = [], None
    for x in chunks:
        out, state = model(x, state)
        outs.append(out)
    out = torch.cat(outs)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("backend", ["auto", "torch"])
@pytest.mark.parametrize("readout", ["li", "alif", "alif-membrane"])
def test_state_carry_equals_whole_sequence(readout, backend):
    torch.manual_seed(2)
    model = SRNN(**TINY_SRNN, readout=readout, v_threshold=0.05, backend=backend).double()
    x = torch.rand(12, 3, 3, dtype=torch.float64)
    whole, grads_whole = _run(model, [x])
    carried, grads_carried = _run(model, [x[:5], x[5:9], x[9:]])
    torch.testing.assert_close(carried, whole)
    for name, g in grads_whole.items():
        torch.testing.assert_close(grads_carried[name], g, msg=name)


@pytest.mark.parametrize("readout", ["li", "alif", "alif-membrane"])
def test_gradients_reach_every_learnable_parameter(readout):
    torch.manual_seed(0)
    model = SRNN(**TINY_SRNN, readout=readout, v_threshold=0.05)
    out, _ = model(torch.rand(40, 2, 3) * 2)  # long enough for the output neurons to spike and adapt
    out.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_membrane_readout_is_the_membrane_the_threshold_sees():
    torch.manual_seed(0)
    readout = ALIFMembrane(5, tau_mem=torch.rand(5) * 20e-3 + 2e-3, beta=1.8, v_threshold=0.3)
    x = torch.rand(30, 4, 5)
    u, state = readout(x)
    spikes, trace = readout.neuron.record(x)
    b_prev = torch.cat([torch.zeros(1, 4, 5), trace.b[:-1]])
    assert torch.equal(spikes, (u >= 0.3 + 1.8 * b_prev).float())
    assert spikes.sum() > 0
    torch.testing.assert_close(state.v, trace.v[-1])


@pytest.mark.parametrize(
    "shape, match",
    [((6, 2, 5), r"\[T, B, 3\]"), ((2, 3), r"got shape \(2, 3\)"), ((4, 2, 1, 3), "time-major")],
)
def test_wrong_input_shape_raises(shape, match):
    with pytest.raises(ValueError, match=match):
        SRNN(**TINY_SRNN)(torch.rand(shape))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(recurrent=[True]), "one bool per hidden layer"),
        (dict(hidden_sizes=[]), "non-empty"),
        (dict(readout="spikes"), "readout"),
        (dict(recurrent_init="eye"), "recurrent_init"),
        (dict(tau_mem_std=-1.0), "tau_mem_std"),
        (dict(backend="triton"), "backend"),
        (dict(tau_adp=0.0), "positive"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SRNN(**{**TINY_SRNN, **kwargs})


def test_recurrent_layers_are_the_fused_kind():
    model = SRNN(**TINY_SRNN)
    assert isinstance(model.net[0], snn.RecurrentALIF) and model.net[0].backend == "auto"
