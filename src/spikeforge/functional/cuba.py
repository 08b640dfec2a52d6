r"""Current-based LIF neuron (CubaLIF), one time step.

A synaptic current with its own time constant feeds the membrane:

.. math::
    \tau_\text{syn} \frac{dI}{dt} = -I + \sum_k w_k\,\delta(t - t_k), \qquad
    \tau_\text{mem} \frac{dV}{dt} = V_\text{leak} - V + R\,I.

Input spikes are instantaneous charges, so each step adds its input to the current
unscaled, and the membrane then integrates the new current as the LIF does:

.. math::
    i_t = d_\text{syn}\, i_{t-1} + x_t, \qquad
    u_t = V_\text{leak} + d_\text{mem}(v_{t-1} - V_\text{leak}) + (1 - d_\text{mem}) R\, i_t,

with :math:`d = e^{-\Delta t/\tau}` (or :math:`1 - \Delta t/\tau` for
``method="euler"``), followed by spike, reset and refractory period as in
:mod:`spikeforge.functional.threshold`. The current keeps integrating during the
refractory period; only the membrane is held.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import Tensor

from .model import NeuronModel
from .surrogate import FastSigmoid, Surrogate
from .threshold import check_time_constant, decay_factor, spike_and_reset, validate_common


class CubaLIFParameters(NamedTuple):
    """Parameters of :func:`cuba_lif_step`."""

    tau_mem: Tensor | float = 10e-3
    tau_syn: Tensor | float = 5e-3
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


class CubaLIFState(NamedTuple):
    """``i``: synaptic current; ``v``: membrane after reset; ``refrac``: steps left."""

    i: Tensor
    v: Tensor
    refrac: Tensor


def cuba_lif_init_state(x: Tensor, p: CubaLIFParameters) -> CubaLIFState:
    """The resting state: no current, ``v = v_leak``, not refractory."""
    zeros = torch.zeros_like(x)
    return CubaLIFState(i=zeros, v=zeros + p.v_leak, refrac=zeros)


def cuba_lif_coefficients(p: CubaLIFParameters) -> tuple:
    """The decay factors ``(d_mem, d_syn)``."""
    return decay_factor(p.tau_mem, p.dt, p.method), decay_factor(p.tau_syn, p.dt, p.method)


def cuba_lif_update(x: Tensor, state: CubaLIFState, p: CubaLIFParameters, c: tuple) -> tuple[Tensor, CubaLIFState]:
    """One CubaLIF step with precomputed decay factors."""
    d_mem, d_syn = c
    i = d_syn * state.i + x
    u = p.v_leak + d_mem * (state.v - p.v_leak) + (1 - d_mem) * p.r * i
    s, v, refrac = spike_and_reset(u, state.v, state.refrac, p.v_threshold, p.v_reset, p)
    return s, CubaLIFState(i, v, refrac)


def cuba_lif_validate(p: CubaLIFParameters) -> None:
    """Raise ``ValueError`` for impossible parameters."""
    validate_common(p)
    check_time_constant(p.tau_mem, p, "tau_mem")
    check_time_constant(p.tau_syn, p, "tau_syn")


CUBA_LIF_MODEL = NeuronModel(
    name="cuba_lif",
    parameters=CubaLIFParameters,
    state=CubaLIFState,
    continuous=("tau_mem", "tau_syn", "v_threshold", "v_reset", "v_leak", "r"),
    init_state=cuba_lif_init_state,
    coefficients=cuba_lif_coefficients,
    update=cuba_lif_update,
    validate=cuba_lif_validate,
)


def cuba_lif_step(
    x: Tensor, state: CubaLIFState | None, p: CubaLIFParameters = CubaLIFParameters()
) -> tuple[Tensor, CubaLIFState]:
    """One CubaLIF step on ``x`` of shape ``[B, ...]``."""
    return CUBA_LIF_MODEL.step(x, state, p)


def cuba_lif_sequence(
    x: Tensor, state: CubaLIFState | None = None, p: CubaLIFParameters = CubaLIFParameters()
) -> tuple[Tensor, CubaLIFState]:
    """CubaLIF over a time-major sequence ``[T, B, ...]``."""
    return CUBA_LIF_MODEL.sequence(x, state, p)
