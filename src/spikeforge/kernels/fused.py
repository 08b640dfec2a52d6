"""Run a neuron model's whole sequence through the fused kernel op.

Maps each model's parameters onto the per-neuron coefficients of
:mod:`spikeforge.kernels.spec` (in plain torch, so autograd reaches ``tau_mem``, ``r``
and the rest) and its state onto the kernel's ``(v, i, b, refrac)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from .._validation import check_finite
from ..functional.model import NeuronModel
from ..functional.threshold import decay_factor
from . import ops
from .spec import RESET_IDS, surrogate_id, surrogate_params


def _per_neuron(value: Any, like: Tensor, neuron_shape: tuple[int, ...]) -> Tensor:
    t = torch.as_tensor(value, dtype=like.dtype, device=like.device)
    return t.expand(neuron_shape).reshape(-1)


def kernel_coefficients(model: NeuronModel, p: Any, like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """The ``[9, N]`` coefficients of ``spec.COEFFICIENTS``.

    Python floats stay Python floats until the end, so every coefficient is rounded
    exactly as the reference rounds it (which is what makes the spikes bit-identical).
    """
    if model.name == "if":
        d, g, leak = 1.0, p.r, 0.0
    else:
        d = decay_factor(p.tau_mem, p.dt, p.method)
        g, leak = (1 - d) * p.r, p.v_leak
    d_syn = decay_factor(p.tau_syn, p.dt, p.method) if model.name == "cuba_lif" else 0.0
    if model.name == "alif":
        beta, rho = p.beta, decay_factor(p.tau_adp, p.dt, p.method)
    else:
        beta, rho = 0.0, 0.0
    values = (d, g, leak, p.v_threshold, p.v_reset, d_syn, beta, rho, 1 - rho)
    return torch.stack([_per_neuron(c, like, shape) for c in values])


_COEFFICIENT_CACHE: dict = {}  # key -> (the parameter values, kept alive so that their ids stay theirs; coefficients)
COEFFICIENT_CACHE_SIZE = 64


def cached_coefficients(model: NeuronModel, p: Any, like: Tensor, shape: tuple[int, ...]) -> Tensor:
    """:func:`kernel_coefficients`, reused while the parameters are unchanged.

    A layer whose parameters are buffers or floats (nothing learnable) has the same
    coefficients at every call; building them is a dozen small tensor operations (about
    0.15 ms, as much as launching the kernel of a small layer). The key holds each
    parameter tensor's identity, storage address and version counter (which every
    in-place change bumps), the floats, and the dtype, device and shape asked for; the
    cache keeps the tensors alive, so an identity is never reused by another tensor
    while its entry exists. Learnable parameters (anything that requires grad), tensor
    subclasses and compiled code always rebuild.
    """
    values = tuple(getattr(p, name) for name in model.continuous)
    if torch.compiler.is_compiling() or any(
        isinstance(v, Tensor) and (v.requires_grad or type(v) is not Tensor) for v in values
    ):
        return kernel_coefficients(model, p, like, shape)
    key = (model.name, like.dtype, like.device, shape, p.dt, getattr(p, "method", None),
           tuple((id(v), v.data_ptr(), v._version) if isinstance(v, Tensor) else v for v in values))
    hit = _COEFFICIENT_CACHE.get(key)
    if hit is not None:
        return hit[1]
    coef = kernel_coefficients(model, p, like, shape)
    if len(_COEFFICIENT_CACHE) >= COEFFICIENT_CACHE_SIZE:
        _COEFFICIENT_CACHE.pop(next(iter(_COEFFICIENT_CACHE)))
    _COEFFICIENT_CACHE[key] = (values, coef)
    return coef


def fused_sequence(model: NeuronModel, x: Tensor, state: Any, p: Any, backend: str, recompute: bool = False):
    """``model.sequence`` through the kernel op. ``x`` is ``[T, B, *neuron_shape]``.

    A NaN or Inf in ``x`` raises ``ValueError``, as on the reference path, but without
    a pass over ``x`` of its own: a non-finite input leaves the neuron's final membrane
    (or synaptic current) non-finite, so only then is ``x`` itself checked. A
    refractory neuron ignores its input, which can hide a NaN from the state; with a
    refractory period ``x`` is checked up front.
    """
    if p.refractory_steps > 0:
        check_finite(x, "input")
    steps, batch, shape = x.shape[0], x.shape[1], tuple(x.shape[2:])
    n = math.prod(shape)
    channels_last = _is_channels_last(x)
    if channels_last:  # walk the neurons in memory order, [H, W, C]: no copy in, none out
        x = x.permute(0, 1, 3, 4, 2)
    flat = lambda t: _in_memory_order(t.expand(batch, *shape), channels_last).reshape(batch, n).contiguous()  # noqa: E731
    if state is None:
        state = model.init_state(x.new_zeros((batch, *shape)), p)
    zeros = x.new_zeros((batch, n))
    v0 = flat(state.v)
    i0 = flat(state.i) if model.name == "cuba_lif" else zeros
    b0 = flat(state.b) if model.name == "alif" else zeros
    r0 = flat(state.refrac)
    coef = cached_coefficients(model, p, x, shape)
    if channels_last:
        coef = _in_memory_order(coef.reshape(-1, *shape), True).reshape(coef.shape)
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (x, v0, i0, b0, coef))
    save = int(needs_grad and not recompute)
    out, v, i, b, r, *_ = ops.forward(
        x.reshape(steps, batch, n).contiguous(), v0, i0, b0, r0, coef,
        p.refractory_steps, RESET_IDS[p.reset], int(p.detach_reset),
        int(model.name == "cuba_lif"), int(model.name == "alif"),
        surrogate_id(p.surrogate), surrogate_params(p.surrogate), save, backend,
    )
    if p.refractory_steps == 0 and not _all_finite(v, i if model.name == "cuba_lif" else None):
        check_finite(x, "input")  # raises if x is to blame; otherwise the state overflowed, as it would in the reference
    if channels_last:
        c, h, w = shape
        unflat = lambda t: t.reshape(batch, h, w, c).permute(0, 3, 1, 2)  # noqa: E731
        out = out.reshape(steps, batch, h, w, c).permute(0, 1, 4, 2, 3)
    else:
        unflat = lambda t: t.reshape(batch, *shape)  # noqa: E731
        out = out.reshape(x.shape)
    fields = {"v": unflat(v), "i": unflat(i), "b": unflat(b), "refrac": unflat(r)}
    new_state = model.state(**{name: fields[name] for name in model.state._fields})
    return out, new_state


def _is_channels_last(x: Tensor) -> bool:
    """Whether ``x [T, B, C, H, W]`` lies in memory as ``[T, B, H, W, C]`` (what a
    channels-last convolution hands over): the neurons are then walked in that order,
    and the spikes come back in the same layout, so neither side pays a copy."""
    if x.dim() != 5 or x.shape[0] == 0 or x.shape[2] == 1:
        return False
    step = x[0]  # one step; the steps may also be one image broadcast over time (stride 0)
    return not step.is_contiguous() and step.permute(0, 2, 3, 1).is_contiguous()


def _in_memory_order(t: Tensor, channels_last: bool) -> Tensor:
    """``t [..., C, H, W]`` as ``[..., H, W, C]`` when the input is channels-last."""
    return t.movedim(-3, -1) if channels_last else t


def _all_finite(*tensors: Tensor | None) -> bool:
    """Whether every value is finite, from one sum per tensor (a NaN or Inf in a tensor
    makes its sum non-finite; a sum that overflows from finite values says "not finite"
    wrongly, which costs only the check of ``x`` that follows). Ten times cheaper than
    ``isfinite(t).all()``, which writes a mask as large as ``t``."""
    if torch.compiler.is_compiling():
        return True
    return all(math.isfinite(float(t.detach().sum())) for t in tensors if t is not None and t.numel())
