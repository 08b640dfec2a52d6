"""The BP-STDP network step by step in plain torch: the specification of its fused kernel.

The IF layers add the weight rows of the spiking inputs one by one in increasing order (as
the kernel does, so that the float32 sums, and hence the spikes, agree exactly); the rule is
:class:`spikeforge.learning.bp_stdp.BPSTDP` itself.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

__all__ = ["simulate", "reference_train"]


def _layer(u: Tensor, spikes_in: Tensor, w_pre_major: Tensor, threshold: float) -> tuple[Tensor, Tensor]:
    """One IF layer step for ``[B, n_in]`` spikes: ``(spikes [B, n_out], u)``."""
    u = u.clone()
    for b, i in zip(*torch.nonzero(spikes_in, as_tuple=True)):
        u[b] = u[b] + w_pre_major[i]
    s = u >= torch.tensor(threshold, dtype=torch.float32)
    return s.to(torch.float32), torch.where(s, torch.zeros_like(u), u)


@torch.no_grad()
def simulate(model: Any, x: Tensor, state: Any = None) -> tuple[Tensor, list[Tensor]]:
    """The frozen network on input spikes ``[T, B, n_input]``: ``(output spikes, membranes)``."""
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != model.sizes[0]:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"BPSTDPNet.forward expects input spikes [T, B, {model.sizes[0]}], got {shape}")
    ws = [w.t() for w in model.weights]
    u = list(state) if state is not None else [torch.zeros(x.shape[1], n) for n in model.sizes[1:]]
    out = []
    for t in range(x.shape[0]):
        s = x[t].to(torch.float32)
        for k, (w, th) in enumerate(zip(ws, model.thresholds)):
            s, u[k] = _layer(u[k], s, w, th)
        out.append(s)
    return torch.stack(out), u


def reference_train(model: Any, trains: list[Tensor], labels: Tensor) -> Tensor:
    """Online BP-STDP on the given input spike trains (each ``[T, n_input]``) with the
    :class:`spikeforge.learning.bp_stdp.BPSTDP` rule on ``nn.Linear`` copies of the weights
    and SGD (``lr=1``) after every step, updating the model's weights in place; returns the
    output spike counts ``[N, C]``."""
    from torch import nn

    from ..learning.bp_stdp import BPSTDP

    c = model.config
    layers = []
    for w in model.weights:
        layer = nn.Linear(w.shape[1], w.shape[0], bias=False)
        with torch.no_grad():
            layer.weight.copy_(w)
        layers.append(layer)
    rule = BPSTDP(layers, lr=c["lr"], epsilon=c["epsilon"], target_rate=c["target_rate"], dt=c["dt"])
    opt = torch.optim.SGD([l.weight for l in layers], lr=1.0)
    counts = []
    for train, label in zip(trains, labels.reshape(-1)):
        u = [torch.zeros(1, n) for n in model.sizes[1:]]
        target = rule.target(label[None], train.shape[0])
        state, total = None, torch.zeros(model.num_classes)
        for t in range(train.shape[0]):
            s = train[t][None].to(torch.float32)
            spikes = [s]
            with torch.no_grad():
                for k, (layer, th) in enumerate(zip(layers, model.thresholds)):
                    s, u[k] = _layer(u[k], s, layer.weight.t(), th)
                    spikes.append(s)
            total += spikes[-1][0]
            state = rule.step(spikes, target[t], state)
            opt.step()
            opt.zero_grad()
        counts.append(total)
    with torch.no_grad():
        for w, layer in zip(model.weights, layers):
            w.copy_(layer.weight)
    return torch.stack(counts).to(torch.int32)
