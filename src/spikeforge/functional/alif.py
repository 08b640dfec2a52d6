r"""Adaptive-threshold LIF neuron (ALIF), one time step.

The LIF membrane of :mod:`spikeforge.functional.lif` with a threshold that rises
after each spike and relaxes back with its own time constant (Bellec et al. 2018;
Yin, Corradi & Bohté 2021):

.. math::
    \vartheta(t) = V_\text{th} + \beta\, b(t), \qquad
    \tau_\text{adp} \frac{db}{dt} = -b + \tau_\text{adp} \sum_k \delta(t - t_k^\text{out}).

In discrete time, with :math:`d = e^{-\Delta t/\tau_\text{mem}}` and
:math:`\rho = e^{-\Delta t/\tau_\text{adp}}` (or their forward-Euler forms),

.. math::
    \vartheta_t &= V_\text{th} + \beta\, b_{t-1} \\
    u_t &= V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + (1 - d)\,R\,x_t \\
    s_t &= \Theta(u_t - \vartheta_t), \quad \text{reset by } \vartheta_t \\
    b_t &= \rho\, b_{t-1} + (1 - \rho)\, s_t,

so each spike raises the threshold by :math:`\beta(1-\rho)`. This is the neuron of
Yin et al. 2021 (their ``b_j0`` is ``v_threshold``, ``alpha`` is :math:`d`, ``ro``
is :math:`\rho`, ``R_m`` is ``r``), with one difference: their code subtracts the
threshold of the *next* step after the *next* leak, spikeforge subtracts the
threshold the membrane crossed, at once (the reset semantics shared by all
models). Bellec et al.'s increment of :math:`\beta_\text{B}` per spike is
:math:`\beta = \beta_\text{B}/(1-\rho)`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .._validation import check_non_negative
from .model import NeuronModel
from .surrogate import FastSigmoid, Surrogate
from .threshold import check_time_constant, decay_factor, spike_and_reset, validate_common


class ALIFParameters(NamedTuple):
    """Parameters of :func:`alif_step`; ``v_threshold`` is the baseline threshold."""

    tau_mem: Tensor | float = 20e-3
    tau_adp: Tensor | float = 200e-3
    beta: Tensor | float = 1.8
    v_threshold: Tensor | float = 1.0
    v_reset: Tensor | float = 0.0
    v_leak: Tensor | float = 0.0
    r: Tensor | float = 1.0
    refractory_steps: int = 0
    dt: float = 1e-3
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate = FastSigmoid()
    method: str = "exp"


class ALIFState(NamedTuple):
    """``v``: membrane after reset; ``b``: threshold adaptation; ``refrac``: steps left."""

    v: Tensor
    b: Tensor
    refrac: Tensor


def alif_init_state(x: Tensor, p: ALIFParameters) -> ALIFState:
    """The resting state: ``v = v_leak``, no adaptation, not refractory."""
    zeros = torch.zeros_like(x)
    return ALIFState(v=zeros + p.v_leak, b=zeros, refrac=zeros)


def alif_coefficients(p: ALIFParameters) -> tuple:
    """The decay factors ``(d, rho)`` of membrane and adaptation."""
    return decay_factor(p.tau_mem, p.dt, p.method), decay_factor(p.tau_adp, p.dt, p.method)


def alif_update(x: Tensor, state: ALIFState, p: ALIFParameters, c: tuple) -> tuple[Tensor, ALIFState]:
    """One ALIF step with precomputed decay factors."""
    d, rho = c
    threshold = p.v_threshold + p.beta * state.b
    u = p.v_leak + d * (state.v - p.v_leak) + (1 - d) * p.r * x
    s, v, refrac = spike_and_reset(u, state.v, state.refrac, threshold, p.v_reset, p)
    b = rho * state.b + (1 - rho) * s
    return s, ALIFState(v, b, refrac)


def alif_threshold(state: ALIFState, p: ALIFParameters) -> Tensor:
    """The threshold in force at the next step, :math:`V_\\text{th} + \\beta b`."""
    return p.v_threshold + p.beta * state.b


def alif_validate(p: ALIFParameters) -> None:
    """Raise ``ValueError`` for impossible parameters."""
    validate_common(p)
    check_time_constant(p.tau_mem, p, "tau_mem")
    check_time_constant(p.tau_adp, p, "tau_adp")
    check_non_negative(p.beta, "beta")


ALIF_MODEL = NeuronModel(
    name="alif",
    parameters=ALIFParameters,
    state=ALIFState,
    continuous=("tau_mem", "tau_adp", "beta", "v_threshold", "v_reset", "v_leak", "r"),
    init_state=alif_init_state,
    coefficients=alif_coefficients,
    update=alif_update,
    validate=alif_validate,
)


def alif_step(x: Tensor, state: ALIFState | None, p: ALIFParameters = ALIFParameters()) -> tuple[Tensor, ALIFState]:
    """One ALIF step on ``x`` of shape ``[B, ...]``."""
    return ALIF_MODEL.step(x, state, p)


def alif_sequence(
    x: Tensor, state: ALIFState | None = None, p: ALIFParameters = ALIFParameters()
) -> tuple[Tensor, ALIFState]:
    """ALIF over a time-major sequence ``[T, B, ...]``."""
    return ALIF_MODEL.sequence(x, state, p)
