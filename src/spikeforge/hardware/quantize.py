r"""Quantization: int8 / int4 weights and fixed-point neurons, simulated in integer arithmetic.

A digital neuromorphic core (Loihi, SpiNNaker 2, ODIN, ...) stores weights as small
integers and keeps each neuron's membrane, threshold and decay as fixed-point integers.
:func:`quantize` turns a trained feed-forward network into such a core's program,
:class:`QuantizedNetwork`, and runs it with integer arithmetic only (every tensor holds
integers; sums that exceed float32 are computed in int64 or exactly in float64):

- **weights**: symmetric, per output channel, ``bits`` wide (``int8``: -127..127,
  ``int4``: -7..7). The neuron's input gain is folded in first, so the integer weight is
  the membrane increment one spike causes: for a LIF, :math:`w_q = \text{round}((1-d)\,r\,w
  / \Delta_c)` with :math:`\Delta_c = (1-d)\,r\,\max|w_c| / q_\text{max}`; :math:`\Delta_c` is
  the membrane's unit (its least significant bit) in channel ``c``. BatchNorm is folded
  into the weights first; a bias becomes an integer in the same unit. Average pooling runs
  as an integer sum, its ``1/k²`` folded into the next layer's weights.
- **analog inputs** (a first layer fed images): unsigned (or signed, if the calibration
  batch has negative values) ``input_bits`` integers with one scale per layer, from the
  calibration batch's maximum; the membrane unit then includes that scale.
- **neurons**: membrane :math:`v` and threshold :math:`\theta_q = \text{round}(\theta/\Delta)`
  in that unit, decay :math:`d_q = \text{round}(d\,2^{D})` with ``D = decay_bits``; one step is

  .. math::
      u = v_{\text{leak},q} + \lfloor (d_q (v - v_{\text{leak},q}) + 2^{D-1}) / 2^D \rfloor + \sum w_q s + b_q,

  saturated to ``state_bits`` signed integers, then spike when :math:`u \ge \theta_q` and
  reset (to :math:`v_{\text{reset},q}`, by subtracting :math:`\theta_q - v_{\text{reset},q}`,
  or none) as in :mod:`spikeforge.functional.threshold`. IF neurons have no decay
  (:math:`d_q = 2^D`); the LI readout integrates the same way and its membrane is returned
  in real units (``v * Δ``).

Quantization-aware training (:func:`prepare_qat`) fake-quantizes the weights of every
``Linear`` and ``Conv`` layer in the forward pass with the same per-channel rounding and
passes the gradient straight through (the straight-through estimator, Bengio et al. 2013);
train as usual, then :func:`quantize`. Neuron parameters are quantized after training only.

Supported: feed-forward chains of ``Linear``/``Conv2d`` (+ ``BatchNorm``), ``MaxPool2d``,
``AvgPool2d``, ``Flatten`` and ``LIF``/``IF``/``LI`` neurons without refractory period, each
weighted layer feeding a neuron layer. Others raise :class:`QuantizationError`.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrize

from .. import nn as snn
from ..functional.threshold import decay_factor
from ._layers import HardwareError, Layer, network_layers

__all__ = ["quantize", "QuantizedNetwork", "QuantizationError", "IntegerNeurons", "IntegerSynapses", "prepare_qat",
           "strip_qat", "quantize_weight"]


class QuantizationError(HardwareError):
    """A network or setting the integer simulation cannot run; the message names the layer."""


def _qmax(bits: int) -> int:
    if not isinstance(bits, int) or isinstance(bits, bool) or not 2 <= bits <= 16:
        raise ValueError(f"bits must be an integer from 2 to 16, got {bits!r}")
    return 2 ** (bits - 1) - 1


def _channel_max(w: Tensor) -> Tensor:
    return w.detach().abs().reshape(w.shape[0], -1).amax(1)


def quantize_weight(w: Tensor, bits: int) -> Tensor:
    """Symmetric per-output-channel fake quantization: ``round(w / s) * s``, ``s = max|w_c| / qmax``."""
    qmax = _qmax(bits)
    scale = (_channel_max(w) / qmax).clamp(min=torch.finfo(w.dtype).tiny)
    scale = scale.reshape(-1, *([1] * (w.dim() - 1)))
    return torch.clamp(torch.round(w / scale), -qmax, qmax) * scale


# -- quantization-aware training -------------------------------------------------------------------

class _FakeQuant(nn.Module):
    def __init__(self, bits: int) -> None:
        super().__init__()
        _qmax(bits)
        self.bits = bits

    def forward(self, w: Tensor) -> Tensor:
        return w + (quantize_weight(w, self.bits) - w).detach()  # straight-through estimator


def prepare_qat(model: nn.Module, bits: int = 8) -> nn.Module:
    """Fake-quantize the weights of every ``Linear``/``Conv`` of ``model`` in place (straight-through)."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)) and not parametrize.is_parametrized(m, "weight"):
            parametrize.register_parametrization(m, "weight", _FakeQuant(bits))
    return model


