"""Leaky-integrator readout modules: :class:`LICell` and :class:`LI`.

The equations are in :mod:`spikeforge.functional.li`. The output is the membrane
potential, for membrane-based decoding (see :mod:`spikeforge.encoding`).
"""

from __future__ import annotations

import torch

from .._validation import check_positive
from ..functional.li import LI_MODEL
from .base import NeuronCell, NeuronModule, NeuronSequence, Size


class _LIBase(NeuronModule):
    r"""Non-spiking leaky integrators (readout neurons).

    Args:
        size: neuron shape; when given, parameters are stored per neuron.
        tau_mem: time constant in seconds.
        v_leak: resting value.
        r: input resistance.
        dt: time step in seconds.
        method: ``"exp"`` or ``"euler"``.
        learn_<name>: make that parameter an ``nn.Parameter``.

    Shape:
        ``LICell``: ``[B, *size]`` in and out; ``LI``: ``[T, B, *size]`` in and out.

    Examples:
        >>> readout = LI(10, tau_mem=20e-3)
        >>> v, state = readout(torch.rand(50, 4, 10))
        >>> v.max(0).values.shape
        torch.Size([4, 10])
    """

    model = LI_MODEL

    def __init__(
        self,
        size: Size = None,
        *,
        tau_mem: float | torch.Tensor = 20e-3,
        v_leak: float | torch.Tensor = 0.0,
        r: float | torch.Tensor = 1.0,
        dt: float = 1e-3,
        method: str = "exp",
        learn_tau_mem: bool = False,
        learn_v_leak: bool = False,
        learn_r: bool = False,
        backend: str = "auto",
        recompute: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_positive(dt, "dt")
        super().__init__(
            size,
            {"tau_mem": (tau_mem, learn_tau_mem), "v_leak": (v_leak, learn_v_leak), "r": (r, learn_r)},
            {"dt": dt, "method": method},
            backend=backend,
            recompute=recompute,
            device=device,
            dtype=dtype,
        )


class LICell(_LIBase, NeuronCell):
    __doc__ = "One time step of " + _LIBase.__doc__.lstrip()


class LI(_LIBase, NeuronSequence):
    __doc__ = "A time-major sequence of " + _LIBase.__doc__.lstrip()
