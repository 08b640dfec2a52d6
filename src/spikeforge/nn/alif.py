"""Adaptive-threshold LIF modules: :class:`ALIFCell` and :class:`ALIF`.

The equations are in :mod:`spikeforge.functional.alif`.
"""

from __future__ import annotations

import torch

from ..functional.alif import ALIF_MODEL
from ..functional.surrogate import Surrogate
from .base import NeuronCell, NeuronModule, NeuronSequence, Size, spiking_config


class _ALIFBase(NeuronModule):
    r"""Adaptive LIF neurons: threshold :math:`V_\text{th} + \beta b`, where ``b`` is
    the spike train low-pass filtered with ``tau_adp`` (Bellec et al. 2018; Yin et
    al. 2021).

    Args:
        size: neuron shape; when given, parameters are stored per neuron.
        tau_mem: membrane time constant in seconds.
        tau_adp: adaptation time constant in seconds.
        beta: adaptation strength (each spike raises the threshold by
            :math:`\beta(1 - e^{-\Delta t/\tau_\text{adp}})`).
        v_threshold: baseline threshold (Yin's ``b_j0``).
        v_reset, v_leak, r, reset, detach_reset, surrogate, t_refrac,
            refractory_steps, dt, method: as for :class:`spikeforge.nn.LIF`.
        learn_<name>: make that parameter an ``nn.Parameter``.
        backend, recompute: who runs the time loop of the sequence module (see
            :class:`spikeforge.nn.NeuronModule`).

    Shape:
        ``ALIFCell``: ``[B, *size]`` in and out; ``ALIF``: ``[T, B, *size]``.

    Examples:
        >>> alif = ALIF(36, tau_mem=20e-3, tau_adp=200e-3, beta=1.8, learn_tau_adp=True)
        >>> spikes, state = alif(torch.rand(100, 4, 36))
    """

    model = ALIF_MODEL

    def __init__(
        self,
        size: Size = None,
        *,
        tau_mem: float | torch.Tensor = 20e-3,
        tau_adp: float | torch.Tensor = 200e-3,
        beta: float | torch.Tensor = 1.8,
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
        learn_tau_adp: bool = False,
        learn_beta: bool = False,
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
                "tau_adp": (tau_adp, learn_tau_adp),
                "beta": (beta, learn_beta),
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


class ALIFCell(_ALIFBase, NeuronCell):
    __doc__ = "One time step of " + _ALIFBase.__doc__.lstrip()


class ALIF(_ALIFBase, NeuronSequence):
    __doc__ = "A time-major sequence of " + _ALIFBase.__doc__.lstrip()
