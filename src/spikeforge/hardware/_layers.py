"""A spiking network as the flat chain of primitive layers that hardware sees.

Every part of :mod:`spikeforge.hardware` (NIR export, quantization, event-driven
inference) looks at a network the same way: a feed-forward chain of weighted layers
(``Linear``, ``Conv2d``), shape layers (pooling, ``Flatten``) and neuron populations,
with the containers (:class:`spikeforge.nn.Sequential`, ``nn.Sequential``,
:class:`spikeforge.nn.TimeDistributed`, a zoo model's ``net``) unwrapped, ``Dropout``
dropped (inference) and each ``BatchNorm`` folded into the convolution or linear layer
before it, as a digital core would store it.

Folding BatchNorm is exact in real numbers and changes float32 results by rounding only
(a few units in the last place of the pre-activations); everything downstream of the
folded layers is computed from the folded weights.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

import torch
from torch import nn

from .. import nn as snn
from ..nn.recurrent import _RecurrentBase

__all__ = ["Layer", "network_layers", "fold_batchnorm", "input_shape_of", "trace_shapes", "HardwareError"]


class HardwareError(ValueError):
    """A network that the hardware path cannot represent as it is; the message says which part and why."""


class Layer(NamedTuple):
    """One primitive layer: ``name`` is its path in the original model, ``module`` the layer itself."""

    name: str
    module: nn.Module


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _root(model: nn.Module) -> tuple[str, nn.Module]:
    """A zoo model (``SCNN``, ``SRNN``) is its ``net``; anything else is itself."""
    from ..models._config import ZooModel

    if isinstance(model, ZooModel) and isinstance(getattr(model, "net", None), nn.Module):
        return "net", model.net
    return "", model


def fold_batchnorm(layer: nn.Module, bn: nn.Module, name: str) -> nn.Module:
    r"""A copy of ``layer`` (``Conv*d`` or ``Linear``) with the eval-mode ``bn`` after it folded in.

    :math:`y = \gamma (Wx + b - \mu)/\sqrt{\sigma^2 + \epsilon} + \beta` becomes
    :math:`W' x + b'` with :math:`W' = s W`, :math:`b' = s (b - \mu) + \beta`,
    :math:`s = \gamma/\sqrt{\sigma^2 + \epsilon}`, computed in float64 and rounded once.
    """
    if not getattr(bn, "track_running_stats", False) or bn.running_mean is None:
        raise HardwareError(f"{name} ({type(bn).__name__}) keeps no running statistics, so it cannot be folded "
                            "into the layer before it; build it with track_running_stats=True")
    out_channels = layer.weight.shape[0]
    if bn.num_features != out_channels:
        raise HardwareError(f"{name} ({type(bn).__name__}) normalises {bn.num_features} channels but the layer "
                            f"before it has {out_channels} outputs")
    w = layer.weight.detach().double()
    b = layer.bias.detach().double() if layer.bias is not None else torch.zeros(out_channels, dtype=torch.float64)
    scale = torch.rsqrt(bn.running_var.double() + bn.eps)
    if bn.affine:
        scale = scale * bn.weight.detach().double()
    shift = -bn.running_mean.double() * scale
    if bn.affine:
        shift = shift + bn.bias.detach().double()
    folded = copy.deepcopy(layer)
    if folded.bias is None:
        folded.bias = nn.Parameter(torch.zeros(out_channels, dtype=layer.weight.dtype, device=layer.weight.device))
    shape = (-1,) + (1,) * (w.dim() - 1)
    with torch.no_grad():
        folded.weight.copy_((w * scale.reshape(shape)).to(layer.weight.dtype))
        folded.bias.copy_((b * scale + shift).to(layer.weight.dtype))
    return folded


_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)
_SKIPPED = (nn.Dropout, nn.Identity)


def network_layers(model: nn.Module) -> list[Layer]:
    """The primitive layers of ``model`` in execution order (see the module docstring).

    Raises :class:`HardwareError` for a ``BatchNorm`` that does not follow a ``Conv``
    or ``Linear`` layer, or for a container whose execution order is not its module
    order (anything other than the sequential containers listed above is returned
    as one layer, for the caller to accept or refuse).
    """
    prefix, root = _root(model)
    layers: list[Layer] = []
    _walk(root, prefix, layers)
    return layers


def _walk(module: nn.Module, name: str, out: list[Layer]) -> None:
    if isinstance(module, nn.Sequential):  # spikeforge.nn.Sequential too
        for child_name, child in module.named_children():
            _walk(child, _join(name, child_name), out)
    elif isinstance(module, snn.TimeDistributed):
        _walk(module.module, _join(name, "module"), out)
    elif isinstance(module, _SKIPPED):
        return
    elif isinstance(module, _BATCHNORM):
        if not out or not isinstance(out[-1].module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            before = f"{out[-1].name} ({type(out[-1].module).__name__})" if out else "nothing"
            raise HardwareError(f"{name} ({type(module).__name__}) follows {before}; only a BatchNorm right after "
                                "a Conv or Linear layer can be folded into its weights")
        prev = out.pop()
        out.append(Layer(prev.name, fold_batchnorm(prev.module, module, name)))
    else:
        out.append(Layer(name, module))


def input_shape_of(model: nn.Module, layers: list[Layer]) -> tuple[int, ...] | None:
    """The per-sample input shape, where the model or its first weighted layer tells it."""
    shape = getattr(model, "input_shape", None)
    if shape is not None:
        return tuple(int(n) for n in shape)
    for layer in layers:
        m = layer.module
        if isinstance(m, nn.Linear):
            return (m.in_features,)
        if isinstance(m, _RecurrentBase):
            return (m.input_size,)
        if isinstance(m, (nn.Conv1d, nn.Conv2d)):
            return None
        if isinstance(m, snn.NeuronModule) and m.size is not None:
            return tuple(m.size)
        if isinstance(m, (nn.Flatten, nn.MaxPool2d, nn.AvgPool2d)):
            return None
    return None


@torch.no_grad()
def trace_shapes(layers: list[Layer], input_shape: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """``(input shape, output shape)`` per layer for one sample (no batch or time dimension)."""
    shapes = []
    shape = tuple(input_shape)
    for layer in layers:
        m = layer.module
        if isinstance(m, snn.NeuronModule):
            out = shape
        elif isinstance(m, _RecurrentBase):
            out = (m.hidden_size,)
        else:
            p = next(iter(m.parameters()), None)
            x = torch.zeros((1, *shape), dtype=p.dtype if p is not None else torch.get_default_dtype(),
                            device=p.device if p is not None else None)
            try:
                out = tuple(m(x).shape[1:])
            except RuntimeError as exc:
                raise HardwareError(f"{layer.name} ({type(m).__name__}) cannot take an input of shape "
                                    f"{list(shape)}: {str(exc).splitlines()[0]}") from None
        shapes.append((shape, out))
        shape = out
    return shapes