def strip_qat(model: nn.Module) -> nn.Module:
    """Remove :func:`prepare_qat`'s parametrizations, keeping the trained float weights."""
    for m in model.modules():
        if parametrize.is_parametrized(m, "weight"):
            parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    return model


# -- the integer network ---------------------------------------------------------------------------

def _exact(x: Tensor, what: str) -> Tensor:
    """float64 holding integers -> int64, checking nothing was rounded (|x| < 2^53)."""
    if x.numel() and float(x.abs().max()) >= 2.0 ** 53:
        raise QuantizationError(f"{what}: an integer sum exceeds 2^53; use fewer bits")
    return x.to(torch.int64)


class IntegerSynapses(nn.Module):
    """A ``Linear`` or ``Conv2d`` with integer weights and bias; ``forward`` maps integers to integers.

    The products are summed in float64, which is exact for integers below 2^53 (checked).
    """

    def __init__(self, layer: nn.Module, weight: Tensor, bias: Tensor | None, input_scale: float | None,
                 input_signed: bool, input_bits: int) -> None:
        super().__init__()
        self.kind = "linear" if isinstance(layer, nn.Linear) else "conv2d"
        self.register_buffer("weight", weight.to(torch.int64))
        self.register_buffer("bias", None if bias is None else bias.to(torch.int64))
        if self.kind == "conv2d":
            self.conv = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)
        self.input_scale = input_scale  # None: the input is spikes (integers already)
        self.input_signed = input_signed
        self.input_bits = input_bits

    def encode_input(self, x: Tensor) -> Tensor:
        """An analog input as integers of ``input_scale`` (round to nearest, saturate)."""
        if self.input_scale is None:
            return x
        top = 2 ** (self.input_bits - (1 if self.input_signed else 0)) - 1
        low = -top if self.input_signed else 0
        return torch.clamp(torch.round(x.double() / self.input_scale), low, top).to(torch.int64)

    def forward(self, x: Tensor) -> Tensor:
        x = self.encode_input(x).double()
        w = self.weight.double()
        b = None if self.bias is None else self.bias.double()
        y = F.linear(x, w, b) if self.kind == "linear" else F.conv2d(x, w, b, **self.conv)
        return _exact(y, f"{self.kind} layer")


