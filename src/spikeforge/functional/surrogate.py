r"""Surrogate gradients for the spike non-linearity.

A neuron emits a spike when its membrane reaches the threshold:

.. math::
    s = \Theta(x), \qquad x = v - \vartheta, \qquad \Theta(x) = 1 \text{ if } x \ge 0 \text{ else } 0.

:math:`\Theta` has a zero derivative almost everywhere, so training replaces it in
the backward pass by the derivative :math:`\sigma'(x)` of a smooth *primitive*
:math:`\sigma` (Neftci, Mostafa & Zenke 2019). The forward pass always stays the
exact Heaviside step, at :math:`x = 0` too (a membrane exactly at threshold fires).

Each surrogate is a small frozen object. ``surrogate(x)`` applies the spike function
with that surrogate's backward; ``surrogate.primitive(x)`` and
``surrogate.derivative(x)`` expose the smooth function and its derivative, so tests
(and users) can check one against the other. Unless stated otherwise a primitive
rises from 0 to 1 (it tends to :math:`\Theta` as the sharpness grows) and its
derivative integrates to 1.

Examples:
    >>> import torch
    >>> from spikeforge.functional.surrogate import FastSigmoid
    >>> x = torch.tensor([-0.5, 0.0, 0.5], requires_grad=True)
    >>> FastSigmoid(slope=10.0)(x)
    tensor([0., 1., 1.], grad_fn=<SpikeFunctionBackward>)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import Tensor

__all__ = [
    "Surrogate",
    "FastSigmoid",
    "SuperSpike",
    "Sigmoid",
    "ATan",
    "Triangle",
    "Rectangular",
    "Gaussian",
    "MultiGaussian",
    "Exponential",
    "StraightThrough",
    "heaviside",
    "surrogate_from_name",
    "SURROGATES",
]


def heaviside(x: Tensor) -> Tensor:
    """The forward spike function: 1 where ``x >= 0``, else 0, in ``x``'s dtype."""
    return (x >= 0).to(x.dtype)


class SpikeFunction(torch.autograd.Function):
    """Heaviside forward, ``grad * surrogate.derivative(x)`` backward."""

    @staticmethod
    def forward(x: Tensor, surrogate: "Surrogate") -> Tensor:  # type: ignore[override]
        return heaviside(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: Tensor) -> None:
        x, surrogate = inputs
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


