r"""Leaky integrate-and-fire neuron, one time step.

The membrane of a LIF neuron is a leaky capacitor charged by the input current:

.. math::
    C \frac{dV}{dt} = -\frac{V - V_\text{leak}}{R} + I(t)
    \quad\Longleftrightarrow\quad
    \tau_\text{mem} \frac{dV}{dt} = V_\text{leak} - V + R\,I(t), \qquad \tau_\text{mem} = RC,

and the neuron spikes when :math:`V \ge V_\text{th}`, then resets and may stay
refractory (see :mod:`spikeforge.functional.threshold`). With the input held
constant over a step of length :math:`\Delta t` the membrane before the spike
decision is

.. math::
    u_t = V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + (1 - d)\,R\,x_t,

with :math:`d = e^{-\Delta t/\tau_\text{mem}}` (``method="exp"``, exact) or
:math:`d = 1 - \Delta t/\tau_\text{mem}` (``method="euler"``). The factor
:math:`1-d` makes a constant input :math:`x` settle at :math:`V_\text{leak} + Rx`
whatever :math:`\Delta t` is (it is the :math:`(1-\alpha)` input scaling of Yin et
al. 2021).

Units: times in seconds (as NIR), ``dt`` defaults to 1 ms; potentials in the
units of ``v_threshold`` (dimensionless by default).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .model import NeuronModel
from .surrogate import FastSigmoid, Surrogate
from .threshold import check_time_constant, decay_factor, spike_and_reset, validate_common


class LIFParameters(NamedTuple):
    """Parameters of :func:`lif_step`; tensors broadcast against the neuron shape."""

    tau_mem: Tensor | float = 10e-3
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


class LIFState(NamedTuple):
    """``v``: membrane after reset; ``refrac``: refractory steps left."""

    v: Tensor
    refrac: Tensor


def lif_init_state(x: Tensor, p: LIFParameters) -> LIFState:
    """The resting state: ``v = v_leak``, not refractory."""
    zeros = torch.zeros_like(x)
    return LIFState(v=zeros + p.v_leak, refrac=zeros)


def lif_coefficients(p: LIFParameters) -> Tensor | float:
    """The membrane decay factor :math:`d`."""
    return decay_factor(p.tau_mem, p.dt, p.method)


def lif_update(x: Tensor, state: LIFState, p: LIFParameters, decay: Tensor | float) -> tuple[Tensor, LIFState]:
    """One step with a precomputed decay factor (see the module docstring)."""
    u = p.v_leak + decay * (state.v - p.v_leak) + (1 - decay) * p.r * x
    s, v, refrac = spike_and_reset(u, state.v, state.refrac, p.v_threshold, p.v_reset, p)
    return s, LIFState(v, refrac)


def lif_validate(p: LIFParameters) -> None:
    """Raise ``ValueError`` for impossible parameters."""
    validate_common(p)
    check_time_constant(p.tau_mem, p, "tau_mem")


LIF_MODEL = NeuronModel(
    name="lif",
    parameters=LIFParameters,
    state=LIFState,
    continuous=("tau_mem", "v_threshold", "v_reset", "v_leak", "r"),
    init_state=lif_init_state,
    coefficients=lif_coefficients,
    update=lif_update,
    validate=lif_validate,
)


def lif_step(x: Tensor, state: LIFState | None, p: LIFParameters = LIFParameters()) -> tuple[Tensor, LIFState]:
    """One LIF step on ``x`` of shape ``[B, ...]``; returns ``(spikes, state)``."""
    return LIF_MODEL.step(x, state, p)


def lif_sequence(
    x: Tensor, state: LIFState | None = None, p: LIFParameters = LIFParameters()
) -> tuple[Tensor, LIFState]:
    """LIF over a time-major sequence ``[T, B, ...]``; returns ``(spikes, final state)``."""
    return LIF_MODEL.sequence(x, state, p)
