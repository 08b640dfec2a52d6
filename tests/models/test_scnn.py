"""SCNN: shapes for every encoding and readout, state carry, gradients, input errors."""

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.models import SCNN

from ._tiny import TINY_SCNN


@pytest.mark.parametrize("readout", ["li", "spiking"])
@pytest.mark.parametrize("encoding", ["direct", "bernoulli", "latency"])
def test_shapes_for_every_encoding_and_readout(encoding, readout):
    torch.manual_seed(0)
    model = SCNN(**TINY_SCNN, encoding=encoding, readout=readout)
    out, state = model(torch.rand(2, 1, 8, 8))
    assert out.shape == (3, 2, 3) and out.dtype == torch.float32
    assert len(state) == len(model.net)
    if readout == "spiking":
        assert set(out.unique().tolist()) <= {0.0, 1.0}


def test_time_major_input_is_used_as_is_and_float64_works():
    torch.manual_seed(0)
    model = SCNN(**TINY_SCNN, pooling="avg", batch_norm=False).double()
    out, _ = model(torch.rand(7, 2, 1, 8, 8, dtype=torch.float64))
    assert out.shape == (7, 2, 3) and out.dtype == torch.float64


def test_layer_structure():
    model = SCNN(input_shape=[2, 16, 12], num_classes=5, channels=[4, 8], hidden=[7, 6], dropout=0.1)
    kinds = [type(m).__name__ for m in model.net]
    assert kinds == ["TimeDistributed", "LIF", "TimeDistributed"] * 2 + [
        "Flatten", "Dropout", "Linear", "LIF", "Dropout", "Linear", "LIF", "Dropout", "Linear", "LI"]
    assert model.net[8].in_features == 8 * 4 * 3  # 16x12 -> 8x6 -> 4x3


def _loss_and_grads(model, chunks):
    model.zero_grad()
    outs, state = [], None
    for x in chunks:
        out, state = model(x, state)
        outs.append(out)
    out = torch.cat(outs)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}


@pytest.mark.parametrize("readout", ["li", "spiking"])
def test_state_carry_equals_whole_sequence(readout):
    torch.manual_seed(1)
    model = SCNN(**TINY_SCNN, readout=readout, tau_mem=4e-3, learn_tau_mem=True).double().eval()
    x = torch.rand(10, 3, 1, 8, 8, dtype=torch.float64) * 2
    whole, grads_whole = _loss_and_grads(model, [x])
    carried, grads_carried = _loss_and_grads(model, [x[:4], x[4:]])
    torch.testing.assert_close(carried, whole)
    for name, g in grads_whole.items():
        torch.testing.assert_close(grads_carried[name], g, msg=name)


def test_gradients_reach_every_learnable_parameter():
    torch.manual_seed(0)
    model = SCNN(**TINY_SCNN, learn_tau_mem=True, learn_v_threshold=True, readout="spiking")
    out, _ = model(torch.rand(4, 1, 8, 8))
    out.sum().backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_torch_and_fused_backends_agree():
    torch.manual_seed(0)
    fused = SCNN(**TINY_SCNN).eval()
    reference = SCNN(**TINY_SCNN, backend="torch").eval()
    reference.load_state_dict(fused.state_dict())
    x = torch.rand(2, 1, 8, 8)
    torch.testing.assert_close(fused(x)[0], reference(x)[0])


def test_conv_neurons_are_sequence_modules():
    model = SCNN(**TINY_SCNN)
    assert all(m.time_major for m in model.net if isinstance(m, snn.NeuronModule))


@pytest.mark.parametrize(
    "shape, match",
    [
        ((2, 8, 8), r"\[B, 1, 8, 8\].*unsqueeze\(1\)"),
        ((2, 3, 8, 8), r"got shape \(2, 3, 8, 8\)"),
        ((2, 1, 8, 9), r"time-major sequence"),
        ((1, 2, 2, 1, 8, 8), r"got shape"),
    ],
)
def test_wrong_input_shape_raises(shape, match):
    model = SCNN(**TINY_SCNN)
    with pytest.raises(ValueError, match=match):
        model(torch.rand(shape))


def test_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="floating-point"):
        SCNN(**TINY_SCNN)(torch.ones(2, 1, 8, 8, dtype=torch.long))


def test_latency_input_out_of_range_raises():
    with pytest.raises(ValueError):
        SCNN(**TINY_SCNN, encoding="latency")(torch.full((2, 1, 8, 8), 3.0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(kernel_size=4), "odd"),
        (dict(encoding="poisson"), "encoding"),
        (dict(pooling="min"), "pooling"),
        (dict(readout="max"), "readout"),
        (dict(channels=[4, 4, 4, 4]), "too small"),
        (dict(input_shape=[8, 8]), r"\[C, H, W\]"),
        (dict(dropout=1.0), "dropout"),
        (dict(num_steps=0), "num_steps"),
        (dict(surrogate="nope"), "unknown surrogate"),
        (dict(tau_mem=-1e-3), "tau_mem"),
    ],
)
def test_bad_constructor_arguments_raise(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SCNN(**{**TINY_SCNN, **kwargs})
