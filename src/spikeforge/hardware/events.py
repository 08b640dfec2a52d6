r"""Event-driven inference: compute only what the spikes that occur cause.

A clock-driven implementation multiplies every weight by every input at every step
(``Linear``: :math:`T B N_\text{in} N_\text{out}` MACs). On event-driven hardware a layer
does work only for the inputs that spiked: each event adds its weight column (its fan-out)
to the currents of the step it belongs to,

.. math::
    I_t[b, :] = \text{bias} + \sum_{i \,:\, x_t[b, i] \ne 0} x_t[b, i]\; W[:, i],

so the work is :math:`E\,N_\text{out}` for :math:`E` events. :class:`EventDrivenNetwork`
runs a trained feed-forward network this way: every ``Linear`` and ``Conv2d`` (BatchNorm
folded) gathers the nonzero entries of its whole ``[T, B, ...]`` input at once and
accumulates their weight columns (a sparse-by-dense product over the events; a
convolution scatters each event's kernel into the output positions it reaches), the neuron layers run their time loop as
usual (their state updates are per neuron and per step on any hardware), and pooling and
``Flatten`` are applied as they are. Nonzero non-binary inputs (a first layer fed an
analog image) are events carrying their value, so the result is the dense result.

The currents are the same sums as the dense product, added in a different order, so in
floating point they agree to rounding (about ``1e-6`` relative in float32, ``1e-15`` in
float64) and the spike trains are identical unless a membrane lands within that rounding
of its threshold; ``dtype=torch.float64`` makes that practically impossible, and integer
weights (a :mod:`~spikeforge.hardware.quantize`-d network's) make it exact.
``benchmarks/hardware/events_speed.py`` measures where event-driven accumulation overtakes
the dense product as the firing rate falls.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
from torch import Tensor, nn

from .. import nn as snn
from ._layers import HardwareError, network_layers

__all__ = ["EventDrivenNetwork", "event_linear", "event_conv2d"]


def event_linear(x: Tensor, weight: Tensor, bias: Tensor | None = None, *,
                 weight_t: Tensor | None = None) -> Tensor:
    """``F.linear(x, weight, bias)`` computed from the nonzero entries of ``x`` only.

    ``x``: ``[..., in]``; every nonzero ``x[n, i]`` adds ``x[n, i] * weight[:, i]`` (the
    weight column of input ``i``, its fan-out) to row ``n``. The input becomes a sparse
    COO matrix and ``torch.sparse.mm`` accumulates, for each row, the rows of
    ``weight.T`` its events select: work proportional to the events, none for the zeros.
    ``weight_t`` (``weight.T``, contiguous) saves the transpose when the caller keeps it.
    """
    lead = x.shape[:-1]
    flat = x.reshape(-1, x.shape[-1]).to(weight.dtype)
    columns = weight.t().contiguous() if weight_t is None else weight_t   # [in, out]: row i = fan-out of input i
    out = torch.sparse.mm(_events(flat), columns)
    if bias is not None:
        out = out + bias
    return out.reshape(*lead, weight.shape[0])


def _events(flat: Tensor) -> Tensor:
    """The nonzero entries of a ``[N, in]`` matrix as a coalesced sparse COO matrix (one pass over the input)."""
    flat = flat.contiguous()  # a neuron kernel's output may be a strided view; nonzero is slow on those
    index = torch.nonzero(flat).t()  # row-major order: already coalesced
    return torch.sparse_coo_tensor(index, flat[index[0], index[1]], flat.shape, is_coalesced=True,
                                   check_invariants=False)


def event_conv2d(x: Tensor, layer: nn.Conv2d) -> Tensor:
    """``layer(x)`` computed by scattering the kernel of each nonzero input into the outputs it reaches.

    ``x``: ``[N, C, H, W]``. Stride, padding and dilation are supported; groups are not.
    """
    if layer.groups != 1 or isinstance(layer.padding, str) or layer.padding_mode != "zeros":
        raise HardwareError(f"event-driven Conv2d supports groups=1 and numeric zero padding, got {layer}")
    n, c, h, w = x.shape
    k_h, k_w = layer.kernel_size
    s_h, s_w = layer.stride
    p_h, p_w = layer.padding
    d_h, d_w = layer.dilation
    h_out = (h + 2 * p_h - d_h * (k_h - 1) - 1) // s_h + 1
    w_out = (w + 2 * p_w - d_w * (k_w - 1) - 1) // s_w + 1
    weight = layer.weight
    out = torch.zeros(n * h_out * w_out, weight.shape[0], dtype=weight.dtype, device=weight.device)
    b, ch, yy, xx = torch.nonzero(x, as_tuple=True)
    if b.numel():
        values = x[b, ch, yy, xx].to(weight.dtype)
        ky, kx = torch.meshgrid(torch.arange(k_h, device=x.device), torch.arange(k_w, device=x.device),
                                indexing="ij")
        ky, kx = ky.reshape(1, -1), kx.reshape(1, -1)                      # [1, K]
        num_y = yy.unsqueeze(1) + p_h - ky * d_h                             # output row times stride
        num_x = xx.unsqueeze(1) + p_w - kx * d_w
        oy, ox = torch.div(num_y, s_h, rounding_mode="floor"), torch.div(num_x, s_w, rounding_mode="floor")
        valid = (num_y % s_h == 0) & (num_x % s_w == 0) & (oy >= 0) & (oy < h_out) & (ox >= 0) & (ox < w_out)
        e_idx, k_idx = torch.nonzero(valid, as_tuple=True)
        rows = (b[e_idx] * h_out + oy[e_idx, k_idx]) * w_out + ox[e_idx, k_idx]
        kernel = weight[:, ch[e_idx], ky[0, k_idx], kx[0, k_idx]].t()       # [E*K valid, C_out]
        if not bool((values == 1).all()):
            kernel = kernel * values[e_idx].unsqueeze(1)
        out.index_add_(0, rows, kernel)
    out = out.reshape(n, h_out, w_out, -1).permute(0, 3, 1, 2)
    if layer.bias is not None:
        out = out + layer.bias.reshape(1, -1, 1, 1)
    return out.contiguous()


class EventDrivenNetwork(nn.Module):
    """A feed-forward spiking network whose synaptic layers process only the events that occur.

    Args:
        model: a trained ``spikeforge.nn.Sequential`` or zoo ``SCNN`` (copied; BatchNorm is
            folded). Recurrent layers are refused: their synapses are event-driven already
            inside spikeforge's fused CPU kernel.
        dtype: the arithmetic's dtype (``torch.float64`` for spike trains that match the
            dense float64 network's without threshold ties).

    ``forward(x, state=None) -> (out, state)`` like the original (images are encoded with
    the original's ``encode``). :attr:`events` counts the events each weighted layer
    processed in the last call.
    """

    def __init__(self, model: nn.Module, *, dtype: torch.dtype | None = None) -> None:
        super().__init__()
        source = copy.deepcopy(model).eval()
        layers = network_layers(source)
        for layer in layers:
            m = layer.module
            if isinstance(m, (nn.Linear, nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, snn.NeuronModule)):
                continue
            raise HardwareError(f"{layer.name} ({type(m).__name__}): event-driven inference runs feed-forward "
                                "chains of Linear, Conv2d, pooling, Flatten and neuron layers")
        self.layers = nn.ModuleList(layer.module for layer in layers)
        self.names = [layer.name for layer in layers]
        if dtype is not None:
            self.layers.to(dtype)
        self.dtype = dtype
        self._columns = {name: m.weight.detach().t().contiguous()
                         for name, m in zip(self.names, self.layers) if isinstance(m, nn.Linear)}
        self._encode = source.encode if hasattr(source, "encode") and callable(source.encode) else None
        self.events: dict[str, int] = {}

    @torch.no_grad()
    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, tuple]:
        x = self._encode(x) if self._encode is not None else x
        if self.dtype is not None:
            x = x.to(self.dtype)
        state = (None,) * len(self.layers) if state is None else state
        steps, batch = x.shape[:2]
        new_state = []
        self.events = {}
        for name, m, s in zip(self.names, self.layers, state):
            if isinstance(m, snn.NeuronModule):
                x, s = m(x, s)
            else:
                flat = x.flatten(0, 1)
                if isinstance(m, nn.Linear):
                    sparse = _events(flat.to(m.weight.dtype))
                    self.events[name] = int(sparse._nnz())
                    flat = torch.sparse.mm(sparse, self._columns[name]) + m.bias if m.bias is not None else \
                        torch.sparse.mm(sparse, self._columns[name])
                elif isinstance(m, nn.Conv2d):
                    self.events[name] = int(torch.count_nonzero(flat))
                    flat = event_conv2d(flat, m)
                else:
                    flat = m(flat)
                x = flat.unflatten(0, (steps, batch))
            new_state.append(s)
        return x, tuple(new_state)
