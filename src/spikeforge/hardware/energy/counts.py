r"""Counting what a network does: synaptic operations, dense MACs, neuron updates, spikes, memory.

The definitions are NeuroBench's (Yik et al., "The neurobench framework for benchmarking
neuromorphic computing algorithms and systems", *Nature Communications* 16, 1545, 2025;
package ``neurobench`` 2.x), so the numbers compare with theirs one for one:

- **synaptic operations** of a weighted layer (``Linear``, ``Conv1d``, ``Conv2d``, a
  recurrent layer's recurrent weights): for every nonzero input value, the nonzero
  weights it meets, i.e. its *fan-out* (``out_features`` of a ``Linear``; for a
  convolution the output channels times the kernel positions that reach an output,
  fewer at the borders). Bias additions are not counted. When every input value of a
  call is ``-1``, ``0`` or ``1`` (spikes) these are accumulates (**ACs**, NeuroBench's
  ``Effective_ACs``), otherwise multiply-accumulates (**MACs**, ``Effective_MACs``: the
  first layer of a network fed analog values, or a layer after average pooling);
- **dense MACs** (NeuroBench's ``Dense``): the same layers with every input and weight
  nonzero, what a clock-driven dense implementation of the same network computes
  (all ``T`` steps); an ANN of the same shape run once computes ``Dense / T``;
- **activation sparsity** (NeuroBench's ``ActivationSparsity``): the share of zeros among
  the outputs of the spiking layers, all layers, steps and samples together;
- **neuron updates**: one per neuron per time step, for every neuron population (the LI
  readout too): a clock-driven core updates each state every step;
- **memory** (NeuroBench's ``Footprint``): bytes of all parameters and buffers;
  **connection sparsity** (``ConnectionSparsity``): the share of zero weights in the
  weighted layers.

All figures are reported per sample (totals divided by the number of samples seen), as
NeuroBench does. The spike counts and firing rates come from
:class:`spikeforge.learning.SpikeMonitor`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ...learning.monitor import SpikeMonitor
from ...nn import NeuronModule, NeuronSequence
from ...nn.recurrent import _RecurrentBase, _RecurrentSequence

__all__ = ["OperationCounter", "LayerOps", "conv_fan_out", "linear_fan_out", "is_binary", "footprint",
           "connection_sparsity"]

_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d)


def is_binary(x: Tensor) -> bool:
    """Whether every value is -1, 0 or 1 (NeuroBench's test for a spiking input)."""
    return bool(((x == 0) | (x == 1) | (x == -1)).all())


def linear_fan_out(weight: Tensor) -> Tensor:
    """Nonzero outgoing weights of each input feature: ``[in_features]``."""
    return (weight != 0).sum(0).to(torch.float64)


def conv_fan_out(layer: nn.Module, in_shape: tuple[int, ...], *, dense: bool = False) -> Tensor:
    """Synapses each input position drives, ``[C, *spatial]`` (border positions drive fewer).

    It is the gradient of ``sum(conv(x, W != 0))`` with respect to ``x``: exactly the
    number of (output, weight) pairs that read each input value, for any stride,
    padding, dilation and groups. ``dense=True`` counts all weights (zeros too).
    """
    w = layer.weight.detach()
    weight = torch.ones_like(w, dtype=torch.float64) if dense else (w != 0).to(torch.float64)
    x = torch.ones((1, *in_shape), dtype=torch.float64, device=layer.weight.device, requires_grad=True)
    conv = F.conv2d if isinstance(layer, nn.Conv2d) else F.conv1d
    with torch.enable_grad():
        out = conv(x, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad[0]


@dataclass
class LayerOps:
    """Operations of one weighted layer, summed over every call while a counter listened."""

    name: str
    kind: str
    effective_acs: float = 0.0
    effective_macs: float = 0.0
    dense: float = 0.0
    calls: int = 0

    @property
    def synops(self) -> float:
        """ACs and MACs together: every nonzero input times its nonzero fan-out."""
        return self.effective_acs + self.effective_macs


class _Ops:
    """Counts for one weighted layer; conv fan-out maps are cached per input shape."""

    def __init__(self, name: str, module: nn.Module) -> None:
        self.ops = LayerOps(name, type(module).__name__)
        self.module = module
        self._maps: dict[tuple, tuple[Tensor, float]] = {}

    def fan_out(self, in_shape: tuple[int, ...]) -> tuple[Tensor, float]:
        """``(effective fan-out per input value, dense operations per sample)``."""
        m = self.module
        if isinstance(m, nn.Linear):
            return linear_fan_out(m.weight.detach()), float(m.in_features * m.out_features)
        if in_shape not in self._maps:
            fan = conv_fan_out(m, in_shape)
            dense = float(conv_fan_out(m, in_shape, dense=True).sum())
            self._maps[in_shape] = (fan, dense)
        return self._maps[in_shape]

    def count(self, x: Tensor, feature_dims: int) -> None:
        x = x.detach()
        lead = x.shape[: x.dim() - feature_dims]
        samples = int(torch.Size(lead).numel())
        nz = (x != 0).reshape(samples, *x.shape[x.dim() - feature_dims:]).sum(0, dtype=torch.float64)
        fan, dense = self.fan_out(tuple(x.shape[x.dim() - feature_dims:]))
        effective = float((nz * fan.to(nz.device)).sum())
        if is_binary(x):
            self.ops.effective_acs += effective
        else:
            self.ops.effective_macs += effective
        self.ops.dense += dense * samples
        self.ops.calls += 1


def _feature_dims(module: nn.Module) -> int:
    return 1 if isinstance(module, nn.Linear) else (3 if isinstance(module, nn.Conv2d) else 2)


class OperationCounter:
    """Count synaptic operations, dense MACs, neuron updates and spikes of ``model`` through hooks.

    Use it as a context manager around forward passes (``torch.no_grad()`` recommended);
    counts add up over calls. :attr:`monitor` is the :class:`SpikeMonitor` that counts
    the spikes. The recurrent weights of ``RecurrentLIF``/``RecurrentALIF`` are counted
    from the layer's own spikes (the fused kernels use the weight without calling the
    ``Linear``): the spikes of step ``t`` meet the recurrent fan-out at step ``t + 1``.
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.monitor = SpikeMonitor(model)
        recurrent_weights = {id(m.recurrent) for m in model.modules() if isinstance(m, _RecurrentBase)}
        self._weighted: list[tuple[str, nn.Module, _Ops]] = []
        self._recurrent: list[tuple[str, nn.Module, _Ops]] = []
        self._neurons: dict[str, list] = {}  # name -> [module, neuron-steps (samples x steps), neurons]
        covered: list[str] = []
        for name, module in model.named_modules():
            if isinstance(module, _WEIGHTED) and id(module) not in recurrent_weights:
                self._weighted.append((name, module, _Ops(name, module)))
            if any(name.startswith(p + ".") for p in covered):
                continue
            if isinstance(module, _RecurrentBase):
                covered.append(name)
                ops = _Ops(f"{name}.recurrent", module.recurrent)
                ops.ops.kind = "Recurrent"
                self._recurrent.append((name, module, ops))
                self._neurons[name] = [module, 0, module.hidden_size]
            elif isinstance(module, NeuronModule):
                self._neurons[name] = [module, 0, None]
            elif isinstance(getattr(module, "neuron", None), NeuronModule) and getattr(module, "time_major", False):
                covered.append(name)  # a wrapper that runs its neurons itself (the ALIF membrane readout)
                self._neurons[name] = [module, 0, None]
        self._handles: list[Any] = []

    # -- hooks -------------------------------------------------------------------------------------
    def __enter__(self) -> "OperationCounter":
        self.monitor.attach()
        for _, module, ops in self._weighted:
            dims = _feature_dims(module)
            self._handles.append(module.register_forward_pre_hook(
                lambda _m, args, ops=ops, dims=dims: ops.count(args[0], dims)))
        for name, module, ops in self._recurrent:
            self._handles.append(module.register_forward_hook(self._recurrent_hook(module, ops)))
        for name, entry in self._neurons.items():
            self._handles.append(entry[0].register_forward_hook(self._neuron_hook(entry)))
        return self

    def __exit__(self, *exc: Any) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        self.monitor.detach()

    @staticmethod
    def _recurrent_hook(module: nn.Module, ops: _Ops):
        sequence = isinstance(module, _RecurrentSequence)

        def hook(_m: nn.Module, args: tuple, output: Any) -> None:
            spikes = output[0].detach()
            state = args[1] if len(args) > 1 else None
            z0 = None if state is None else state.z.detach()
            if sequence:  # the spikes of steps 0..T-2 (and the initial z) meet the recurrent weights
                driving = spikes[:-1]
                if z0 is not None:
                    driving = torch.cat([z0.unsqueeze(0), driving])
                calls, batch = spikes.shape[0], spikes.shape[1]
            else:
                driving = (z0 if z0 is not None else torch.zeros_like(spikes)).unsqueeze(0)
                calls, batch = 1, spikes.shape[0]
            hidden = module.hidden_size
            fan = linear_fan_out(module.recurrent.weight.detach())
            nz = (driving != 0).reshape(-1, hidden).sum(0, dtype=torch.float64)
            effective = float((nz * fan.to(nz.device)).sum())
            if driving.numel() == 0 or is_binary(driving):
                ops.ops.effective_acs += effective
            else:
                ops.ops.effective_macs += effective
            ops.ops.dense += float(calls * batch * hidden * hidden)
            ops.ops.calls += calls

        return hook

    @staticmethod
    def _neuron_hook(entry: list):
        module = entry[0]
        sequence = isinstance(module, (NeuronSequence, _RecurrentSequence)) or (
            not isinstance(module, NeuronModule) and bool(getattr(module, "time_major", False)))

        def hook(_m: nn.Module, _args: tuple, output: Any) -> None:
            out = output[0] if isinstance(output, tuple) else output
            lead = 2 if sequence else 1
            entry[1] += int(torch.Size(out.shape[:lead]).numel())
            entry[2] = int(torch.Size(out.shape[lead:]).numel())

        return hook

    # -- results -----------------------------------------------------------------------------------
    def weighted_layers(self) -> list[LayerOps]:
        """One :class:`LayerOps` per weighted layer and per recurrent projection, in model order."""
        rows = [ops.ops for _, _, ops in self._weighted] + [ops.ops for _, _, ops in self._recurrent]
        order = {name: i for i, (name, _) in enumerate(self.model.named_modules())}
        return sorted(rows, key=lambda r: order.get(r.name.removesuffix(".recurrent"), 0) + (
            0.5 if r.name.endswith(".recurrent") else 0.0))

    def neuron_updates(self) -> dict[str, tuple[int, int]]:
        """``{layer name: (neurons, neuron updates)}`` for every neuron population that ran."""
        return {name: (int(entry[2] or 0), int(entry[1]) * int(entry[2] or 0))
                for name, entry in self._neurons.items()}


def footprint(model: nn.Module) -> int:
    """Bytes of all parameters and buffers (NeuroBench's ``Footprint``)."""
    return int(sum(t.numel() * t.element_size() for t in list(model.parameters()) + list(model.buffers())))


def connection_sparsity(model: nn.Module) -> float:
    """Share of zero weights in the weighted layers (NeuroBench's ``ConnectionSparsity``, unrounded)."""
    zeros = total = 0
    for m in model.modules():
        if isinstance(m, _WEIGHTED):
            zeros += int((m.weight == 0).sum())
            total += m.weight.numel()
    return zeros / total if total else 0.0
