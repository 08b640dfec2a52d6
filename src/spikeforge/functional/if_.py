r"""Integrate-and-fire neuron (no leak), one time step.

The membrane integrates its input without loss, :math:`C\,dV/dt = I(t)`; in
discrete time, with :math:`x_t` the charge delivered during step :math:`t`
scaled by :math:`R`,

.. math::
    u_t = v_{t-1} + R\,x_t,

then spike, reset and refractory period as in
:mod:`spikeforge.functional.threshold`. At rest the membrane sits at
:math:`V_\text{reset}`. In NIR's continuous form (:math:`dv/dt = R_\text{NIR} I`)
this is :math:`R_\text{NIR} = R/\Delta t`.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .model import NeuronModel
from .surrogate import FastSigmoid, Surrogate
from .threshold import spike_and_reset, validate_common


class IFParameters(NamedTuple):
    """Parameters of :func:`if_step`."""

    v_threshold: Tensor | float = 1.0
    v_reset: Tensor | float = 0.0
    r: Tensor | float = 1.0
    refractory_steps: int = 0
    dt: float = 1e-3
    reset: str = "subtract"
    detach_reset: bool = True
    surrogate: Surrogate = FastSigmoid()


class IFState(NamedTuple):
    """``v``: membrane after reset; ``refrac``: refractory steps left."""

    v: Tensor
    refrac: Tensor


def if_init_state(x: Tensor, p: IFParameters) -> IFState:
    """The resting state: ``v = v_reset``, not refractory."""
    zeros = torch.zeros_like(x)
    return IFState(v=zeros + p.v_reset, refrac=zeros)


def if_coefficients(p: IFParameters) -> None:
    """IF has no per-sequence constants."""
    return None


def if_update(x: Tensor, state: IFState, p: IFParameters, _: None) -> tuple[Tensor, IFState]:
    """One IF step."""
    u = state.v + p.r * x
    s, v, refrac = spike_and_reset(u, state.v, state.refrac, p.v_threshold, p.v_reset, p)
    return s, IFState(v, refrac)


IF_MODEL = NeuronModel(
    name="if",
    parameters=IFParameters,
    state=IFState,
    continuous=("v_threshold", "v_reset", "r"),
    init_state=if_init_state,
    coefficients=if_coefficients,
    update=if_update,
    validate=validate_common,
)


def if_step(x: Tensor, state: IFState | None, p: IFParameters = IFParameters()) -> tuple[Tensor, IFState]:
    """One IF step on ``x`` of shape ``[B, ...]``; returns ``(spikes, state)``."""
    return IF_MODEL.step(x, state, p)


def if_sequence(x: Tensor, state: IFState | None = None, p: IFParameters = IFParameters()) -> tuple[Tensor, IFState]:
    """IF over a time-major sequence ``[T, B, ...]``."""
    return IF_MODEL.sequence(x, state, p)
