"""LIF neuron modules: :class:`LIFCell` (one step) and :class:`LIF` (a sequence).

The equations are in :mod:`spikeforge.functional.lif`; spike, reset and refractory
semantics in :mod:`spikeforge.functional.threshold`.
"""

from __future__ import annotations

import torch

from ..functional.lif import LIF_MODEL
from ..functional.surrogate import Surrogate
from .base import NeuronCell, NeuronModule, NeuronSequence, Size, spiking_config


class _LIFBase(NeuronModule):
    r"""Leaky integrate-and-fire neurons.

    Args:
        size: neuron shape; when given, parameters are stored per neuron.
        tau_mem: membrane time constant :math:`\tau_\text{mem}` in seconds.
        v_threshold: firing threshold :math:`V_\text{th}`.
        v_reset: value the membrane resets to (``reset="zero"``) or the base of the
            subtraction (``reset="subtract"`` subtracts :math:`V_\text{th} - V_\text{reset}`).
        v_leak: resting potential :math:`V_\text{leak}`.
        r: input resistance :math:`R`.
        reset: ``"subtract"``, ``"zero"`` (to ``v_reset``) or ``"none"``.
        detach_reset: keep the reset out of the gradient.
        surrogate: surrogate gradient object (default ``FastSigmoid()``).
        t_refrac: refractory period in seconds (rounded to whole steps), or
        refractory_steps: the same in steps.
        dt: time step in seconds.
        method: ``"exp"`` (exact decay) or ``"euler"``.
        learn_<name>: make that parameter an ``nn.Parameter``.
        backend, recompute: who runs the time loop of the sequence module (see
            :class:`spikeforge.nn.NeuronModule`).

    Shape:
        ``LIFCell``: input ``[B, *size]``, output spikes ``[B, *size]``.
        ``LIF``: input ``[T, B, *size]``, output spikes ``[T, B, *size]``.

    Examples:
        >>> lif = LIF(100, tau_mem=20e-3, learn_tau_mem=True)
        >>> spikes, state = lif(torch.rand(50, 8, 100))
        >>> spikes.shape, state.v.shape
        (torch.Size([50, 8, 100]), torch.Size([8, 100]))
    """

    model = LIF_MODEL

    def __init__(
        self,
        size: Size = None,
        *,
        tau_mem: float | torch.Tensor = 10e-3,
        v_threshold: float | torch.Tensor = 1.0,
        v_reset: float | torch.Tensor = 0.0,
        v_leak: float | torch.Tensor = 0.0,
        r: float | torch.Tensor = 1.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | None = None,
        t_refrac: float = 0.0,
        refractory_steps: int | None = None,
        dt: float = 1e-3,
        method: str = "exp",
        learn_tau_mem: bool = False,
        learn_v_threshold: bool = False,
        learn_v_reset: bool = False,
        learn_v_leak: bool = False,
        learn_r: bool = False,
        backend: str = "auto",
        recompute: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            size,
            {
                "tau_mem": (tau_mem, learn_tau_mem),
                "v_threshold": (v_threshold, learn_v_threshold),
                "v_reset": (v_reset, learn_v_reset),
                "v_leak": (v_leak, learn_v_leak),
                "r": (r, learn_r),
            },
            spiking_config(
                dt=dt, reset=reset, detach_reset=detach_reset, surrogate=surrogate,
                t_refrac=t_refrac, refractory_steps=refractory_steps, method=method,
            ),
            backend=backend,
            recompute=recompute,
            device=device,
            dtype=dtype,
        )


class LIFCell(_LIFBase, NeuronCell):
    __doc__ = "One time step of " + _LIFBase.__doc__.lstrip()


class LIF(_LIFBase, NeuronSequence):
    __doc__ = "A time-major sequence of " + _LIFBase.__doc__.lstrip()
