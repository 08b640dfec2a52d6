r"""A spiking convolutional network (SCNN) for images and event frames.

The network, for ``channels=[c_1, ..., c_k]`` and ``hidden=[h_1, ..., h_m]``:

=====================  ==============================================  ==========================
stage                  layers                                          shape after it
=====================  ==============================================  ==========================
encode                 ``direct`` / ``bernoulli`` / ``latency``        ``[T, B, C, H, W]``
conv block ``i``       Conv2d(k, same padding) → BatchNorm2d → LIF     ``[T, B, c_i, H_i, W_i]``
                       → max/avg pool 2×2                              ``H_i = H_{i-1} // 2``
flatten                                                                ``[T, B, c_k H_k W_k]``
hidden ``j``           Dropout → Linear → LIF                          ``[T, B, h_j]``
classifier             Dropout → Linear                                ``[T, B, num_classes]``
readout                LI (``out`` is its membrane) or LIF (spikes)    ``[T, B, num_classes]``
=====================  ==============================================  ==========================

Every plain layer sees time folded into batch (one Conv2d call over ``T*B`` images,
:class:`spikeforge.nn.TimeDistributed`); the LIF layers are sequence modules, so their
time loop runs in the fused kernel (``backend="auto"``). BatchNorm therefore normalises
over time and batch together, and Dropout draws a fresh mask at every step.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .. import nn as snn
from .._validation import check_choice, check_floating
from ..encoding import bernoulli, direct, latency
from ._config import ZooModel, check_fraction, check_int_list, check_positive_int, make_surrogate

ENCODINGS = ("direct", "bernoulli", "latency")
POOLINGS = ("max", "avg")
SCNN_READOUTS = ("li", "spiking")

#: Named configurations; ``SCNN.preset(name, **overrides)`` builds one. See docs/models.md.
SCNN_PRESETS: dict[str, dict[str, Any]] = {
    # 8x8 digits (sklearn/UCI, 1347 train / 450 test): 97-99 % test accuracy after 30 epochs
    # (Adam 3e-3, batch 64, cosine schedule), about 12 s on 2 idle CPU cores
    "digits": dict(
        input_shape=[1, 8, 8], num_classes=10, channels=[16, 32], kernel_size=3, pooling="max",
        batch_norm=True, hidden=[], dropout=0.0, readout="li", encoding="direct", num_steps=4,
        tau_mem=5e-3, r=5.0, readout_tau_mem=20e-3, surrogate="atan",
    ),
    # MNIST 28x28: 28 -> 14 -> 7 -> 3, 1152 features, one hidden layer; a design aimed at
    # >= 99.3 % in 10-15 epochs, not yet measured here (see docs/models.md)
    "mnist": dict(
        input_shape=[1, 28, 28], num_classes=10, channels=[32, 64, 128], kernel_size=3, pooling="max",
        batch_norm=True, hidden=[256], dropout=0.2, readout="li", encoding="direct", num_steps=6,
        tau_mem=5e-3, r=5.0, readout_tau_mem=20e-3, surrogate="atan",
    ),
}


class SCNN(ZooModel):
    r"""Spiking CNN: conv → BatchNorm → LIF → pool blocks, LIF hidden layers, a readout.

    Args:
        input_shape: ``[C, H, W]`` of one image or event frame.
        num_classes: number of output neurons.
        channels: output channels of each conv block (each block halves ``H`` and ``W``).
        kernel_size: odd convolution kernel size (padded to keep ``H`` and ``W``).
        pooling: ``"max"`` or ``"avg"`` 2×2 pooling after each block's LIF layer.
        batch_norm: BatchNorm2d after each convolution (the conv then has no bias).
        hidden: sizes of the fully connected Linear+LIF layers after the conv stack.
        dropout: dropout probability on the input of every fully connected layer.
        readout: ``"li"`` (non-spiking leaky integrators; ``out`` is their membrane) or
            ``"spiking"`` (LIF output neurons; ``out`` is their spikes).
        encoding: how an image ``[B, C, H, W]`` becomes ``num_steps`` steps:
            ``"direct"`` (the analog image every step), ``"bernoulli"`` (rate coding,
            intensities in ``[0, 1]``, torch's global generator) or ``"latency"`` (one
            spike per pixel, intensities in ``[0, 1]``). A time-major input
            ``[T, B, C, H, W]`` is used as it is.
        num_steps: ``T`` for image inputs.
        tau_mem, v_threshold, r, reset, detach_reset, dt, method: the LIF neurons'
            settings (:class:`spikeforge.nn.LIF`; times in seconds).
        surrogate: surrogate-gradient name (``spikeforge.functional.surrogate.SURROGATES``)
            and surrogate_kwargs: its parameters, e.g. ``{"alpha": 2.0}``.
        learn_tau_mem, learn_v_threshold: learn one value of that parameter per layer.
        readout_tau_mem: time constant of the readout neurons, in seconds.
        backend: who runs the LIF time loops (``"auto"``, ``"torch"``, ``"cpu"``, ``"triton"``).
        channels_last: keep the convolutions' weights, and so their outputs, in the
            ``[N, H, W, C]`` memory layout (``torch.channels_last``), which oneDNN's CPU
            convolutions run about twice as fast; the fused LIF kernels walk their
            neurons in that order, so no layer copies between layouts. The values are the
            same either way (up to the convolutions' float rounding).

    Shape:
        input ``[B, C, H, W]`` (encoded over ``num_steps``) or ``[T, B, C, H, W]``;
        ``out`` ``[T, B, num_classes]``; ``state`` one entry per layer of ``self.net``
        (``None`` for stateless layers), to pass back for truncated BPTT.

    Examples:
        >>> from spikeforge.encoding import mean_membrane_cross_entropy
        >>> model = SCNN.preset("digits")
        >>> out, state = model(torch.rand(32, 1, 8, 8))
        >>> out.shape
        torch.Size([4, 32, 10])
        >>> loss = mean_membrane_cross_entropy(out, torch.randint(0, 10, (32,)))
    """

    model_name = "scnn"
    PRESETS = SCNN_PRESETS

    def __init__(
        self,
        input_shape: list[int] = (1, 28, 28),
        num_classes: int = 10,
        *,
        channels: list[int] = (32, 64),
        kernel_size: int = 3,
        pooling: str = "max",
        batch_norm: bool = True,
        hidden: list[int] = (),
        dropout: float = 0.0,
        readout: str = "li",
        encoding: str = "direct",
        num_steps: int = 8,
        tau_mem: float = 5e-3,
        v_threshold: float = 1.0,
        r: float = 5.0,
        reset: str = "subtract",
        detach_reset: bool = True,
        surrogate: str = "atan",
        surrogate_kwargs: dict[str, float] | None = None,
        learn_tau_mem: bool = False,
        learn_v_threshold: bool = False,
        readout_tau_mem: float = 20e-3,
        dt: float = 1e-3,
        method: str = "exp",
        backend: str = "auto",
        channels_last: bool = True,
    ) -> None:
        super().__init__()
        self._record_config(locals())
        self.input_shape = tuple(check_int_list(input_shape, "input_shape"))
        if len(self.input_shape) != 3:
            raise ValueError(f"input_shape must be [C, H, W], got {list(input_shape)!r}")
        check_positive_int(num_classes, "num_classes")
        channels = check_int_list(channels, "channels")
        hidden = check_int_list(hidden, "hidden")
        if check_positive_int(kernel_size, "kernel_size") % 2 == 0:
            raise ValueError(f"kernel_size must be odd (the padding keeps H and W), got {kernel_size}")
        check_choice(pooling, POOLINGS, "pooling")
        check_choice(readout, SCNN_READOUTS, "readout")
        check_choice(encoding, ENCODINGS, "encoding")
        dropout = check_fraction(dropout, "dropout")
        self.encoding = encoding
        self.num_steps = check_positive_int(num_steps, "num_steps")
        neuron = dict(
            tau_mem=tau_mem, v_threshold=v_threshold, r=r, reset=reset, detach_reset=detach_reset,
            surrogate=make_surrogate(surrogate, surrogate_kwargs), dt=dt, method=method,
            learn_tau_mem=learn_tau_mem, learn_v_threshold=learn_v_threshold, backend=backend,
        )
        pool = nn.MaxPool2d if pooling == "max" else nn.AvgPool2d

        layers: list[nn.Module] = []
        c, h, w = self.input_shape
        for i, c_out in enumerate(channels):
            if h < 2 or w < 2:
                raise ValueError(
                    f"input_shape {list(self.input_shape)} is too small for {len(channels)} conv blocks: "
                    f"block {i} would pool a {h}x{w} map"
                )
            conv = nn.Conv2d(c, c_out, kernel_size, padding=kernel_size // 2, bias=not batch_norm)
            block = nn.Sequential(conv, nn.BatchNorm2d(c_out)) if batch_norm else conv
            layers += [snn.TimeDistributed(block), snn.LIF(**neuron), snn.TimeDistributed(pool(2))]
            c, h, w = c_out, h // 2, w // 2
        layers.append(nn.Flatten())
        features = c * h * w
        for n in hidden:
            layers += [nn.Dropout(dropout), nn.Linear(features, n), snn.LIF(**neuron)]
            features = n
        layers += [nn.Dropout(dropout), nn.Linear(features, num_classes)]
        if readout == "li":
            layers.append(snn.LI(tau_mem=readout_tau_mem, r=r, dt=dt, method=method))
        else:
            layers.append(snn.LIF(**neuron))
        self.net = snn.Sequential(*(m for m in layers if not (isinstance(m, nn.Dropout) and m.p == 0)))
        if channels_last:  # oneDNN's convolutions run about twice as fast on [N, H, W, C] memory
            self.net.to(memory_format=torch.channels_last)

    def encode(self, x: Tensor) -> Tensor:
        """Images ``[B, C, H, W]`` as ``[num_steps, B, C, H, W]``; a ``[T, B, C, H, W]`` input unchanged."""
        check_floating(x, "input")
        expected = list(self.input_shape)
        if x.dim() not in (4, 5) or list(x.shape[-3:]) != expected:
            hint = " (add the channel dimension with x.unsqueeze(1))" if x.dim() == 3 else ""
            raise ValueError(
                f"SCNN expects images [B, {', '.join(map(str, expected))}] or a time-major sequence "
                f"[T, B, {', '.join(map(str, expected))}], got shape {tuple(x.shape)}{hint}"
            )
        if x.dim() == 5:
            return x
        if self.encoding == "direct":
            return direct(x, self.num_steps)
        if self.encoding == "bernoulli":
            return bernoulli(x, self.num_steps)
        return latency(x, self.num_steps)

    def forward(self, x: Tensor, state: tuple | None = None) -> tuple[Tensor, tuple]:
        """``out [T, B, num_classes]`` (readout membrane or spikes) and the layers' states."""
        return self.net(self.encode(x), state)

    def extra_repr(self) -> str:
        return f"input_shape={list(self.input_shape)}, encoding={self.encoding!r}, num_steps={self.num_steps}"
