r"""Leaky integrator (LI): a non-spiking readout neuron, one time step.

The LIF membrane without threshold (NIR's ``LI`` node):

.. math::
    \tau_\text{mem} \frac{dV}{dt} = V_\text{leak} - V + R\,I(t)
    \quad\Rightarrow\quad
    v_t = V_\text{leak} + d\,(v_{t-1} - V_\text{leak}) + (1 - d)\,R\,x_t,

with :math:`d = e^{-\Delta t/\tau_\text{mem}}` (or :math:`1 - \Delta t/\tau_\text{mem}`).
The output is the membrane itself, used for membrane-based decoding (max or mean
over time, or the last step).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .._validation import check_choice, check_positive
from .model import NeuronModel
from .threshold import METHODS, check_time_constant, decay_factor


class LIParameters(NamedTuple):
    """Parameters of :func:`li_step`."""

    tau_mem: Tensor | float = 20e-3
    v_leak: Tensor | float = 0.0
    r: Tensor | float = 1.0
    dt: float = 1e-3
    method: str = "exp"


class LIState(NamedTuple):
    """``v``: the membrane."""

    v: Tensor


def li_init_state(x: Tensor, p: LIParameters) -> LIState:
    """The resting state ``v = v_leak``."""
    return LIState(v=torch.zeros_like(x) + p.v_leak)


def li_coefficients(p: LIParameters) -> Tensor | float:
    """The membrane decay factor."""
    return decay_factor(p.tau_mem, p.dt, p.method)


def li_update(x: Tensor, state: LIState, p: LIParameters, decay: Tensor | float) -> tuple[Tensor, LIState]:
    """One LI step; the output is the new membrane."""
    v = p.v_leak + decay * (state.v - p.v_leak) + (1 - decay) * p.r * x
    return v, LIState(v)


def li_validate(p: LIParameters) -> None:
    """Raise ``ValueError`` for impossible parameters."""
    check_positive(p.dt, "dt")
    check_choice(p.method, METHODS, "method")
    check_time_constant(p.tau_mem, p, "tau_mem")


LI_MODEL = NeuronModel(
    name="li",
    parameters=LIParameters,
    state=LIState,
    continuous=("tau_mem", "v_leak", "r"),
    init_state=li_init_state,
    coefficients=li_coefficients,
    update=li_update,
    validate=li_validate,
    spiking=False,
)


def li_step(x: Tensor, state: LIState | None, p: LIParameters = LIParameters()) -> tuple[Tensor, LIState]:
    """One LI step on ``x`` of shape ``[B, ...]``; returns ``(membrane, state)``."""
    return LI_MODEL.step(x, state, p)


def li_sequence(x: Tensor, state: LIState | None = None, p: LIParameters = LIParameters()) -> tuple[Tensor, LIState]:
    """LI over a time-major sequence ``[T, B, ...]``; returns ``(membrane trace, final state)``."""
    return LI_MODEL.sequence(x, state, p)
