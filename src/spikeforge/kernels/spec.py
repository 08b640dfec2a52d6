r"""The generalised LIF recurrence that every fused kernel implements.

LIF, IF, CubaLIF and ALIF are one recurrence with per-neuron coefficients, so each
backend needs one forward and one backward kernel, not four. For neuron ``n`` and
step ``t`` (``a_t`` is 1 unless the neuron is refractory):

.. math::
    i_t &= d_\text{syn} i_{t-1} + x_t \quad (\text{synaptic models; else the drive is } x_t) \\
    \vartheta_t &= V_\text{th} + \beta\, b_{t-1} \quad (\text{adaptive models; else } V_\text{th}) \\
    u_t &= a_t\,[V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + g\,\text{drive}_t] + (1 - a_t)\, v_{t-1} \\
    s_t &= a_t\,\Theta(u_t - \vartheta_t) \\
    v_t &= \text{reset}(u_t, s_t, \vartheta_t, V_\text{reset}) \\
    b_t &= \rho\, b_{t-1} + (1 - \rho)\, s_t

with ``reset`` and the refractory counter exactly as in
:mod:`spikeforge.functional.threshold`. The models map onto it as:

====================  ==================  =====================  ==========
model                 ``d``               ``g``                  extras
====================  ==================  =====================  ==========
LIF                   decay               ``(1 - decay) r``
IF                    1                   ``r``                  ``V_leak = 0``
CubaLIF               membrane decay      ``(1 - decay) r``      ``d_syn``
ALIF                  membrane decay      ``(1 - decay) r``      ``beta, rho``
====================  ==================  =====================  ==========

The coefficients are computed from the module's parameters in plain torch (so autograd
carries their gradients back to ``tau_mem``, ``r``, ...); the kernels take them as
``[N]`` tensors, with ``N`` the number of neurons, and return the gradient for each.

Every constant below is part of the kernel interface shared by all backends.
"""

from __future__ import annotations

from dataclasses import astuple, dataclass

from ..functional import surrogate as sg

RESET_IDS = {"subtract": 0, "zero": 1, "none": 2}

SURROGATE_IDS: dict[type, int] = {
    sg.FastSigmoid: 0,
    sg.Sigmoid: 1,
    sg.ATan: 2,
    sg.Triangle: 3,
    sg.Rectangular: 4,
    sg.Gaussian: 5,
    sg.MultiGaussian: 6,
    sg.Exponential: 7,
    sg.StraightThrough: 8,
}

# Order of the per-neuron coefficient tensors passed to every kernel.
# ``one_minus_rho`` is passed separately (not computed in the kernel) so that it is rounded
# exactly as the reference rounds ``1 - rho``.
COEFFICIENTS = ("d", "g", "v_leak", "v_threshold", "v_reset", "d_syn", "beta", "rho", "one_minus_rho")


@dataclass(frozen=True)
class KernelConfig:
    """The non-tensor settings of a kernel call (all ints so every backend can take them)."""

    refractory_steps: int
    reset: int
    detach_reset: int
    has_syn: int
    has_adapt: int
    surrogate: int


def surrogate_id(s: sg.Surrogate) -> int | None:
    """The kernel id of a surrogate, or ``None`` when no kernel implements it."""
    return SURROGATE_IDS.get(type(s))


def surrogate_params(s: sg.Surrogate) -> list[float]:
    """The surrogate's parameters, padded to four floats."""
    values = [float(v) for v in astuple(s)]
    return values + [0.0] * (4 - len(values))