class IntegerNeurons(nn.Module):
    """Fixed-point LIF / IF / LI neurons (see the module docstring); state and output are integers."""

    def __init__(self, *, kind: str, decay: Tensor, threshold: Tensor | None, v_reset: Tensor, v_leak: Tensor,
                 unit: Tensor, reset: str, decay_bits: int, state_bits: int) -> None:
        super().__init__()
        self.kind, self.reset, self.decay_bits, self.state_bits = kind, reset, decay_bits, state_bits
        for name, t in (("decay", decay), ("threshold", threshold), ("v_reset", v_reset), ("v_leak", v_leak)):
            self.register_buffer(name, None if t is None else t.to(torch.int64))
        self.register_buffer("unit", unit.to(torch.float64))  # the membrane's real value per integer step

    def forward(self, current: Tensor, state: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """``current``: ``[T, B, ...]`` integers; returns (spikes, or the LI membrane in units of ``unit``; v)."""
        lim = 2 ** (self.state_bits - 1)
        half = 2 ** (self.decay_bits - 1)
        v = (torch.zeros_like(current[0]) + (self.v_leak if self.kind != "if" else self.v_reset)) if state is None \
            else state
        outs = []
        for i_t in current.unbind(0):
            leak = self.v_leak
            u = leak + torch.bitwise_right_shift(self.decay * (v - leak) + half, self.decay_bits) + i_t
            u = u.clamp(-lim, lim - 1)
            if self.kind == "li":
                v = u
                outs.append(u)
                continue
            s = u >= self.threshold
            if self.reset == "zero":
                v = torch.where(s, self.v_reset.expand_as(u), u)
            elif self.reset == "subtract":
                v = u - s.to(torch.int64) * (self.threshold - self.v_reset)
            else:
                v = u
            outs.append(s.to(torch.int64))
        return torch.stack(outs), v


class _SumPool(nn.Module):
    def __init__(self, pool: nn.AvgPool2d) -> None:
        super().__init__()
        self.k, self.s, self.p = pool.kernel_size, pool.stride, pool.padding

    def forward(self, x: Tensor) -> Tensor:
        return _exact(F.avg_pool2d(x.double(), self.k, self.s, self.p, divisor_override=1), "sum pooling")


class _IntMaxPool(nn.Module):
    def __init__(self, pool: nn.MaxPool2d) -> None:
        super().__init__()
        self.pool = copy.deepcopy(pool)

    def forward(self, x: Tensor) -> Tensor:
        return self.pool(x.double()).to(torch.int64)


@dataclass(frozen=True)
class QuantizationSummary:
    """What :func:`quantize` did, per weighted layer: bits, largest integer weight, membrane unit range."""

    bits: int
    layers: tuple[tuple[str, int, float, float], ...]  # (name, max |w_q|, smallest unit, largest unit)


class QuantizedNetwork(nn.Module):
    """A network running in integer arithmetic; ``forward(x, state=None) -> (out, None)`` like the original.

    ``x`` is what the original model takes (a zoo model's images are encoded by the
    original's ``encode`` first). The output is the last layer's spikes (0/1) or, for an
    LI readout, its membrane in real units.
    """

    def __init__(self, stages: list[nn.Module], encode: Any, summary: QuantizationSummary) -> None:
        super().__init__()
        self.stages = nn.ModuleList(stages)
        self._encode = encode
        self.summary = summary

    @torch.no_grad()
    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, None]:
        if state is not None:
            raise ValueError("QuantizedNetwork runs whole sequences from rest; state must be None")
        x = self._encode(x) if self._encode is not None else x
        steps, batch = x.shape[:2]
        last = None
        for stage in self.stages:
            if isinstance(stage, IntegerNeurons):
                x, _ = stage(x)
                last = stage
            else:
                y = stage(x.flatten(0, 1))
                x = y.unflatten(0, (steps, batch))
        if last is not None and last.kind == "li" and x is not None:
            return (x.double() * last.unit).to(torch.get_default_dtype()), None
        return x.to(torch.get_default_dtype()), None


def _neuron_params(m: nn.Module, name: str) -> dict[str, Any]:
    if not isinstance(m, snn.NeuronModule) or m.model.name not in ("lif", "if", "li"):
        raise QuantizationError(f"{name} ({type(m).__name__}): the integer simulation runs LIF, IF and LI neurons")
    p = m.neuron_parameters()
    if getattr(p, "refractory_steps", 0):
        raise QuantizationError(f"{name} ({type(m).__name__}): refractory periods are not simulated in integers")
    kind = m.model.name
    if kind == "if":
        gain = torch.as_tensor(p.r, dtype=torch.float64)
        decay = torch.ones_like(gain)
    else:
        decay = torch.as_tensor(decay_factor(torch.as_tensor(p.tau_mem, dtype=torch.float64), p.dt, p.method))
        gain = (1 - decay) * torch.as_tensor(p.r, dtype=torch.float64)
    return dict(kind=kind, p=p, gain=gain, decay=decay)


