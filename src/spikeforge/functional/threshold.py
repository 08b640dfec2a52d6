r"""Spike, reset and refractory semantics, written once for every neuron model.

All spiking models in spikeforge share this step, applied after the model has
integrated its input into the membrane potential :math:`u_t` ("the membrane
before the spike decision"):

1. **Refractory gate.** A neuron whose refractory counter :math:`r_{t-1} > 0` ignores
   its input: :math:`u_t \leftarrow v_{t-1}` (the membrane is held) and it cannot fire.
2. **Spike.** :math:`s_t = \Theta(u_t - \vartheta_t)` with :math:`\Theta(0) = 1`:
   a membrane *exactly at* threshold fires. The backward pass uses the surrogate.
3. **Reset** (``reset=``):

   - ``"subtract"``: :math:`v_t = u_t - s_t(\vartheta_t - v_\text{reset})` (with the
     default :math:`v_\text{reset} = 0` this subtracts the threshold);
   - ``"zero"`` (reset to a value): :math:`v_t = (1 - s_t)\,u_t + s_t\,v_\text{reset}`;
   - ``"none"``: :math:`v_t = u_t`.

   With ``detach_reset=True`` (the default) :math:`s_t` in the reset is treated as a
   constant by autograd, so the reset is outside the gradient (Zenke & Vogels 2021
   found this trains as well or better); ``False`` keeps it inside.
4. **Refractory counter.** :math:`r_t = n_\text{ref}` after a spike, otherwise
   :math:`\max(r_{t-1} - 1, 0)`. With :math:`n_\text{ref} = 2` a neuron that fires at
   step :math:`t` ignores steps :math:`t+1` and :math:`t+2` and integrates again at
   :math:`t+3`.

The state a step returns holds the membrane *after* the reset.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .._validation import check_choice, check_non_negative, check_positive, check_threshold_above_reset
from .surrogate import Surrogate

RESET_MODES = ("subtract", "zero", "none")
METHODS = ("exp", "euler")


def decay_factor(tau: Tensor | float, dt: float, method: str = "exp") -> Tensor | float:
    r"""The per-step decay of a leaky variable with time constant ``tau``.

    ``"exp"`` integrates :math:`\tau\,dv/dt = -v` exactly over one step,
    :math:`d = e^{-\Delta t/\tau}`; ``"euler"`` is the forward-Euler step
    :math:`d = 1 - \Delta t/\tau` used by snnTorch and Norse.
    """
    if method == "exp":
        return torch.exp(-dt / tau) if isinstance(tau, Tensor) else math.exp(-dt / tau)
    if method == "euler":
        return 1.0 - dt / tau
    raise ValueError(f"method must be 'exp' or 'euler', got {method!r}")


def spike_and_reset(
    u: Tensor,
    v_prev: Tensor,
    refrac: Tensor,
    threshold: Tensor | float,
    v_reset: Tensor | float,
    p: Any,
) -> tuple[Tensor, Tensor, Tensor]:
    """Steps 1-4 of the module docstring.

    Args:
        u: membrane after integrating this step's input, ``[B, ...]``.
        v_prev: membrane after the previous step (held while refractory).
        refrac: refractory counter after the previous step.
        threshold: the threshold in force at this step.
        v_reset: the reset value.
        p: the model's parameters; reads ``surrogate``, ``reset``,
            ``detach_reset`` and ``refractory_steps``.

    Returns:
        ``(spikes, membrane after reset, refractory counter)``.
    """
    surrogate: Surrogate = p.surrogate
    n_ref = p.refractory_steps
    if n_ref > 0:
        active = refrac <= 0
        u = torch.where(active, u, v_prev)
        s = surrogate(u - threshold) * active.to(u.dtype)
    else:
        s = surrogate(u - threshold)

    s_reset = s.detach() if p.detach_reset else s
    if p.reset == "subtract":
        v = u - s_reset * (threshold - v_reset)
    elif p.reset == "zero":
        v = u - s_reset * (u - v_reset)
    else:
        v = u

    if n_ref > 0:
        refrac = torch.where(s.detach() > 0, torch.full_like(refrac, float(n_ref)), (refrac - 1).clamp(min=0))
    return s, v, refrac


def validate_common(p: Any) -> None:
    """Checks shared by all spiking models' parameters."""
    check_positive(p.dt, "dt")
    check_threshold_above_reset(p.v_threshold, p.v_reset)
    check_choice(p.reset, RESET_MODES, "reset")
    check_non_negative(p.refractory_steps, "refractory_steps")
    if not isinstance(p.surrogate, Surrogate):
        raise TypeError(f"surrogate must be a Surrogate object such as FastSigmoid(), got {p.surrogate!r}")
    if hasattr(p, "method"):
        check_choice(p.method, METHODS, "method")


def check_time_constant(tau: Any, p: Any, name: str) -> None:
    """A time constant must be positive, and at least ``dt`` for forward Euler."""
    check_positive(tau, name)
    if getattr(p, "method", "exp") == "euler":
        check_non_negative(torch.as_tensor(tau) - p.dt, f"{name} - dt (forward Euler needs {name} >= dt)")
