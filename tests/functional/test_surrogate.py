"""Surrogates: forward is the exact Heaviside, backward the primitive's derivative."""

import math

import pytest
import torch

from spikeforge.functional import surrogate as sg

ALL = [
    sg.FastSigmoid(slope=10.0),
    sg.Sigmoid(slope=4.0),
    sg.ATan(alpha=2.0),
    sg.Triangle(width=0.7),
    sg.Rectangular(width=0.8),
    sg.Gaussian(sigma=0.3),
    sg.MultiGaussian(),
    sg.Exponential(slope=3.0),
    sg.StraightThrough(),
]
NORMALISED = [s for s in ALL if not isinstance(s, (sg.MultiGaussian, sg.StraightThrough))]


def _points(s: sg.Surrogate) -> torch.Tensor:
    """Sample points away from the kinks of piecewise surrogates (finite differences fail there)."""
    x = torch.linspace(-2.0, 2.0, 401, dtype=torch.float64)
    kinks = {sg.Rectangular: [0.5 * getattr(s, "width", 0)], sg.Triangle: [0.0, getattr(s, "width", 0)]}.get(type(s), [])
    keep = torch.ones_like(x, dtype=torch.bool)
    for k in kinks:
        keep &= ((x.abs() - k).abs() > 1e-3)
    return x[keep]


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_forward_is_heaviside_with_spike_at_zero(s):
    x = torch.tensor([-1.0, -1e-7, 0.0, 1e-7, 1.0])
    assert torch.equal(s(x), torch.tensor([0.0, 0.0, 1.0, 1.0, 1.0]))


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_derivative_matches_finite_difference_of_primitive(s):
    x = _points(s)
    h = 1e-6
    fd = (s.primitive(x + h) - s.primitive(x - h)) / (2 * h)
    torch.testing.assert_close(s.derivative(x), fd, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_backward_equals_derivative(s):
    x = _points(s).requires_grad_()
    g = torch.randn_like(x)
    s(x).backward(g)
    torch.testing.assert_close(x.grad, g * s.derivative(x.detach()))


@pytest.mark.parametrize("s", ALL, ids=lambda s: type(s).__name__)
def test_gradcheck_of_the_spike_function_against_its_primitive(s):
    """gradcheck the custom autograd function: forward value replaced by the primitive,
    so the numerical Jacobian is the primitive's and the analytic one is SpikeFunction's."""
    x = _points(s)[::20].clone().requires_grad_()

    def f(x):
        spikes = s(x)
        return s.primitive(x).detach() + (spikes - spikes.detach())

    assert torch.autograd.gradcheck(f, (x,), eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("s", NORMALISED, ids=lambda s: type(s).__name__)
def test_normalised_primitive_rises_from_zero_to_one(s):
    x = torch.linspace(-60, 60, 200001, dtype=torch.float64)
    p = s.primitive(x)
    assert p[0] == pytest.approx(0.0, abs=2e-3) and p[-1] == pytest.approx(1.0, abs=2e-3)
    assert bool((p[1:] >= p[:-1] - 1e-12).all())
    assert s.primitive(torch.zeros(1, dtype=torch.float64)).item() == pytest.approx(0.5)


def test_multi_gaussian_has_yin_shape():
    s = sg.MultiGaussian()
    x = torch.tensor([0.0, 1.5], dtype=torch.float64)
    d = s.derivative(x)
    peak = 0.5 * (1.15 / (0.5 * math.sqrt(2 * math.pi)) - 2 * 0.15 * math.exp(-0.5 * (0.5 / 3.0) ** 2) / (3 * math.sqrt(2 * math.pi)))
    assert d[0].item() == pytest.approx(peak)
    assert d[1].item() < 0  # negative side lobe


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_bad_parameters_raise(bad):
    with pytest.raises(ValueError, match="slope must be a positive finite number"):
        sg.FastSigmoid(slope=bad)


def test_from_name():
    assert sg.surrogate_from_name("atan", alpha=3.0) == sg.ATan(alpha=3.0)
    assert sg.surrogate_from_name("SuperSpike") == sg.FastSigmoid()
    with pytest.raises(ValueError, match="unknown surrogate 'nope'"):
        sg.surrogate_from_name("nope")
    with pytest.raises(ValueError, match="bad parameters for surrogate"):
        sg.surrogate_from_name("atan", slope=1.0)
