r"""The adaptive spiking recurrent network (SRNN) of Yin, Corradi & Bohté (2021).

Yin, B., Corradi, F. & Bohté, S. M. "Accurate and efficient time-domain classification
with adaptive spiking recurrent neural networks", Nat. Mach. Intell. 3, 905–913 (2021);
code: github.com/byin-cwi/Efficient-spiking-networks. For ``hidden_sizes=[n_1, ..., n_k]``:

==================  =============================================  =====================
stage               layers                                         shape after it
==================  =============================================  =====================
input                                                              ``[T, B, input_size]``
layer ``i``         RecurrentALIF (``recurrent[i]``: W_in x + W_rec z_{t-1})  ``[T, B, n_i]``
                    or Linear → ALIF (feed-forward)
classifier          Linear                                         ``[T, B, num_classes]``
readout             LI membrane / ALIF spikes / ALIF membrane      ``[T, B, num_classes]``
==================  =============================================  =====================

Every neuron (hidden and output) has its own learnable ``tau_mem`` and ``tau_adp``,
drawn at construction from normal distributions (torch's global generator; seed it
first). The ALIF equations are in :mod:`spikeforge.functional.alif`; they are Yin's
neuron with ``b_j0 = v_threshold`` and ``R_m = r``. The unit mapping from Yin's code
(``dt = 1`` "ms") is ``tau[s] = tau_yin * 1e-3`` with ``dt = 1e-3``: the decay factors
``exp(-dt/tau)`` are the same numbers. docs/models.md lists what differs.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .. import nn as snn
from .._validation import check_choice, check_floating, check_positive
from ._config import ZooModel, check_int_list, check_non_negative_float, check_positive_int, make_surrogate
from ._readout import ALIFMembrane

SRNN_READOUTS = ("li", "alif", "alif-membrane")
RECURRENT_INITS = ("orthogonal", "zeros")

_SMNIST = dict(
    num_classes=10, hidden_sizes=[64, 256, 256], recurrent=[True, True, False], readout="alif",
    tau_mem=20e-3, tau_mem_std=5e-3, tau_adp=200e-3, tau_adp_std=25e-3,
    readout_tau_mem=20e-3, readout_tau_adp=200e-3, readout_tau_adp_std=25e-3,
    beta=1.8, surrogate="multi_gaussian",
)

#: Named configurations from Yin et al.'s scripts; ``SRNN.preset(name, **overrides)``.
SRNN_PRESETS: dict[str, dict[str, Any]] = {
    # ECG/adapt_srnn_0.844_gpu-v1.py: 4 -> 36 recurrent -> 6 adaptive output neurons whose
    # membrane is the per-step logit; constant initial time constants (std 0). As in that
    # script, the hidden neurons do not adapt (isAdapt=0: beta 0, the output neurons' 1.8)
    # and the reset's spike is not detached (their "- B * spike" carries the surrogate
    # gradient). Both matter: at 40 epochs, adaptive hidden neurons with a detached reset
    # reach 62.2 %, a differentiable reset 65.0 %, non-adaptive hidden neurons 77.2 %
    # (benchmarks/RESULTS.md).
    "ecg": dict(
        input_size=4, num_classes=6, hidden_sizes=[36], recurrent=[True], readout="alif-membrane",
        tau_mem=20e-3, tau_mem_std=0.0, tau_adp=7e-3, tau_adp_std=0.0,
        readout_tau_mem=20e-3, readout_tau_mem_std=0.0, readout_tau_adp=100e-3, readout_tau_adp_std=0.0,
        v_threshold=0.01, beta=0.0, readout_beta=1.8, detach_reset=False,
        surrogate="multi_gaussian", surrogate_kwargs={"width": 0.5},
    ),
    # NMI_vis/smnist/psmnist-gpu-tbptt-v1.py, task "smnist" version: one pixel per step,
    # 64 and 256 recurrent, 256 feed-forward, 10 adaptive spiking outputs (count decoded)
    "smnist": dict(
        _SMNIST, input_size=1, readout_tau_mem_std=1e-3, v_threshold=0.1, surrogate_kwargs={"width": 0.3},
    ),
    # the same network reading a 28-pixel row per step (T = 28); not from the paper
    "smnist-row": dict(
        _SMNIST, input_size=28, readout_tau_mem_std=1e-3, v_threshold=0.1, surrogate_kwargs={"width": 0.3},
    ),
    # the same file, task "psmnist" version: a sliding window of 4 permuted pixels per step,
    # b_j0 = 0.01, zero-initialised recurrent weights
    "psmnist": dict(
        _SMNIST, input_size=4, readout_tau_mem_std=5e-3, v_threshold=0.01, surrogate_kwargs={"width": 0.5},
        recurrent_init="zeros",
    ),
}


def draw_time_constants(mean: float, std: float, size: int, dt: float) -> Tensor:
    """``size`` time constants from ``N(mean, std^2)`` (global generator), at least ``dt``.

    Yin et al. draw ``tau_m ~ N(20, 5)`` and ``tau_adp ~ N(200, 25)`` (ms); a draw below
    one step would make the decay meaningless (or negative), so it is raised to ``dt``.
    """
    check_positive(mean, "time constant mean")
    tau = torch.full((size,), float(mean))
    if std > 0:
        tau = tau + std * torch.randn(size)
    return tau.clamp_min(dt)


class SRNN(ZooModel):
    r"""Adaptive spiking recurrent network (Yin et al. 2021): ALIF layers and a readout.

    Args:
        input_size: features per time step.
        num_classes: number of output neurons.
        hidden_sizes: neurons per hidden layer.
        recurrent: per hidden layer (or one bool for all), whether it is a recurrent
            :class:`spikeforge.nn.RecurrentALIF` layer or a feed-forward Linear → ALIF.
        readout: ``"li"`` (leaky integrators, ``out`` their membrane; Yin's
            ``"integrator"``), ``"alif"`` (adaptive spiking outputs, ``out`` their
            spikes, decoded by count; Yin's S-MNIST ``"adp-spike"``) or
            ``"alif-membrane"`` (the same neurons, ``out`` their membrane before the
            spike decision; Yin's ECG decoder).
        tau_mem, tau_mem_std: mean and spread (seconds) of the hidden neurons' membrane
            time constants, one draw per neuron; tau_adp, tau_adp_std: the same for the
            adaptation time constants.
        readout_tau_mem, readout_tau_mem_std, readout_tau_adp, readout_tau_adp_std: the
            same for the output neurons (``li`` uses only ``tau_mem``).
        learn_tau: learn every time constant (per neuron, in log space).
        beta: adaptation strength of the hidden ALIF neurons (``0`` gives plain LIF neurons).
        readout_beta: the same for the ALIF output neurons (``None``: ``beta``).
        v_threshold: baseline threshold (Yin's ``b_j0``).
        r: input resistance (Yin's ``R_m``).
        reset, detach_reset, dt, method: as for :class:`spikeforge.nn.ALIF`.
        surrogate, surrogate_kwargs: surrogate-gradient name and parameters (Yin's
            multi-Gaussian: ``"multi_gaussian"``, ``{"width": lens}``).
        recurrent_init: ``"orthogonal"`` or ``"zeros"`` for the recurrent weights (input
            and classifier weights are Xavier-uniform, biases zero, as in Yin's code).
        backend: the time loops: ``"auto"``, ``"torch"`` or ``"cpu"``.

    Shape:
        input ``[T, B, input_size]``; ``out`` ``[T, B, num_classes]``; ``state`` one
        entry per layer of ``self.net`` (``None`` for stateless layers).

    Examples:
        >>> torch.manual_seed(0)
        >>> model = SRNN.preset("ecg")
        >>> out, state = model(torch.randn(1301, 8, 4))
        >>> out.shape
        torch.Size([1301, 8, 6])
        >>> out2, _ = model(torch.randn(100, 8, 4), state)   # truncated BPTT: carry the state
    """

    model_name = "srnn"
    PRESETS = SRNN_PRESETS

    def __init__(
        self,
        input_size: int = 1,
        num_classes: int = 10,
        *,
        hidden_sizes: list[int] = (64, 256),
        recurrent: bool | list[bool] = True,
        readout: str = "li",
        tau_mem: float = 20e-3,
        tau_mem_std: float = 5e-3,
        tau_adp: float = 200e-3,
        tau_adp_std: float = 25e-3,
        readout_tau_mem: float = 20e-3,
        readout_tau_mem_std: float = 5e-3,
        readout_tau_adp: float = 200e-3,
        readout_tau_adp_std: float = 25e-3,
        learn_tau: bool = True,
        beta: float = 1.8,
        readout_beta: float | None = None,
        v_threshold: float = 0.01,
        r: float = 1.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: str = "multi_gaussian",
        surrogate_kwargs: dict[str, float] | None = None,
        recurrent_init: str = "orthogonal",
        dt: float = 1e-3,
        method: str = "exp",
        backend: str = "auto",
    ) -> None:
        super().__init__()
        self._record_config(locals())
        self.input_size = check_positive_int(input_size, "input_size")
        check_positive_int(num_classes, "num_classes")
        hidden_sizes = check_int_list(hidden_sizes, "hidden_sizes", allow_empty=False)
        flags = [recurrent] * len(hidden_sizes) if isinstance(recurrent, bool) else list(recurrent)
        if len(flags) != len(hidden_sizes) or not all(isinstance(f, bool) for f in flags):
            raise ValueError(f"recurrent must be a bool or one bool per hidden layer {hidden_sizes}, got {recurrent!r}")
        check_choice(readout, SRNN_READOUTS, "readout")
        check_choice(recurrent_init, RECURRENT_INITS, "recurrent_init")
        stds = dict(tau_mem_std=tau_mem_std, tau_adp_std=tau_adp_std,
                    readout_tau_mem_std=readout_tau_mem_std, readout_tau_adp_std=readout_tau_adp_std)
        for name, value in stds.items():
            check_non_negative_float(value, name)
        check_positive(dt, "dt")
        shared = dict(
            beta=beta, v_threshold=v_threshold, r=r, reset=reset, detach_reset=detach_reset, dt=dt,
            method=method, surrogate=make_surrogate(surrogate, surrogate_kwargs),
            learn_tau_mem=learn_tau, learn_tau_adp=learn_tau,
        )

        def alif_kwargs(n: int, mem: float, mem_std: float, adp: float, adp_std: float) -> dict[str, Any]:
            taus = dict(tau_mem=draw_time_constants(mem, mem_std, n, dt),
                        tau_adp=draw_time_constants(adp, adp_std, n, dt))
            return {**shared, **taus}

        layers: list[nn.Module] = []
        features = self.input_size
        for n, is_recurrent in zip(hidden_sizes, flags):
            neuron = alif_kwargs(n, tau_mem, tau_mem_std, tau_adp, tau_adp_std)
            if is_recurrent:
                layer = snn.RecurrentALIF(features, n, backend=backend, **neuron)
                if recurrent_init == "zeros":
                    nn.init.zeros_(layer.recurrent.weight)
                layers.append(layer)
            else:
                layers += [_xavier(nn.Linear(features, n)), snn.ALIF(n, backend=backend, **neuron)]
            features = n
        layers.append(_xavier(nn.Linear(features, num_classes)))
        out = alif_kwargs(num_classes, readout_tau_mem, readout_tau_mem_std, readout_tau_adp, readout_tau_adp_std)
        out["beta"] = beta if readout_beta is None else readout_beta
        if readout == "li":
            layers.append(snn.LI(num_classes, tau_mem=out["tau_mem"], r=r, dt=dt, method=method,
                                 learn_tau_mem=learn_tau))
        elif readout == "alif":
            layers.append(snn.ALIF(num_classes, backend=backend, **out))
        else:
            layers.append(ALIFMembrane(num_classes, backend=backend, **out))
        self.net = snn.Sequential(*layers)

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple[Tensor, tuple]:
        """``out [T, B, num_classes]`` and the layers' states (pass them back to continue)."""
        check_floating(x, "input")
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"SRNN expects a time-major sequence [T, B, {self.input_size}] (time, batch, features), "
                f"got shape {tuple(x.shape)}"
            )
        return self.net(x, state)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, readout={self.config['readout']!r}"


def _xavier(linear: nn.Linear) -> nn.Linear:
    nn.init.xavier_uniform_(linear.weight)
    nn.init.zeros_(linear.bias)
    return linear
