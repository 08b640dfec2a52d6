"""IF neuron modules: :class:`IFCell` (one step) and :class:`IF` (a sequence).

The equations are in :mod:`spikeforge.functional.if_`.
"""

from __future__ import annotations

import torch

from ..functional.if_ import IF_MODEL
from ..functional.surrogate import Surrogate
from .base import NeuronCell, NeuronModule, NeuronSequence, Size, spiking_config


class _IFBase(NeuronModule):
    r"""Integrate-and-fire neurons (no leak): :math:`u_t = v_{t-1} + R x_t`.

    Args:
        size: neuron shape; when given, parameters are stored per neuron.
        v_threshold, v_reset, r: threshold, reset value (also the resting value) and
            input resistance.
        reset, detach_reset, surrogate, t_refrac, refractory_steps, dt: as for
            :class:`spikeforge.nn.LIF`.
        learn_<name>: make that parameter an ``nn.Parameter``.
        backend, recompute: who runs the time loop of the sequence module (see
            :class:`spikeforge.nn.NeuronModule`).

    Shape:
        ``IFCell``: ``[B, *size]`` in and out; ``IF``: ``[T, B, *size]`` in and out.

    Examples:
        >>> spikes, state = IF(10)(torch.rand(20, 4, 10))
    """

    model = IF_MODEL

    def __init__(
        self,
        size: Size = None,
        *,
        v_threshold: float | torch.Tensor = 1.0,
        v_reset: float | torch.Tensor = 0.0,
        r: float | torch.Tensor = 1.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: Surrogate | None = None,
        t_refrac: float = 0.0,
        refractory_steps: int | None = None,
        dt: float = 1e-3,
        learn_v_threshold: bool = False,
        learn_v_reset: bool = False,
        learn_r: bool = False,
        backend: str = "auto",
        recompute: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__(
            size,
            {
                "v_threshold": (v_threshold, learn_v_threshold),
                "v_reset": (v_reset, learn_v_reset),
                "r": (r, learn_r),
            },
            spiking_config(
                dt=dt, reset=reset, detach_reset=detach_reset, surrogate=surrogate,
                t_refrac=t_refrac, refractory_steps=refractory_steps, method=None,
            ),
            backend=backend,
            recompute=recompute,
            device=device,
            dtype=dtype,
        )


class IFCell(_IFBase, NeuronCell):
    __doc__ = "One time step of " + _IFBase.__doc__.lstrip()


class IF(_IFBase, NeuronSequence):
    __doc__ = "A time-major sequence of " + _IFBase.__doc__.lstrip()
