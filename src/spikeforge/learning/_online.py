r"""What the online rules (e-prop, OSTL) know about a network: its layers, and one block of
time steps of each layer together with the local derivatives of spikeforge's own update.

A network the online rules can train is a :class:`spikeforge.nn.Sequential` (or a model
whose ``forward`` is its ``net`` Sequential, as :class:`spikeforge.models.SRNN`'s is) made
of *layers*, each a weight matrix into a population of neurons:

- ``RecurrentLIF`` / ``RecurrentALIF``: ``c_t = W_in x_t + b + W_rec z_{t-1}``;
- ``nn.Linear`` followed by ``LIF``, ``ALIF``, ``LI`` or the ALIF-membrane readout
  (``models._readout.ALIFMembrane``): ``c_t = W x_t + b``.

The last layer is the readout; its output ``out_t`` is what the objective scores.

For one neuron (the equations of :mod:`spikeforge.functional.lif` / ``alif`` /
``threshold``, no other) with state ``(v, b)`` and input current ``c_t``:

.. math::
    u_t = v_\text{leak} + d\,(v_{t-1} - v_\text{leak}) + (1-d)\,r\,c_t,\quad
    \vartheta_t = V_\text{th} + \beta b_{t-1},\quad s_t = \Theta(u_t - \vartheta_t),\\
    v_t = \text{reset}(u_t, s_t, \vartheta_t),\qquad b_t = \rho\, b_{t-1} + (1-\rho)\, s_t .

A block records, per step and neuron, the coefficients of the exact derivatives of this
update (the pseudo-derivative :math:`\psi_t` is the neuron's own surrogate's
``derivative(u_t - \vartheta_t)``):

=========  ==========================================================================
``du``     :math:`\partial u_t/\partial v_{t-1}` (``d``; 1 while refractory)
``gu``     :math:`\partial u_t/\partial c_t` (``(1-d) r``; 0 while refractory)
``psi``    :math:`\partial s_t/\partial u_t` (0 while refractory, and for ``LI``)
``ru``     :math:`\partial v_t/\partial u_t` through the reset (1 with ``detach_reset``
           and subtraction)
``rb``     :math:`\partial v_t/\partial b_{t-1}` through the reset's threshold
           (:math:`-\beta s_t` with ``detach_reset`` and subtraction)
``qu``     :math:`\partial u_t/\partial d` for a learnable ``tau_mem`` (a column per
           learnable time constant)
``qb``     :math:`\partial b_t/\partial \rho` for a learnable ``tau_adp``
``jac``    :math:`\partial o_t/\partial c_t`, the output's instantaneous gain
           (:math:`\psi_t g` for spikes, ``g`` for a membrane output)
=========  ==========================================================================

and ``xt``, the presynaptic row :math:`\tilde x_t = [x_t, 1, z_{t-1}]` (input, bias,
recurrent spikes) whose columns are the layer's weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from .. import nn as snn
from ..nn.base import NeuronModule
from ..nn.recurrent import RecurrentState, _RecurrentSequence

__all__ = ["OnlineLayer", "BlockRecord", "LayerConstants", "parse_network", "layer_constants",
           "forward_block", "initial_layer_state", "SUPPORTED"]

SUPPORTED = ("RecurrentLIF / RecurrentALIF layers, and nn.Linear followed by LIF, ALIF, LI or the "
             "ALIF-membrane readout, in a spikeforge.nn.Sequential (or a model whose forward is its "
             "`net` Sequential, such as spikeforge.models.SRNN)")

LEARNABLE = ("tau_mem", "tau_adp")
"""Neuron parameters the online rules learn (besides weights and biases): the time constants."""


@dataclass
class OnlineLayer:
    """One layer of a network the online rules train (see the module docstring).

    Attributes:
        name: where it sits, e.g. ``"net.0"``.
        slot: index of the module holding its state in the Sequential.
        module: that module (a recurrent layer, a neuron module or the ALIF-membrane readout).
        linear: the input weights ``W_in`` and bias.
        recurrent: the recurrent weights ``W_rec`` (``None`` for feed-forward layers).
        neuron: the neuron module holding the parameters and the functional model.
        kind: ``"lif"``, ``"alif"`` or ``"li"`` (the functional model's name).
        output: ``"spikes"`` or ``"membrane"`` (``LI``: ``v``; ALIF-membrane readout: ``u``).
        learn: the learnable time constants of :data:`LEARNABLE` this layer has.
    """

    name: str
    slot: int
    module: nn.Module
    linear: nn.Linear
    recurrent: nn.Linear | None
    neuron: NeuronModule
    kind: str
    output: str
    learn: tuple[str, ...]

    @property
    def adaptive(self) -> bool:
        return self.kind == "alif"

    @property
    def spiking(self) -> bool:
        return self.kind != "li"

    @property
    def hidden(self) -> int:
        return self.linear.out_features

    @property
    def inputs(self) -> int:
        return self.linear.in_features

    @property
    def columns(self) -> int:
        """``P``: input, bias and recurrent columns of the weight rows."""
        rec = 0 if self.recurrent is None else self.hidden
        return self.inputs + int(self.linear.bias is not None) + rec

    @property
    def width(self) -> int:
        """``Q = P + E``: the weight columns plus one per learnable time constant."""
        return self.columns + len(self.learn)


def parse_network(model: nn.Module) -> tuple[snn.Sequential, list[OnlineLayer]]:
    """The Sequential of ``model`` and its layers; ``ValueError`` for anything else."""
    net = model if isinstance(model, snn.Sequential) else getattr(model, "net", None)
    if not isinstance(net, snn.Sequential):
        raise ValueError(f"the online rules train {SUPPORTED}; got {type(model).__name__}")
    from ..models._readout import ALIFMembrane

    prefix = "" if net is model else "net."
    layers: list[OnlineLayer] = []
    children = list(net)
    i = 0
    while i < len(children):
        child = children[i]
        if isinstance(child, _RecurrentSequence):
            layers.append(_layer(f"{prefix}{i}", i, child, child.input, child.recurrent, child.neuron, "spikes"))
            i += 1
            continue
        if isinstance(child, nn.Linear) and i + 1 < len(children):
            nxt = children[i + 1]
            if isinstance(nxt, ALIFMembrane):
                layers.append(_layer(f"{prefix}{i + 1}", i + 1, nxt, child, None, nxt.neuron, "membrane"))
                i += 2
                continue
            if isinstance(nxt, NeuronModule) and nxt.time_major and nxt.model.name in ("lif", "alif", "li"):
                output = "membrane" if nxt.model.name == "li" else "spikes"
                layers.append(_layer(f"{prefix}{i + 1}", i + 1, nxt, child, None, nxt, output))
                i += 2
                continue
        raise ValueError(f"the online rules train {SUPPORTED}; {prefix}{i} is {type(child).__name__}"
                         + (f" followed by {type(children[i + 1]).__name__}" if i + 1 < len(children) else ""))
    if not layers:
        raise ValueError(f"the online rules found no layer in {type(model).__name__}; they train {SUPPORTED}")
    for a, b in zip(layers, layers[1:]):
        if b.inputs != a.hidden:
            raise ValueError(f"{b.name} takes {b.inputs} inputs but {a.name} has {a.hidden} neurons")
    return net, layers


def _layer(name: str, slot: int, module: nn.Module, linear: nn.Linear, recurrent: nn.Linear | None,
           neuron: NeuronModule, output: str) -> OnlineLayer:
    kind = neuron.model.name
    if kind not in ("lif", "alif", "li"):
        raise ValueError(f"the online rules train LIF, ALIF and LI neurons; {name} has {type(neuron).__name__}")
    learnable = tuple(neuron._learnable)
    other = [n for n in learnable if n not in LEARNABLE]
    if other:
        raise ValueError(
            f"the online rules learn weights, biases and the time constants {', '.join(LEARNABLE)}; "
            f"{name} also has learnable {', '.join(other)}: build it with learn_{other[0]}=False (or use BPTT)")
    learn = tuple(n for n in LEARNABLE if n in learnable)
    if neuron.size is not None and tuple(neuron.size) != (linear.out_features,):
        raise ValueError(f"{name}: neuron shape {neuron.size} does not match the {linear.out_features} "
                         "outputs of its weights")
    return OnlineLayer(name, slot, module, linear, recurrent, neuron, kind, output, learn)


class LayerConstants(NamedTuple):
    """Per-chunk constants of a layer, all ``[H]`` (detached) plus the functional tuples."""

    p: Any              # the neuron parameter tuple (as the module builds it)
    coeffs: Any         # the model's coefficients (as the module computes them)
    d: Tensor           # membrane decay
    g: Tensor           # input gain (1 - d) r
    r: Tensor
    v_leak: Tensor
    v_th: Tensor
    v_reset: Tensor
    beta: Tensor        # zeros for LIF/LI
    rho: Tensor         # zeros for LIF/LI
    graph: dict         # {"tau_mem": d with its graph, "tau_adp": rho with its graph} for learnable ones


def layer_constants(layer: OnlineLayer, like: Tensor) -> LayerConstants:
    """The layer's parameters for this chunk (the coefficient graph is kept for learnable time constants)."""
    neuron = layer.neuron
    p = neuron._validated_parameters()
    coeffs = neuron.model.coefficients(p)
    d_graph, rho_graph = (coeffs if layer.adaptive else (coeffs, None))
    shape = (layer.hidden,)

    def vec(value: Any) -> Tensor:
        t = torch.as_tensor(value, dtype=like.dtype, device=like.device).detach()
        return t.expand(shape).clone() if t.numel() == 1 else t.reshape(shape).clone()

    d = vec(d_graph)
    r = vec(p.r)
    zero = torch.zeros(shape, dtype=like.dtype, device=like.device)
    graph = {}
    if "tau_mem" in layer.learn:
        graph["tau_mem"] = d_graph
    if "tau_adp" in layer.learn:
        graph["tau_adp"] = rho_graph
    return LayerConstants(
        p=p, coeffs=coeffs, d=d, g=(1 - d) * r, r=r, v_leak=vec(p.v_leak),
        v_th=vec(p.v_threshold) if layer.spiking else zero, v_reset=vec(p.v_reset) if layer.spiking else zero,
        beta=vec(p.beta) if layer.adaptive else zero, rho=vec(rho_graph) if layer.adaptive else zero, graph=graph,
    )


class BlockRecord(NamedTuple):
    """What a block of ``K`` steps of one layer leaves for the eligibility update (see the module docstring).

    Coefficients are ``[K, B, H]``; ``xt`` is ``[K, B, P]``; ``qu``/``qb`` are
    ``[K, B, H, E]`` (``E`` learnable time constants, possibly 0).
    """

    xt: Tensor
    du: Tensor
    gu: Tensor
    psi: Tensor
    ru: Tensor
    rb: Tensor
    qu: Tensor
    qb: Tensor
    jac: Tensor


def initial_layer_state(layer: OnlineLayer, consts: LayerConstants, like: Tensor) -> tuple[Any, Tensor | None]:
    """The resting ``(neuron state, previous spikes)`` for a ``[B, H]`` step like ``like``."""
    nstate = layer.neuron.model.init_state(like, consts.p)
    return nstate, (torch.zeros_like(like) if layer.recurrent is not None else None)


def split_state(layer: OnlineLayer, entry: Any) -> tuple[Any, Tensor | None]:
    """``(neuron state, previous spikes)`` from the layer's entry of the model's state tuple."""
    if layer.recurrent is not None:
        return entry.neuron, entry.z
    return entry, None


def join_state(layer: OnlineLayer, nstate: Any, z: Tensor | None) -> Any:
    """The layer's entry of the model's state tuple (as ``model(x, state)`` returns it)."""
    return RecurrentState(nstate, z) if layer.recurrent is not None else nstate


@torch.no_grad()
def forward_block(layer: OnlineLayer, consts: LayerConstants, x: Tensor, nstate: Any, z: Tensor | None,
                  *, record: bool) -> tuple[Tensor, Any, Tensor | None, BlockRecord | None]:
    """Run ``K`` steps of one layer on its input ``x [K, B, I]`` with spikeforge's own update.

    Returns ``(out [K, B, H], neuron state, last spikes, record)``: ``out`` is the spikes, or
    the membrane for membrane outputs, exactly as the layer's module computes them;
    ``record`` (with ``record=True``) holds the block's derivative coefficients.
    """
    model, p, c = layer.neuron.model, consts.p, consts.coeffs
    currents = layer.linear(x)  # the input projection of all steps at once, as the modules do
    if _kernel_runs(layer, p, currents):
        return _kernel_block(layer, consts, x, currents, nstate, z, record=record)
    outs, cur_l, v_l, b_l, ref_l, z_l = [], [], [], [], [], []
    for current in currents.unbind(0):
        if layer.recurrent is not None:
            z_l.append(z)
            current = current + layer.recurrent(z)
        if record or layer.output == "membrane":
            v_l.append(nstate.v)
            cur_l.append(current)
            if layer.adaptive:
                b_l.append(nstate.b)
            if layer.spiking and p.refractory_steps > 0:
                ref_l.append(nstate.refrac)
        s, nstate = model.update(current, nstate, p, c)
        outs.append(s)
        if layer.recurrent is not None:
            z = s
    spikes = torch.stack(outs)
    if layer.output == "membrane" and layer.spiking:
        v_prev, cur = torch.stack(v_l), torch.stack(cur_l)
        out = p.v_leak + c[0] * (v_prev - p.v_leak) + (1 - c[0]) * p.r * cur  # the readout's u_t
    else:
        out = spikes
    if not record:
        return out, nstate, z, None
    return out, nstate, z, _derivatives(layer, consts, x, spikes, torch.stack(v_l), torch.stack(cur_l),
                                        torch.stack(b_l) if b_l else None, torch.stack(ref_l) if ref_l else None,
                                        torch.stack(z_l) if z_l else None)


def _kernel_runs(layer: OnlineLayer, p: Any, currents: Tensor) -> bool:
    """Whether :func:`_kernel_block` can run the block: a spiking layer without a refractory
    period (the membrane history then follows from the kernel's record), whose module
    does not ask for the torch loop (``backend="torch"``), and whose call the recurrent
    CPU kernel supports."""
    if not layer.spiking or p.refractory_steps > 0 or currents.device.type != "cpu" or not currents.shape[0]:
        return False
    backend = getattr(layer.module, "backend", None) or getattr(layer.neuron, "backend", "auto")
    if backend == "torch":
        return False
    from ..kernels.recurrent import unsupported_recurrent_reason

    w = layer.recurrent.weight if layer.recurrent is not None else currents.new_zeros((1, 1))
    return unsupported_recurrent_reason("cpu", layer.neuron.model, currents, w, p) is None


def _kernel_block(layer: OnlineLayer, consts: LayerConstants, x: Tensor, currents: Tensor, nstate: Any,
                  z: Tensor | None, *, record: bool) -> tuple[Tensor, Any, Tensor | None, BlockRecord | None]:
    """:func:`forward_block` through the fused recurrent kernel (``W_rec = 0`` for a
    feed-forward layer): the time loop runs compiled instead of as a dozen tensor
    operations per step, and the kernel records ``u_t`` and ``b_{t-1}``. The rest is
    vectorised over the block: ``c_t = W_in x_t + b + W_rec z_{t-1}`` from the spikes,
    ``v_t = u_t - s_t (\vartheta_t - V_\text{reset})`` (``subtract``), ``u_t - s_t (u_t -
    V_\text{reset})`` (``zero``) or ``u_t`` (``none``), so ``v_{t-1}`` too."""
    from ..kernels.recurrent import fused_recurrent_sequence

    p = consts.p
    hidden = layer.hidden
    recurrent = layer.recurrent is not None
    w = layer.recurrent.weight if recurrent else currents.new_zeros((hidden, hidden))
    z0 = z if recurrent else None
    need_history = record or layer.output == "membrane"
    result = fused_recurrent_sequence(layer.neuron.model, currents, w.detach(), nstate, z0, p, "cpu",
                                      history=need_history)
    spikes, new_state, z_end = result[:3]
    z_out = z_end if recurrent else None
    if not need_history:
        return spikes, new_state, z_out, None
    u, b_prev = result[3]
    out = u if layer.output == "membrane" else spikes  # the ALIF-membrane readout's output is u_t
    if not record:
        return out, new_state, z_out, None
    v0 = nstate.v.expand_as(u[0])
    if p.reset == "subtract":
        theta = consts.v_th + consts.beta * b_prev if layer.adaptive else consts.v_th
        v = u - spikes * (theta - consts.v_reset)
    elif p.reset == "zero":
        v = u - spikes * (u - consts.v_reset)
    else:
        v = u
    v_prev = torch.cat([v0[None], v[:-1]])
    cur = currents
    z_prev = None
    if recurrent:
        z_prev = torch.cat([z.expand_as(u[0])[None], spikes[:-1]])
        cur = currents + layer.recurrent(z_prev)
    return out, new_state, z_out, _derivatives(layer, consts, x, spikes, v_prev, cur, b_prev, None, z_prev, u=u)


def _derivatives(layer: OnlineLayer, k: LayerConstants, x: Tensor, s: Tensor, v_prev: Tensor, cur: Tensor,
                 b_prev: Tensor | None, ref_prev: Tensor | None, z_prev: Tensor | None,
                 u: Tensor | None = None) -> BlockRecord:
    """The block's :class:`BlockRecord`; ``u`` (the membrane before the reset) is computed
    from ``v_prev`` and ``cur`` unless given (the kernel records it)."""
    p = k.p
    d = k.d
    if u is None:
        u = k.v_leak + d * (v_prev - k.v_leak) + k.g * cur
    du, gu = d.expand_as(u), k.g.expand_as(u)
    qu_mem = (v_prev - k.v_leak) - k.r * cur
    active = None
    if layer.spiking and p.refractory_steps > 0:
        active = (ref_prev <= 0).to(u.dtype)
        u = torch.where(active > 0, u, v_prev)
        du = active * d + (1 - active)
        gu = active * k.g
        qu_mem = active * qu_mem
    zeros = torch.zeros_like(u)
    if layer.spiking:
        theta = k.v_th + k.beta * b_prev if layer.adaptive else k.v_th.expand_as(u)
        psi = p.surrogate.derivative(u - theta)
        if active is not None:
            psi = psi * active
        inside = 0.0 if p.detach_reset else 1.0
        if p.reset == "subtract":
            ru = 1 - inside * psi * (theta - k.v_reset)
            rb = k.beta * (inside * psi * (theta - k.v_reset) - s)
        elif p.reset == "zero":
            ru = 1 - s - inside * psi * (u - k.v_reset)
            rb = inside * k.beta * psi * (u - k.v_reset)
        else:
            ru, rb = torch.ones_like(u), zeros
    else:
        psi, ru, rb = zeros, torch.ones_like(u), zeros
    qu = [qu_mem if n == "tau_mem" else zeros for n in layer.learn]
    qb = [(b_prev - s) if n == "tau_adp" else zeros for n in layer.learn]
    K, B, H = u.shape
    qu_t = torch.stack(qu, -1) if qu else u.new_zeros((K, B, H, 0))
    qb_t = torch.stack(qb, -1) if qb else u.new_zeros((K, B, H, 0))
    cols = [x]
    if layer.linear.bias is not None:
        cols.append(x.new_ones(x.shape[:-1] + (1,)))
    if z_prev is not None:
        cols.append(z_prev)
    xt = torch.cat(cols, -1) if len(cols) > 1 else x
    jac = psi * gu if layer.output == "spikes" else gu
    return BlockRecord(xt.contiguous(), du.contiguous(), gu.contiguous(), psi.contiguous(), ru.contiguous(),
                       rb.contiguous(), qu_t.contiguous(), qb_t.contiguous(), jac)
