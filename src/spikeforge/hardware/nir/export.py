r"""spikeforge network → NIR graph.

Each primitive layer (see :mod:`spikeforge.hardware._layers`) becomes one NIR node with
its continuous-time parameters; spikeforge names its parameters as NIR does, so most of
the export is a table:

=========================  ===========================================================
spikeforge                 NIR node
=========================  ===========================================================
``Linear``                 ``Affine`` (with bias) or ``Linear``
``Conv2d`` (+ BatchNorm)   ``Conv2d`` (BatchNorm folded into weight and bias)
``AvgPool2d``              ``AvgPool2d``
``Flatten(start, end)``    ``Flatten(start - 1, end - 1)`` (NIR shapes have no batch axis)
``LIF``, reset ``zero``    ``LIF(tau=tau_mem, r, v_leak, v_threshold, v_reset)``
``IF``, reset ``zero``     ``IF(r = r / dt, v_threshold, v_reset)``
``CubaLIF``, reset zero    ``CubaLIF(tau_syn, tau_mem, r, v_leak, v_threshold, v_reset, w_in = tau_syn / dt)``
``LI``                     ``LI(tau=tau_mem, r, v_leak)``
``RecurrentLIF``           ``Affine`` (input weights) → subgraph
                           ``{Input → LIF → Output, LIF → Linear(W_rec) → LIF}``
=========================  ===========================================================

Why these forms: spikeforge's LIF step ``u = v_leak + d (v - v_leak) + (1 - d) r x`` is
NIR's :math:`\tau \dot v = v_\text{leak} - v + R I` integrated over a step with the input
held (``method="exp"``, :math:`d = e^{-\Delta t/\tau}`) or by forward Euler
(``method="euler"``), with the same :math:`R`. The IF step ``u = v + r x`` treats ``x``
as the charge of one step, hence :math:`R_\text{NIR} = r/\Delta t`. The CubaLIF current
``i = d_syn i + x`` is NIR's :math:`\tau_\text{syn} \dot I = -I + w_\text{in} S` by forward
Euler with :math:`w_\text{in} = \tau_\text{syn}/\Delta t` (the convention snnTorch's
exporter uses too). The derived values (``r / dt``, ``tau_syn / dt``) are stored in
float64 so that the importer recovers the float32 originals exactly.

NIR is a continuous-time format and names no step, so every neuron node carries
``metadata`` with the step and discretisation it was trained with (``spikeforge_dt``,
``spikeforge_method``) and the module path (``spikeforge_module``); other tools ignore
these keys, spikeforge's importer uses them.

What NIR cannot express raises :class:`NIRExportError` naming the module and the feature:
adaptive thresholds (``ALIF``), refractory periods, reset by subtraction and ``reset="none"``
(NIR's nodes reset to ``v_reset``), max pooling (NIR has sum and average pooling).
With ``extensions=True`` reset by subtraction and max pooling are written as the nearest
NIR node (the neuron node; a ``SumPool2d``) plus a metadata key (``spikeforge_reset``,
``spikeforge_pool``) that spikeforge's importer honours, and a warning lists the nodes
that other NIR tools will read as a different network.

One difference is not in the parameters: NIR's nodes spike when ``v > v_threshold``,
spikeforge's when ``u >= v_threshold`` (docs/conventions.md). The two differ only for a
membrane exactly at threshold.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ... import __version__
from ... import nn as snn
from ...nn.recurrent import _RecurrentBase
from .._layers import Layer, input_shape_of, network_layers, trace_shapes
from ._common import (
    FORMAT, META_DT, META_FORMAT, META_METHOD, META_MODULE, META_POOL, META_RESET, NIRExportError, require_nir,
)

__all__ = ["to_nir", "save_nir"]

log = logging.getLogger(__name__)


def to_nir(model: nn.Module, *, input_shape: tuple[int, ...] | list[int] | None = None,
           extensions: bool = False) -> Any:
    """The NIR graph (``nir.NIRGraph``) of a spikeforge network.

    Args:
        model: a :class:`spikeforge.nn.Sequential`, ``nn.Sequential`` or zoo model
            (``SCNN``: its ``net``; the encoder stays outside, so the graph's input is
            what the first layer receives at each step).
        input_shape: the shape of one sample at one step, without batch or time
            (``[C, H, W]``); needed when the model does not tell it (a network that
            starts with a convolution). Read from ``model.input_shape`` or the first
            ``Linear`` otherwise.
        extensions: write reset by subtraction and max pooling with spikeforge
            metadata instead of refusing them (see the module docstring).

    Raises:
        NIRExportError: a module NIR cannot express (the message says which and why).
        ImportError: the ``nir`` package is missing (``pip install 'spikeforge[nir]'``).
    """
    nir = require_nir()
    layers = network_layers(model)
    if not layers:
        raise NIRExportError(f"{type(model).__name__} holds no layers to export")
    shape = tuple(input_shape) if input_shape is not None else input_shape_of(model, layers)
    if shape is None:
        raise NIRExportError(f"cannot tell the input shape of {type(model).__name__} (its first layer is "
                             f"{type(layers[0].module).__name__}); pass input_shape=[C, H, W]")
    shapes = trace_shapes(layers, shape)
    nodes: dict[str, Any] = {"input": nir.Input(input_type=np.array(shape))}
    edges: list[tuple[str, str]] = []
    previous = "input"
    foreign: list[str] = []
    for index, (layer, (in_shape, out_shape)) in enumerate(zip(layers, shapes)):
        for key, node in _nodes(nir, layer, index, in_shape, out_shape, extensions, foreign):
            node.metadata = {META_MODULE: layer.name or type(layer.module).__name__, **node.metadata}
            nodes[key] = node
            edges.append((previous, key))
            previous = key
    nodes["output"] = nir.Output(output_type=np.array(shapes[-1][1]))
    edges.append((previous, "output"))
    if foreign:
        log.warning("NIR export with spikeforge extensions: %s; other NIR tools ignore the spikeforge_* "
                    "metadata and will run a different network", "; ".join(foreign))
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata={META_FORMAT: f"{FORMAT} {__version__}"})


def save_nir(model: nn.Module, path: str | os.PathLike, **kwargs: Any) -> Path:
    """Export ``model`` (as :func:`to_nir`) and write it to ``path`` (NIR's HDF5 format), atomically."""
    nir = require_nir()
    graph = to_nir(model, **kwargs)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        nir.write(tmp, graph)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


# -- one layer ---------------------------------------------------------------------------------

def _array(t: Any, shape: tuple[int, ...], name: str, what: str, dtype: Any = np.float32) -> np.ndarray:
    value = t.detach().cpu().double().numpy() if isinstance(t, torch.Tensor) else np.asarray(t, dtype=np.float64)
    try:
        return np.broadcast_to(value, shape).astype(dtype)
    except ValueError:
        raise NIRExportError(f"{name}: {what} of shape {list(value.shape)} does not match the layer's neuron "
                             f"shape {list(shape)}") from None


def _describe(layer: Layer) -> str:
    return f"{layer.name or 'the model'} ({type(layer.module).__name__})"


def _nodes(nir: Any, layer: Layer, index: int, in_shape: tuple, out_shape: tuple, extensions: bool,
           foreign: list[str]) -> list[tuple[str, Any]]:
    m = layer.module
    where = _describe(layer)
    if isinstance(m, nn.Linear):
        w = m.weight.detach().cpu().numpy().astype(np.float32)
        if m.bias is None:
            return [(f"linear_{index}", nir.Linear(weight=w))]
        return [(f"affine_{index}", nir.Affine(weight=w, bias=m.bias.detach().cpu().numpy().astype(np.float32)))]
    if isinstance(m, nn.Conv2d):
        return [(f"conv2d_{index}", _conv2d(nir, m, in_shape, where))]
    if isinstance(m, nn.AvgPool2d):
        if m.ceil_mode or m.divisor_override is not None or (not m.count_include_pad and _pair(m.padding) != (0, 0)):
            raise NIRExportError(f"{where}: NIR's AvgPool2d has no ceil_mode, divisor_override or "
                                 "count_include_pad=False")
        return [(f"avgpool2d_{index}", nir.AvgPool2d(kernel_size=np.array(_pair(m.kernel_size)),
                                                     stride=np.array(_pair(m.stride or m.kernel_size)),
                                                     padding=np.array(_pair(m.padding))))]
    if isinstance(m, nn.MaxPool2d):
        if not extensions:
            raise NIRExportError(f"{where}: NIR has no max pooling (only SumPool2d and AvgPool2d); build the network "
                                 "with average pooling (SCNN pooling='avg'), or export with extensions=True "
                                 "(a SumPool2d node marked spikeforge_pool='max', which other NIR tools read as "
                                 "sum pooling)")
        if m.ceil_mode or _pair(m.dilation) != (1, 1) or _pair(m.padding) != (0, 0) or m.return_indices:
            raise NIRExportError(f"{where}: only max pooling without padding, dilation or ceil_mode is exported")
        foreign.append(f"maxpool2d_{index} ({layer.name}) as SumPool2d")
        node = nir.SumPool2d(kernel_size=np.array(_pair(m.kernel_size)),
                             stride=np.array(_pair(m.stride or m.kernel_size)), padding=np.array([0, 0]))
        node.metadata = {META_POOL: "max"}
        return [(f"maxpool2d_{index}", node)]
    if isinstance(m, nn.Flatten):
        start = m.start_dim - 1 if m.start_dim > 0 else m.start_dim
        end = m.end_dim - 1 if m.end_dim > 0 else m.end_dim
        if m.start_dim == 0 or m.end_dim == 0:
            raise NIRExportError(f"{where}: flattening the batch axis (start_dim or end_dim 0) is not a per-sample "
                                 "operation and has no NIR form")
        return [(f"flatten_{index}", nir.Flatten(input_type={"input": np.array(in_shape)},
                                                 start_dim=start, end_dim=end))]
    if isinstance(m, _RecurrentBase):
        return _recurrent(nir, layer, index, extensions, foreign)
    if isinstance(m, snn.NeuronModule):
        key, node = _neuron(nir, layer, index, out_shape, extensions, foreign)
        return [(key, node)]
    raise NIRExportError(f"{where}: no NIR form for this module; spikeforge exports Linear, Conv2d, AvgPool2d, "
                         "Flatten, BatchNorm after Conv/Linear (folded), LIF, IF, CubaLIF, LI and RecurrentLIF")


def _pair(v: Any) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def _conv2d(nir: Any, m: nn.Conv2d, in_shape: tuple, where: str) -> Any:
    if m.groups != 1:
        raise NIRExportError(f"{where}: groups={m.groups}; NIR's Conv2d takes its input channels from the weight's "
                             "second axis, so a grouped convolution does not describe its own input (nir 1.0)")
    if m.padding_mode != "zeros":
        raise NIRExportError(f"{where}: padding_mode={m.padding_mode!r}; NIR's Conv2d pads with zeros")
    padding = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    bias = (m.bias.detach().cpu().numpy() if m.bias is not None else np.zeros(m.out_channels)).astype(np.float32)
    return nir.Conv2d(input_shape=tuple(int(n) for n in in_shape[1:]),
                      weight=m.weight.detach().cpu().numpy().astype(np.float32),
                      stride=_pair(m.stride), padding=padding, dilation=_pair(m.dilation), groups=m.groups, bias=bias)


_ADAPTIVE = ("alif",)


def _neuron(nir: Any, layer: Layer, index: int, shape: tuple, extensions: bool,
            foreign: list[str]) -> tuple[str, Any]:
    m = layer.module
    where = _describe(layer)
    kind = m.model.name
    p = m.neuron_parameters()
    if kind in _ADAPTIVE:
        raise NIRExportError(f"{where}: adaptive threshold (tau_adp, beta); NIR has no adaptive neuron node")
    if kind not in ("lif", "if", "cuba_lif", "li"):
        raise NIRExportError(f"{where}: neuron model {kind!r} has no NIR node")
    meta: dict[str, Any] = {META_DT: float(p.dt)}
    if hasattr(p, "method"):
        meta[META_METHOD] = p.method
    arr = lambda name: _array(getattr(p, name), shape, where, name)  # noqa: E731
    if kind == "li":
        node = nir.LI(tau=arr("tau_mem"), r=arr("r"), v_leak=arr("v_leak"))
        node.metadata = meta
        return f"li_{index}", node
    if p.refractory_steps:
        raise NIRExportError(f"{where}: refractory period ({p.refractory_steps} steps); NIR's {_NIR_NAME[kind]} "
                             "node has none")
    key = f"{kind}_{index}"
    if p.reset == "none":
        raise NIRExportError(f"{where}: reset='none'; NIR's {_NIR_NAME[kind]} node always resets to v_reset")
    if p.reset == "subtract":
        if not extensions:
            raise NIRExportError(
                f"{where}: reset by subtraction; NIR's {_NIR_NAME[kind]} node resets to v_reset. Train with "
                "reset='zero', or export with extensions=True (the node is marked spikeforge_reset='subtract', "
                "which other NIR tools ignore)")
        meta[META_RESET] = "subtract"
        foreign.append(f"{key} ({layer.name}) resets by subtraction")
    common = dict(v_threshold=arr("v_threshold"), v_reset=arr("v_reset"))
    if kind == "lif":
        node = nir.LIF(tau=arr("tau_mem"), r=arr("r"), v_leak=arr("v_leak"), **common)
    elif kind == "if":
        # r / dt in float64: the importer's r_NIR * dt then rounds back to the float32 r exactly
        node = nir.IF(r=_array(p.r, shape, where, "r", np.float64) / p.dt, **common)
    else:
        tau_syn = _array(p.tau_syn, shape, where, "tau_syn", np.float64)
        node = nir.CubaLIF(tau_syn=tau_syn.astype(np.float32), tau_mem=arr("tau_mem"), r=arr("r"),
                           v_leak=arr("v_leak"), w_in=tau_syn / p.dt, **common)
    node.metadata = meta
    return key, node


_NIR_NAME = {"lif": "LIF", "if": "IF", "cuba_lif": "CubaLIF", "li": "LI"}


def _recurrent(nir: Any, layer: Layer, index: int, extensions: bool, foreign: list[str]) -> list[tuple[str, Any]]:
    m = layer.module
    where = _describe(layer)
    if m.neuron.model.name != "lif":
        raise NIRExportError(f"{where}: recurrent {m.neuron.model.name.upper()} neurons; "
                             + ("adaptive threshold (tau_adp, beta), which NIR has no node for"
                                if m.neuron.model.name in _ADAPTIVE else "only RecurrentLIF is exported"))
    w_in = m.input.weight.detach().cpu().numpy().astype(np.float32)
    if m.input.bias is not None:
        projection = nir.Affine(weight=w_in, bias=m.input.bias.detach().cpu().numpy().astype(np.float32))
    else:
        projection = nir.Linear(weight=w_in)
    hidden = (m.hidden_size,)
    _, lif = _neuron(nir, Layer(f"{layer.name}.neuron", m.neuron), index, hidden, extensions, foreign)
    lif.metadata = {META_MODULE: f"{layer.name}.neuron", **lif.metadata}
    w_rec = nir.Linear(weight=m.recurrent.weight.detach().cpu().numpy().astype(np.float32))
    w_rec.metadata = {META_MODULE: f"{layer.name}.recurrent"}
    sub = nir.NIRGraph(
        nodes={"input": nir.Input(input_type=np.array(hidden)), "lif": lif, "w_rec": w_rec,
               "output": nir.Output(output_type=np.array(hidden))},
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
        metadata={},
    )
    return [(f"{'affine' if m.input.bias is not None else 'linear'}_{index}_in", projection), (f"rlif_{index}", sub)]