def _per_channel(t: Any, channels: int, dims: int, where: str, what: str) -> Tensor:
    """``t`` (broadcasting against the neuron shape ``[channels, ...]``) as one value per channel.

    Quantization folds gains into each output channel's weights, so a parameter must be
    constant within a channel.
    """
    t = torch.as_tensor(t).detach().double()
    if t.dim() > dims:
        raise QuantizationError(f"{where}: {what} of shape {list(t.shape)} has more dimensions than the neurons")
    t = t.reshape((1,) * (dims - t.dim()) + tuple(t.shape))
    if t.shape[0] not in (1, channels):
        raise QuantizationError(f"{where}: {what} of shape {list(t.shape)} does not fit {channels} channels")
    flat = t.expand(channels, *t.shape[1:]).reshape(channels, -1)
    if not bool((flat == flat[:, :1]).all()):
        raise QuantizationError(f"{where}: {what} varies within a channel; quantization folds it into the weights "
                                "of each output channel")
    return flat[:, 0]


@torch.no_grad()
def quantize(model: nn.Module, *, bits: int = 8, input_bits: int = 8, decay_bits: int = 12, state_bits: int = 32,
             calibration: Tensor | Iterable[Tensor] | None = None,
             spiking_input: bool | None = None) -> QuantizedNetwork:
    """The integer version of ``model`` (see the module docstring).

    Args:
        model: a trained feed-forward spiking network (``spikeforge.nn.Sequential`` or a zoo
            ``SCNN``); it is not modified (QAT parametrizations are read as their float weights).
        bits: weight width (8 for int8, 4 for int4).
        input_bits: width of analog inputs to the first layer.
        decay_bits: fraction bits of the decay factors.
        state_bits: width of the membrane (saturating).
        calibration: inputs (as the model takes them) to set the analog input scale of the
            first layer from their largest magnitude; needed when that layer is fed analog
            values. Spiking inputs need none.
        spiking_input: the first layer is fed spikes (0/1), used as integers as they are;
            ``None``: spikes when the calibration inputs are all 0 or 1.
    """
    qmax = _qmax(bits)
    _qmax(input_bits)
    source = strip_qat(copy.deepcopy(model)).eval()
    layers = network_layers(source)
    encode = source.encode if hasattr(source, "encode") and callable(source.encode) else None
    input_max, signed, binary = _calibrate(source, encode, calibration)
    stages: list[nn.Module] = []
    summary: list[tuple[str, int, float, float]] = []
    pending_scale = 1.0  # 1/k^2 of an average pooling before the next weighted layer
    analog = not (spiking_input if spiking_input is not None else binary)  # what the first weighted layer sees
    i = 0
    while i < len(layers):
        layer = layers[i]
        m = layer.module
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            if i + 1 >= len(layers) or not isinstance(layers[i + 1].module, snn.NeuronModule):
                nxt = "nothing" if i + 1 >= len(layers) else type(layers[i + 1].module).__name__
                raise QuantizationError(f"{layer.name} ({type(m).__name__}) feeds {nxt}; quantize needs every weighted "
                                        "layer to feed a neuron layer directly")
            neuron = layers[i + 1]
            syn, neurons, info = _pair(layer, neuron, qmax, pending_scale, analog, input_max, signed, input_bits,
                                       decay_bits, state_bits)
            stages += [syn, neurons]
            summary.append(info)
            pending_scale, analog = 1.0, False
            i += 2
            continue
        if isinstance(m, nn.AvgPool2d):
            if m.ceil_mode or m.divisor_override is not None:
                raise QuantizationError(f"{layer.name}: only plain average pooling is supported")
            k = m.kernel_size
            pending_scale /= k * k if isinstance(k, int) else math.prod(k)
            stages.append(_SumPool(m))
        elif isinstance(m, nn.MaxPool2d):
            stages.append(_IntMaxPool(m))
        elif isinstance(m, nn.Flatten):
            stages.append(copy.deepcopy(m))
        else:
            raise QuantizationError(f"{layer.name} ({type(m).__name__}) is not supported by the integer simulation "
                                    "(Linear/Conv2d + neurons, pooling, Flatten)")
        i += 1
    return QuantizedNetwork(stages, encode, QuantizationSummary(bits, tuple(summary)))


