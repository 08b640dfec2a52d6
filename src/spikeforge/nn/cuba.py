"""Current-based LIF modules: :class:`CubaLIFCell` and :class:`CubaLIF`.

The equations are in :mod:`spikeforge.functional.cuba`.
"""

from __future__ import annotations

import torch

from ..functional.cuba import CUBA_LIF_MODEL
from ..functional.surrogate import Surrogate
from .base import NeuronCell, NeuronModule, NeuronSequence, Size, spiking_config


class _CubaLIFBase(NeuronModule):
    r"""Current-based LIF neurons: a synaptic current (time constant ``tau_syn``)
    feeds a LIF membrane (time constant ``tau_mem``).

    Args:
        size: neuron shape; when given, parameters are stored per neuron.
        tau_mem, tau_syn: membrane and synaptic time constants in seconds.
        v_threshold, v_reset, v_leak, r, reset, detach_reset, surrogate, t_refrac,
            refractory_steps, dt, method: as for :class:`spikeforge.nn.LIF`.
        learn_<name>: make that parameter an ``nn.Parameter``.
        backend, recompute: who runs the time loop of the sequence module (see
            :class:`spikeforge.nn.NeuronModule`).

    Shape:
        ``CubaLIFCell``: ``[B, *size]`` in and out; ``CubaLIF``: ``[T, B, *size]``.

    Examples:
        >>> spikes, state = CubaLIF(10, tau_syn=5e-3)(torch.rand(20, 4, 10))
        >>> state.i.shape
        torch.Size([4, 10])
    """

    model = CUBA_LIF_MODEL

    def __init__(
        self,
        size: Size = None,
        *,
        tau_mem: float | torch.Tensor = 10e-3,
        tau_syn: float | torch.Tensor = 5e-3,
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
        learn_tau_syn: bool = False,
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
                "tau_syn": (tau_syn, learn_tau_syn),
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


class CubaLIFCell(_CubaLIFBase, NeuronCell):
    __doc__ = "One time step of " + _CubaLIFBase.__doc__.lstrip()


class CubaLIF(_CubaLIFBase, NeuronSequence):
    __doc__ = "A time-major sequence of " + _CubaLIFBase.__doc__.lstrip()
