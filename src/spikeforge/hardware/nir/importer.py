r"""NIR graph → spikeforge network.

The inverse of :mod:`spikeforge.hardware.nir.export`: a chain of NIR nodes from the
graph's ``Input`` to its ``Output`` becomes a :class:`spikeforge.nn.Sequential` of
sequence modules (input ``[T, B, ...]``). Recurrent layers may come as a subgraph
(``Input → LIF → Output`` with ``LIF → Linear → LIF``, spikeforge's and snnTorch's form)
or as a two-node cycle in the main graph; either, after the ``Affine``/``Linear`` that
feeds it, becomes one :class:`spikeforge.nn.RecurrentLIF`.

NIR names no time step, so the caller chooses the discretisation: ``dt`` and ``method``
(``"exp"``: exact decay, or ``"euler"``: forward Euler, as snnTorch and Norse simulate
NIR graphs). Graphs written by spikeforge carry the step and method they were trained
with in their nodes' metadata, and those win unless ``override=True``.

======================================  ================================================
NIR node                                spikeforge module
======================================  ================================================
``Affine`` / ``Linear``                 ``nn.Linear``
``Conv2d``                              ``nn.Conv2d``
``Flatten(start, end)``                 ``nn.Flatten(start + 1, end + 1)``
``AvgPool2d`` / ``SumPool2d``           ``nn.AvgPool2d`` / :class:`SumPool2d`
``LIF(tau, r, v_leak, v_th, v_reset)``  ``LIF(tau_mem=tau, r, ..., reset="zero")``
``IF(r, v_th, v_reset)``                ``IF(r = r_NIR * dt, reset="zero")``
``CubaLIF``                             ``CubaLIF(r = r_NIR w_in dt / tau_syn, reset="zero")``
``LI(tau, r, v_leak)``                  ``LI(tau_mem=tau, r, v_leak)``
======================================  ================================================

The CubaLIF mapping absorbs NIR's input weight ``w_in`` into ``r`` (the membrane is linear
in the current, and the current in its input); with ``w_in = tau_syn / dt`` (as spikeforge
and snnTorch write it, to float32 rounding) ``r`` is taken as it is.

Parameters keep the shape they have in the file and broadcast against the neurons, so a
graph that stores one value per layer (shape ``[]`` or ``[1]``) imports as a shared value.
Anything else raises :class:`NIRImportError` with the node's name: an unreadable file, a
graph that branches, a node type spikeforge has no module for (``CubaLI``, ``I``,
``Threshold``, ``Delay``, ``Scale``, ``Conv1d``, ...), parameters of the wrong shape.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ... import nn as snn
from ...functional.threshold import METHODS
from ._common import META_DT, META_METHOD, META_POOL, META_RESET, NIRImportError, require_nir

__all__ = ["from_nir", "load_nir", "SumPool2d"]


class SumPool2d(nn.Module):
    """Sum pooling (NIR's ``SumPool2d``): the sum over each window, computed exactly."""

    def __init__(self, kernel_size: Any, stride: Any = None, padding: Any = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride or kernel_size, padding

    def forward(self, x: Tensor) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, divisor_override=1)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


def load_nir(path: str | os.PathLike, **kwargs: Any) -> snn.Sequential:
    """Read a NIR file (HDF5) and import it with :func:`from_nir`.

    Raises:
        FileNotFoundError: no file at ``path``.
        NIRImportError: the file is not a NIR graph (truncated, corrupt, another format)
            or holds something spikeforge cannot import.
    """
    nir = require_nir()
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no NIR file at {path}")
    try:
        graph = nir.read(path)
    except Exception as exc:  # h5py, nir's own asserts and KeyErrors: all mean "not a NIR graph we can read"
        raise NIRImportError(f"{path} is not a readable NIR file ({type(exc).__name__}: "
                             f"{_first_line(exc)}); expected an HDF5 file written by nir.write") from None
    return from_nir(graph, **kwargs)


def from_nir(graph: Any, *, dt: float = 1e-3, method: str = "exp", override: bool = False,
             backend: str = "auto") -> snn.Sequential:
    """A :class:`spikeforge.nn.Sequential` running the NIR ``graph``.

    Args:
        graph: a ``nir.NIRGraph``.
        dt: the time step to simulate with, in seconds.
        method: ``"exp"`` or ``"euler"`` (see the module docstring).
        override: use ``dt`` and ``method`` even where the nodes' spikeforge metadata
            names the ones the network was trained with.
        backend: the neurons' ``backend`` (``"auto"``, ``"torch"``, ``"cpu"``, ``"triton"``).
    """
    nir = require_nir()
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not (isinstance(dt, (int, float)) and dt > 0 and math.isfinite(dt)):
        raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
    if not isinstance(graph, nir.NIRGraph):
        raise NIRImportError(f"expected a nir.NIRGraph, got {type(graph).__name__}")
    settings = dict(dt=float(dt), method=method, override=override, backend=backend)
    chain = _chain(nir, graph)
    modules: list[nn.Module] = []
    for key, node in chain:
        if isinstance(node, _Recurrence):
            modules.append(_recurrent(nir, key, node, modules, settings))
        else:
            modules.append(_module(nir, key, node, settings))
    if not any(isinstance(m, snn.StatefulModule) for m in modules):
        raise NIRImportError("the graph has no neuron nodes; spikeforge imports spiking networks "
                             "(a graph of weights only is an nn.Sequential)")
    return snn.Sequential(*modules)


# -- the graph's structure -----------------------------------------------------------------------

class _Recurrence:
    """A recurrent population: a neuron node whose spikes feed back through ``weight``."""

    def __init__(self, neuron_key: str, neuron: Any, weight_key: str, weight: Any) -> None:
        self.neuron_key, self.neuron, self.weight_key, self.weight = neuron_key, neuron, weight_key, weight


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _chain(nir: Any, graph: Any) -> list[tuple[str, Any]]:
    """The nodes from Input to Output in order, recurrent pieces folded into :class:`_Recurrence`."""
    nodes = dict(graph.nodes)
    edges = [tuple(e) for e in graph.edges]
    for a, b in edges:
        for name in (a, b):
            if name not in nodes:
                raise NIRImportError(f"edge ({a!r}, {b!r}) names a node {name!r} that the graph does not have")
    # a two-node cycle neuron <-> weight in the main graph is a recurrent layer
    for a, b in list(edges):
        if (b, a) in edges and a in nodes and b in nodes and (a, b) in edges:
            neuron, weight = (a, b) if _is_neuron(nir, nodes[a]) else (b, a)
            if not (_is_neuron(nir, nodes[neuron]) and isinstance(nodes[weight], (nir.Affine, nir.Linear))):
                raise NIRImportError(f"nodes {a!r} and {b!r} form a cycle that is not a neuron population with "
                                     "recurrent weights; spikeforge imports feed-forward chains and recurrent layers")
            others_in = [e for e in edges if e[1] == weight and e[0] != neuron]
            others_out = [e for e in edges if e[0] == weight and e[1] != neuron]
            if others_in or others_out:
                raise NIRImportError(f"recurrent weights {weight!r} are connected to nodes other than {neuron!r}")
            nodes[neuron] = _Recurrence(neuron, nodes[neuron], weight, nodes.pop(weight))
            edges = [e for e in edges if weight not in e]
    inputs = [k for k, n in nodes.items() if isinstance(n, nir.Input)]
    if len(inputs) != 1:
        raise NIRImportError(f"the graph has {len(inputs)} Input nodes ({', '.join(inputs) or 'none'}); "
                             "spikeforge imports graphs with exactly one")
    successors: dict[str, list[str]] = {k: [] for k in nodes}
    predecessors: dict[str, list[str]] = {k: [] for k in nodes}
    for a, b in edges:
        successors[a].append(b)
        predecessors[b].append(a)
    chain: list[tuple[str, Any]] = []
    key = inputs[0]
    seen = {key}
    while True:
        nxt = successors[key]
        if not nxt:
            if not isinstance(nodes[key], nir.Output):
                raise NIRImportError(f"node {key!r} has no outgoing edge and is not an Output node")
            break
        if len(nxt) > 1:
            raise NIRImportError(f"node {key!r} feeds {len(nxt)} nodes ({', '.join(nxt)}); spikeforge imports "
                                 "feed-forward chains and recurrent layers, not branching graphs")
        key = nxt[0]
        if key in seen:
            raise NIRImportError(f"the graph loops back to node {key!r}")
        seen.add(key)
        if len(predecessors[key]) > 1:
            raise NIRImportError(f"node {key!r} has {len(predecessors[key])} inputs "
                                 f"({', '.join(predecessors[key])}); spikeforge imports chains, not merges")
        node = nodes[key]
        if isinstance(node, nir.Output):
            if successors[key]:
                raise NIRImportError(f"Output node {key!r} has outgoing edges")
            break
        if isinstance(node, nir.NIRGraph):
            node = _subgraph(nir, key, node)
        if type(node).__name__ != "Identity":  # nir.ir.graph.Identity, not exported by every nir version
            chain.append((key, node))
    unused = [k for k in nodes if k not in seen]
    if unused:
        raise NIRImportError(f"nodes {', '.join(unused)} are not on the path from Input to Output")
    return chain


def _is_neuron(nir: Any, node: Any) -> bool:
    return isinstance(node, (nir.LIF, nir.CubaLIF, nir.IF, nir.LI, nir.CubaLI, nir.I))


def _subgraph(nir: Any, key: str, sub: Any) -> _Recurrence:
    """A recurrent subgraph: Input -> neuron -> Output with neuron -> weights -> neuron."""
    try:
        inner = _chain(nir, sub)
    except NIRImportError as exc:
        raise NIRImportError(f"subgraph {key!r}: {exc}") from None
    if len(inner) != 1 or not isinstance(inner[0][1], _Recurrence):
        kinds = ", ".join(type(n).__name__ for _, n in inner)
        raise NIRImportError(f"subgraph {key!r} ({kinds}) is not a recurrent layer (Input -> LIF -> Output with "
                             "LIF -> Linear -> LIF); spikeforge imports no other subgraphs")
    return inner[0][1]


# -- one node ------------------------------------------------------------------------------------

def _tensor(value: Any, key: str, what: str) -> Tensor:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise NIRImportError(f"node {key!r}: {what} is not numeric ({value!r})") from None
    if not np.all(np.isfinite(a)):
        raise NIRImportError(f"node {key!r}: {what} holds NaN or Inf")
    return torch.from_numpy(a).to(torch.get_default_dtype())


def _meta(node: Any, name: str) -> Any:
    value = (getattr(node, "metadata", None) or {}).get(name)
    if isinstance(value, bytes):
        value = value.decode("utf-8")
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    return value


def _discretisation(key: str, node: Any, settings: dict) -> tuple[float, str]:
    dt, method = settings["dt"], settings["method"]
    if not settings["override"]:
        dt = float(_meta(node, META_DT) or dt)
        method = _meta(node, META_METHOD) or method
    if method not in METHODS:
        raise NIRImportError(f"node {key!r}: metadata names discretisation {method!r}; expected one of {METHODS}")
    return dt, method


def _weight(node: Any, key: str, dims: int) -> Tensor:
    w = _tensor(node.weight, key, "weight")
    if w.dim() != dims:
        raise NIRImportError(f"node {key!r}: weight of shape {list(w.shape)}, expected {dims} dimensions")
    return w


def _linear(nir: Any, key: str, node: Any) -> nn.Linear:
    w = _weight(node, key, 2)
    layer = nn.Linear(w.shape[1], w.shape[0], bias=isinstance(node, nir.Affine))
    with torch.no_grad():
        layer.weight.copy_(w)
        if isinstance(node, nir.Affine):
            b = _tensor(node.bias, key, "bias").reshape(-1)
            if b.numel() != w.shape[0]:
                raise NIRImportError(f"node {key!r}: bias of {b.numel()} values for {w.shape[0]} outputs")
            layer.bias.copy_(b)
    return layer


def _ints(value: Any, key: str, what: str) -> tuple[int, ...]:
    a = np.atleast_1d(np.asarray(value))
    if a.dtype.kind not in "iuf" or not np.all(a == np.round(a)):
        raise NIRImportError(f"node {key!r}: {what} must be integers, got {value!r}")
    t = tuple(int(v) for v in a)
    return t * 2 if len(t) == 1 else t


def _module(nir: Any, key: str, node: Any, settings: dict) -> nn.Module:
    if isinstance(node, (nir.Affine, nir.Linear)):
        return _linear(nir, key, node)
    if isinstance(node, nir.Conv2d):
        w = _weight(node, key, 4)
        padding = node.padding if isinstance(node.padding, str) else _ints(node.padding, key, "padding")
        conv = nn.Conv2d(w.shape[1] * int(node.groups), w.shape[0], tuple(w.shape[2:]),
                         stride=_ints(node.stride, key, "stride"), padding=padding,
                         dilation=_ints(node.dilation, key, "dilation"), groups=int(node.groups))
        with torch.no_grad():
            conv.weight.copy_(w)
            conv.bias.copy_(_tensor(node.bias, key, "bias").reshape(-1).expand(w.shape[0]))
        return conv
    if isinstance(node, nir.Flatten):
        start = node.start_dim + 1 if node.start_dim >= 0 else node.start_dim
        end = node.end_dim + 1 if node.end_dim >= 0 else node.end_dim
        return nn.Flatten(start, end)
    if isinstance(node, (nir.AvgPool2d, nir.SumPool2d)):
        k, s, p = (_ints(v, key, n) for v, n in ((node.kernel_size, "kernel_size"), (node.stride, "stride"),
                                                 (node.padding, "padding")))
        if isinstance(node, nir.AvgPool2d):
            return nn.AvgPool2d(k, s, p)
        if _meta(node, META_POOL) == "max":
            return nn.MaxPool2d(k, s, p)
        return SumPool2d(k, s, p)
    if _is_neuron(nir, node):
        return _neuron(nir, key, node, settings)
    raise NIRImportError(f"node {key!r} is a NIR {type(node).__name__}, which spikeforge does not import; "
                         "supported: Input, Output, Identity, Affine, Linear, Conv2d, Flatten, AvgPool2d, "
                         "SumPool2d, LIF, IF, CubaLIF, LI and recurrent LIF subgraphs")


def _reset(key: str, node: Any) -> str:
    reset = _meta(node, META_RESET)
    if reset not in (None, "subtract"):
        raise NIRImportError(f"node {key!r}: unknown spikeforge_reset {reset!r}")
    return "subtract" if reset == "subtract" else "zero"


def _neuron(nir: Any, key: str, node: Any, settings: dict, size: int | None = None) -> nn.Module:
    dt, method = _discretisation(key, node, settings)
    t = lambda name: _tensor(getattr(node, name), key, name)  # noqa: E731
    common = dict(dt=dt, backend=settings["backend"])
    kind = type(node).__name__
    try:
        if isinstance(node, nir.LI):
            return snn.LI(size, tau_mem=t("tau"), r=t("r"), v_leak=t("v_leak"), method=method, **common)
        if isinstance(node, nir.LIF):
            return snn.LIF(size, tau_mem=t("tau"), r=t("r"), v_leak=t("v_leak"), v_threshold=t("v_threshold"),
                           v_reset=t("v_reset"), reset=_reset(key, node), method=method, **common)
        if isinstance(node, nir.IF):
            r = (torch.from_numpy(np.asarray(node.r, dtype=np.float64)) * dt).to(torch.get_default_dtype())
            return snn.IF(size, r=r, v_threshold=t("v_threshold"), v_reset=t("v_reset"), reset=_reset(key, node),
                          **common)
        if isinstance(node, nir.CubaLIF):
            return snn.CubaLIF(size, tau_mem=t("tau_mem"), tau_syn=t("tau_syn"), r=_cuba_r(key, node, dt),
                               v_leak=t("v_leak"), v_threshold=t("v_threshold"), v_reset=t("v_reset"),
                               reset=_reset(key, node), method=method, **common)
    except (ValueError, RuntimeError) as exc:
        if isinstance(exc, NIRImportError):
            raise
        raise NIRImportError(f"node {key!r} ({kind}): {_first_line(exc)}") from None
    raise NIRImportError(f"node {key!r} is a NIR {kind} neuron, which spikeforge has no module for "
                         "(supported neurons: LIF, IF, CubaLIF, LI)")


def _cuba_r(key: str, node: Any, dt: float) -> Tensor:
    """``r`` with NIR's input weight absorbed: ``r w_in dt / tau_syn`` (see the module docstring)."""
    r = np.asarray(node.r, dtype=np.float64)
    scale = np.asarray(node.w_in, dtype=np.float64) * dt / np.asarray(node.tau_syn, dtype=np.float64)
    if not np.all(np.isfinite(scale)):
        raise NIRImportError(f"node {key!r}: w_in * dt / tau_syn is not finite")
    exact = np.abs(scale - 1.0) <= 2.0 ** -23  # w_in = tau_syn / dt to float32 rounding
    r = np.where(exact, r, r * scale)
    return torch.from_numpy(np.asarray(r)).to(torch.get_default_dtype())


def _recurrent(nir: Any, key: str, rec: _Recurrence, modules: list[nn.Module], settings: dict) -> nn.Module:
    if not isinstance(rec.neuron, nir.LIF):
        raise NIRImportError(f"recurrent layer {key!r} has {type(rec.neuron).__name__} neurons; spikeforge imports "
                             "recurrent LIF layers (RecurrentLIF) only")
    w_rec = _linear(nir, rec.weight_key, rec.weight)
    hidden = w_rec.weight.shape[0]
    if w_rec.weight.shape[1] != hidden:
        raise NIRImportError(f"recurrent weights {rec.weight_key!r} of shape {list(w_rec.weight.shape)} are not "
                             f"square")
    if w_rec.bias is not None and bool((w_rec.bias != 0).any()):
        raise NIRImportError(f"recurrent weights {rec.weight_key!r} carry a bias; spikeforge's recurrent "
                             "projection has none (put it in the input projection)")
    if not modules or not isinstance(modules[-1], nn.Linear):
        raise NIRImportError(f"recurrent layer {key!r} must follow an Affine or Linear node (its input weights)")
    projection = modules.pop()
    if projection.out_features != hidden:
        raise NIRImportError(f"recurrent layer {key!r} has {hidden} neurons but its input weights give "
                             f"{projection.out_features} outputs")
    dt, method = _discretisation(rec.neuron_key, rec.neuron, settings)
    t = lambda name: _tensor(getattr(rec.neuron, name), rec.neuron_key, name)  # noqa: E731
    backend = settings["backend"] if settings["backend"] in ("auto", "torch", "cpu") else "auto"
    try:
        layer = snn.RecurrentLIF(projection.in_features, hidden, bias=projection.bias is not None, backend=backend,
                                 tau_mem=t("tau"), r=t("r"), v_leak=t("v_leak"), v_threshold=t("v_threshold"),
                                 v_reset=t("v_reset"), reset=_reset(rec.neuron_key, rec.neuron), dt=dt,
                                 method=method)
    except ValueError as exc:
        raise NIRImportError(f"recurrent layer {key!r}: {_first_line(exc)}") from None
    with torch.no_grad():
        layer.input.weight.copy_(projection.weight)
        if projection.bias is not None:
            layer.input.bias.copy_(projection.bias)
        layer.recurrent.weight.copy_(w_rec.weight)
    return layer