@dataclass(frozen=True)
class Surrogate:
    """Base class: subclasses define :meth:`primitive` and :meth:`derivative`."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"{type(self).__name__}.{f.name} must be a positive finite number, got {value!r}"
                )

    def __call__(self, x: Tensor) -> Tensor:
        if not torch.is_grad_enabled():
            # nothing is recorded anyway; skip autograd.Function's per-call cost (binding
            # the arguments by signature: most of an inference step of a small layer)
            return heaviside(x)
        return SpikeFunction.apply(x, self)

    def primitive(self, x: Tensor) -> Tensor:
        """The smooth function whose derivative is used in the backward pass."""
        raise NotImplementedError

    def derivative(self, x: Tensor) -> Tensor:
        """The closed-form derivative of :meth:`primitive`."""
        raise NotImplementedError


@dataclass(frozen=True)
class FastSigmoid(Surrogate):
    r"""Fast sigmoid, the SuperSpike surrogate (Zenke & Ganguli 2018).

    :math:`\sigma(x) = \tfrac12 + \tfrac12\,\frac{kx}{1 + k|x|}`,
    :math:`\sigma'(x) = \frac{k}{2(1 + k|x|)^2}`.
    """

    slope: float = 25.0

    def primitive(self, x: Tensor) -> Tensor:
        k = self.slope
        return 0.5 + 0.5 * k * x / (1 + k * x.abs())

    def derivative(self, x: Tensor) -> Tensor:
        k = self.slope
        return 0.5 * k / (1 + k * x.abs()) ** 2


SuperSpike = FastSigmoid


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    r"""Logistic sigmoid: :math:`\sigma(x) = 1/(1 + e^{-kx})`, :math:`\sigma' = k\sigma(1-\sigma)`."""

    slope: float = 5.0

    def primitive(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.slope * x)

    def derivative(self, x: Tensor) -> Tensor:
        s = torch.sigmoid(self.slope * x)
        return self.slope * s * (1 - s)


@dataclass(frozen=True)
class ATan(Surrogate):
    r"""Arctangent (Fang et al. 2021):
    :math:`\sigma(x) = \tfrac1\pi \arctan(\tfrac\pi2 \alpha x) + \tfrac12`,
    :math:`\sigma'(x) = \frac{\alpha/2}{1 + (\tfrac\pi2 \alpha x)^2}`.
    """

    alpha: float = 2.0

    def primitive(self, x: Tensor) -> Tensor:
        return torch.atan(0.5 * math.pi * self.alpha * x) / math.pi + 0.5

    def derivative(self, x: Tensor) -> Tensor:
        return 0.5 * self.alpha / (1 + (0.5 * math.pi * self.alpha * x) ** 2)


@dataclass(frozen=True)
class Triangle(Surrogate):
    r"""Triangle (piecewise linear, Bellec et al. 2018 up to their damping factor):
    :math:`\sigma'(x) = \tfrac1w \max(0, 1 - |x|/w)`, support :math:`|x| < w`.
    """

    width: float = 1.0

    def primitive(self, x: Tensor) -> Tensor:
        u = (x / self.width).clamp(-1.0, 1.0)
        return 0.5 + u - 0.5 * u * u.abs()

    def derivative(self, x: Tensor) -> Tensor:
        return (1 - x.abs() / self.width).clamp(min=0.0) / self.width


@dataclass(frozen=True)
class Rectangular(Surrogate):
    r"""Rectangular (boxcar, Wu et al. 2018):
    :math:`\sigma'(x) = 1/w` for :math:`|x| < w/2`, else 0; :math:`\sigma` is a clipped ramp.
    """

    width: float = 1.0

    def primitive(self, x: Tensor) -> Tensor:
        return (x / self.width + 0.5).clamp(0.0, 1.0)

    def derivative(self, x: Tensor) -> Tensor:
        return (x.abs() < 0.5 * self.width).to(x.dtype) / self.width


@dataclass(frozen=True)
class Gaussian(Surrogate):
    r"""Gaussian: :math:`\sigma'(x) = \mathcal N(x; 0, s^2)`, :math:`\sigma` its CDF."""

    sigma: float = 0.5

    def primitive(self, x: Tensor) -> Tensor:
        return 0.5 * (1 + torch.erf(x / (self.sigma * math.sqrt(2.0))))

    def derivative(self, x: Tensor) -> Tensor:
        return _normal_pdf(x, 0.0, self.sigma)


@dataclass(frozen=True)
class MultiGaussian(Surrogate):
    r"""The multi-Gaussian surrogate of Yin, Corradi & Bohté (2021), their defaults:

    .. math::
        \sigma'(x) = \gamma\big[(1+h)\,\mathcal N(x; 0, \ell^2)
                     - h\,\mathcal N(x; \ell, (s\ell)^2) - h\,\mathcal N(x; -\ell, (s\ell)^2)\big]

    with width :math:`\ell` = 0.5, height :math:`h` = 0.15, scale :math:`s` = 6 and
    gain :math:`\gamma` = 0.5. Its negative side lobes make it integrate to
    :math:`\gamma(1-h)`, not 1.
    """

    width: float = 0.5
    height: float = 0.15
    scale: float = 6.0
    gamma: float = 0.5

    def primitive(self, x: Tensor) -> Tensor:
        w, h, s = self.width, self.height, self.scale
        return self.gamma * (
            (1 + h) * _normal_cdf(x, 0.0, w)
            - h * _normal_cdf(x, w, s * w)
            - h * _normal_cdf(x, -w, s * w)
        )

    def derivative(self, x: Tensor) -> Tensor:
        w, h, s = self.width, self.height, self.scale
        return self.gamma * (
            (1 + h) * _normal_pdf(x, 0.0, w)
            - h * _normal_pdf(x, w, s * w)
            - h * _normal_pdf(x, -w, s * w)
        )


@dataclass(frozen=True)
class Exponential(Surrogate):
    r"""SLAYER's exponential (Shrestha & Orchard 2018), normalised to integrate to 1:
    :math:`\sigma'(x) = \tfrac{k}{2} e^{-k|x|}`, :math:`\sigma` the Laplace CDF.
    """

    slope: float = 5.0

    def primitive(self, x: Tensor) -> Tensor:
        e = 0.5 * torch.exp(-self.slope * x.abs())
        return torch.where(x < 0, e, 1 - e)

    def derivative(self, x: Tensor) -> Tensor:
        return 0.5 * self.slope * torch.exp(-self.slope * x.abs())


@dataclass(frozen=True)
class StraightThrough(Surrogate):
    r"""Straight-through estimator (Bengio et al. 2013): :math:`\sigma(x) = x`, :math:`\sigma' = 1`."""

    def primitive(self, x: Tensor) -> Tensor:
        return x.clone()

    def derivative(self, x: Tensor) -> Tensor:
        return torch.ones_like(x)


def _normal_pdf(x: Tensor, mu: float, sigma: float) -> Tensor:
    return torch.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))


def _normal_cdf(x: Tensor, mu: float, sigma: float) -> Tensor:
    return 0.5 * (1 + torch.erf((x - mu) / (sigma * math.sqrt(2.0))))


SURROGATES: dict[str, type[Surrogate]] = {
    "fast_sigmoid": FastSigmoid,
    "superspike": FastSigmoid,
    "sigmoid": Sigmoid,
    "atan": ATan,
    "triangle": Triangle,
    "rectangular": Rectangular,
    "boxcar": Rectangular,
    "gaussian": Gaussian,
    "multi_gaussian": MultiGaussian,
    "exponential": Exponential,
    "straight_through": StraightThrough,
}


def surrogate_from_name(name: str, **kwargs: float) -> Surrogate:
    """Build a surrogate from a configuration-file name, e.g. ``("atan", alpha=2)``.

    Code should construct surrogate objects directly; this exists for recipes and
    the command line.
    """
    key = name.lower().replace("-", "_")
    if key not in SURROGATES:
        raise ValueError(f"unknown surrogate {name!r}; known: {', '.join(sorted(SURROGATES))}")
    try:
        return SURROGATES[key](**kwargs)
    except TypeError as err:
        raise ValueError(f"bad parameters for surrogate {name!r}: {err}") from None