def _calibrate(model: nn.Module, encode: Any, calibration: Any) -> tuple[float | None, bool, bool]:
    """(largest magnitude, any negative value, all values 0 or 1) of the calibration inputs."""
    if calibration is None:
        return None, False, False
    batches = [calibration] if isinstance(calibration, Tensor) else list(calibration)
    top, signed, binary = 0.0, False, True
    for x in batches:
        x = x[0] if isinstance(x, (tuple, list)) else x
        x = encode(x) if encode is not None else x
        top = max(top, float(x.abs().max()))
        signed = signed or bool((x < 0).any())
        binary = binary and bool(((x == 0) | (x == 1)).all())
    return (top or 1.0), signed, binary


def _pair(layer: Layer, neuron: Layer, qmax: int, pending: float, analog: bool, input_max: float | None,
          signed: bool, input_bits: int, decay_bits: int, state_bits: int):
    m, n = layer.module, neuron.module
    info = _neuron_params(n, f"{neuron.name} ({type(n).__name__})")
    w = m.weight.detach().double() * pending
    b = None if m.bias is None else m.bias.detach().double()
    channels = w.shape[0]
    dims = 1 if isinstance(m, nn.Linear) else 3
    where = f"{neuron.name} ({type(n).__name__})"
    gain = _per_channel(info["gain"], channels, dims, where, "the input gain (1 - d) r")
    wshape = (-1,) + (1,) * (w.dim() - 1)
    scaled = w * gain.reshape(wshape)                            # membrane increment per unit input
    unit = (scaled.abs().reshape(channels, -1).amax(1) / qmax)   # membrane LSB per channel
    unit = torch.where(unit > 0, unit, torch.ones_like(unit))
    input_scale = None
    if analog:
        if input_max is None:
            raise QuantizationError(f"{layer.name} ({type(m).__name__}) is fed analog values; pass calibration= "
                                    "inputs to set their fixed-point scale")
        input_scale = input_max / (2 ** (input_bits - (1 if signed else 0)) - 1)
    w_q = torch.clamp(torch.round(scaled / unit.reshape(wshape)), -qmax, qmax)
    if input_scale is not None:
        unit = unit * input_scale                                 # the product of two fixed-point values
    b_q = None if b is None else torch.round(b * gain / unit)
    syn = IntegerSynapses(m, w_q, b_q, input_scale, signed, input_bits)
    p = info["p"]
    nshape = (channels,) + (1,) * (dims - 1)
    u = unit.reshape(nshape)
    decay_q = torch.round(_per_channel(info["decay"], channels, dims, where, "the decay") * 2 ** decay_bits)
    v_leak = getattr(p, "v_leak", 0.0)
    leak_q = torch.round(_per_channel(torch.as_tensor(v_leak), channels, dims, where, "v_leak").reshape(nshape) / u)
    reset_q = torch.round(_per_channel(torch.as_tensor(getattr(p, "v_reset", 0.0)), channels, dims, where,
                                       "v_reset").reshape(nshape) / u)
    threshold_q = None
    if info["kind"] != "li":
        threshold_q = torch.round(_per_channel(torch.as_tensor(p.v_threshold), channels, dims, where,
                                               "v_threshold").reshape(nshape) / u)
    if info["kind"] == "if":
        leak_q = torch.zeros_like(reset_q)
    neurons = IntegerNeurons(kind=info["kind"], decay=decay_q.reshape(nshape), threshold=threshold_q,
                             v_reset=reset_q, v_leak=leak_q, unit=u, reset=getattr(p, "reset", "none"),
                             decay_bits=decay_bits, state_bits=state_bits)
    return syn, neurons, (layer.name, int(w_q.abs().max()), float(unit.min()), float(unit.max()))
