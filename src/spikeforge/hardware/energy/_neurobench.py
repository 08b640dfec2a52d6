"""NeuroBench's own metrics on a spikeforge model, for the comparison test and benchmark.

Not part of the public API. NeuroBench (package ``neurobench``) hooks a model's weighted
layers (``Linear``, ``Conv``) and its activation modules. spikeforge's spiking modules
return ``(spikes, state)``, so after the forward pass the adapter keeps the spike tensor
of each recorded output, and registers as activation modules the spiking neuron modules
and recurrent layers (as NeuroBench registers snnTorch's spiking neurons); the
non-spiking LI readout is not an activation module, as in :mod:`.counts`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ...learning.monitor import spikes_are_its_output, spiking_layers

__all__ = ["neurobench_metrics"]


@torch.no_grad()
def neurobench_metrics(model: nn.Module, x: Tensor, samples: int) -> dict[str, Any]:
    """NeuroBench's SynapticOperations, ActivationSparsity, Footprint and ConnectionSparsity of ``model(x)``."""
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    wrapped = TorchModel(model)
    for cls in {type(m) for _, m in spiking_layers(model) if spikes_are_its_output(m)}:
        wrapped.add_activation_module(cls)
    wrapped.register_hooks()
    try:
        out = model(x)
        preds = out[0] if isinstance(out, tuple) else out
        for hook in wrapped.activation_hooks:
            hook.activation_outputs[:] = [o[0] if isinstance(o, tuple) else o for o in hook.activation_outputs]
        data = (torch.zeros(samples), torch.zeros(samples))  # NeuroBench divides by data[0].size(0)
        synops = SynapticOperations()
        result = dict(synops(wrapped, preds, data))
        result["ActivationSparsity"] = ActivationSparsity()(wrapped, preds, data)
        result["Footprint"] = Footprint()(wrapped)
        result["ConnectionSparsity"] = ConnectionSparsity()(wrapped)
    finally:
        wrapped.cleanup_hooks()
    return result
