"""Derivatives of the surrogate gradients as Triton device functions (ids in
``spec.SURROGATE_IDS``), the same formulas as :mod:`spikeforge.functional.surrogate` and
the CPU kernels' ``surrogate_derivative``."""

from __future__ import annotations

import triton
import triton.language as tl


@triton.jit
def _pdf(z, mu, sigma):
    """The normal density ``N(z; mu, sigma^2)``."""
    y = (z - mu) / sigma
    return tl.exp(-0.5 * y * y) / (sigma * 2.5066282746310002)


@triton.jit
def surrogate_derivative(z, p0, p1, p2, p3, SID: tl.constexpr):
    """The derivative of surrogate ``SID`` (ids in ``spec.SURROGATE_IDS``) at ``z``.

    The formulas are those of :mod:`spikeforge.functional.surrogate`; the sigmoid's is
    written with ``exp(-k|z|)`` so that it never overflows (same value).
    """
    if SID == 0:  # FastSigmoid(slope)
        a = 1.0 + p0 * tl.abs(z)
        r = 0.5 * p0 / (a * a)
    elif SID == 1:  # Sigmoid(slope): k e / (1 + e)^2 with e = exp(-k|z|)
        e = tl.exp(-p0 * tl.abs(z))
        r = p0 * e / ((1.0 + e) * (1.0 + e))
    elif SID == 2:  # ATan(alpha)
        c = 1.5707963267948966 * p0 * z
        r = 0.5 * p0 / (1.0 + c * c)
    elif SID == 3:  # Triangle(width)
        r = tl.maximum(1.0 - tl.abs(z) / p0, 0.0) / p0
    elif SID == 4:  # Rectangular(width)
        r = tl.where(tl.abs(z) < 0.5 * p0, 1.0 / p0, 0.0).to(z.dtype)
    elif SID == 5:  # Gaussian(sigma)
        r = _pdf(z, 0.0, p0)
    elif SID == 6:  # MultiGaussian(width, height, scale, gamma)
        r = p3 * ((1.0 + p1) * _pdf(z, 0.0, p0) - p1 * _pdf(z, p0, p2 * p0) - p1 * _pdf(z, -p0, p2 * p0))
    elif SID == 7:  # Exponential(slope)
        r = 0.5 * p0 * tl.exp(-p0 * tl.abs(z))
    else:  # StraightThrough
        r = tl.zeros_like(z) + 1.0
    return r
