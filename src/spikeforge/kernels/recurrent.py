"""Run a recurrent layer's time loop (the SRNN layer) through the fused recurrent kernel op.

The layer's input currents ``[T, B, H]`` (its input projection, applied to all steps
at once) and its recurrent weight ``W_rec [H, H]`` go into
``spikeforge::recurrent_glif_forward`` (:mod:`.recurrent_ops`), which adds
``W_rec z_{t-1}`` inside the time loop. The neuron model's parameters become the
``[9, H]`` coefficients exactly as for the feed-forward kernels (:mod:`.fused`).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..functional.model import NeuronModel
from . import recurrent_ops
from .fused import cached_coefficients
from .spec import RESET_IDS, surrogate_id, surrogate_params

RECURRENT_BACKENDS = ("auto", "torch", "cpu")


def unsupported_recurrent_reason(
    backend: str, model: NeuronModel, currents: Tensor, w_rec: Tensor, p: Any
) -> str | None:
    """Why the recurrent kernel of ``backend`` cannot run this call, or ``None`` when it can."""
    from .registry import unsupported_reason

    if backend == "torch":
        return None
    if backend != "cpu":
        return f"no recurrent kernel for backend {backend!r}; use 'cpu', 'torch' or 'auto'"
    reason = unsupported_reason(backend, model, currents, p)
    if reason is not None:
        return reason
    if w_rec.dtype != currents.dtype or w_rec.device != currents.device:
        return (f"the recurrent weight ({w_rec.dtype} on {w_rec.device}) must match the input currents "
                f"({currents.dtype} on {currents.device})")
    return None


def resolve_recurrent(backend: str, model: NeuronModel, currents: Tensor, w_rec: Tensor, p: Any) -> str:
    """The backend that runs the layer: ``"cpu"`` or ``"torch"``.

    ``"auto"`` takes the CPU kernel for CPU tensors when numba is installed and the call
    is supported, else the torch loop (always for CUDA tensors). A backend named
    explicitly runs or raises: ``ImportError`` when its package is missing,
    ``ValueError`` with the reason otherwise.
    """
    if backend not in RECURRENT_BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, RECURRENT_BACKENDS))}; got {backend!r}")
    if backend == "auto":
        if currents.device.type != "cpu":
            return "torch"
        return "cpu" if unsupported_recurrent_reason("cpu", model, currents, w_rec, p) is None else "torch"
    reason = unsupported_recurrent_reason(backend, model, currents, w_rec, p)
    if reason is not None:
        from .registry import backend_installed

        raise (ImportError if not backend_installed(backend) else ValueError)(reason)
    return backend


def fused_recurrent_sequence(
    model: NeuronModel,
    currents: Tensor,
    w_rec: Tensor,
    neuron_state: Any,
    z0: Tensor | None,
    p: Any,
    backend: str = "cpu",
    recompute: bool = False,
    history: bool = False,
) -> tuple:
    """The recurrent layer's loop through the kernel op.

    Args:
        model: the neuron model (``lif``, ``if``, ``cuba_lif`` or ``alif``).
        currents: the input currents ``[T, B, H]`` (``W_in x_t + b``).
        w_rec: ``W_rec [H, H]``; step ``t`` adds ``W_rec z_{t-1}``.
        neuron_state: the model's state tuple (``[B, H]`` fields), or ``None`` for rest.
        z0: the spikes before the first step ``[B, H]`` (``None``: zeros).
        p: the model's parameter tuple.
        backend: the kernel backend (``"cpu"``).
        recompute: recompute the membrane history in backward instead of storing it.

    Returns:
        ``(spikes [T, B, H], final neuron state, last spikes [B, H])``; with
        ``history=True`` also ``(u [T, B, H], b_prev [T, B, H] or None)``: the membrane
        before the reset and, for ALIF, the adaptation before each step's update (what
        the online rules record; stored even without gradients).
    """
    steps, batch, hidden = currents.shape
    shape = (hidden,)
    flat = lambda t: t.expand(batch, hidden).contiguous()  # noqa: E731
    zeros = currents.new_zeros((batch, hidden))
    if neuron_state is None:
        neuron_state = model.init_state(zeros, p)
    z0 = zeros if z0 is None else flat(z0)
    v0 = flat(neuron_state.v)
    i0 = flat(neuron_state.i) if model.name == "cuba_lif" else zeros
    b0 = flat(neuron_state.b) if model.name == "alif" else zeros
    r0 = flat(neuron_state.refrac)
    coef = cached_coefficients(model, p, currents, shape)
    w = w_rec.contiguous()
    x = currents.contiguous()
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in (x, w, z0, v0, i0, b0, coef))
    save = (2 if recompute else 1) if needs_grad else 0
    if history:
        save = 1
    out, v, i, b, r, u_hist, _, b_hist = recurrent_ops.forward(
        x, w, z0, v0, i0, b0, r0, coef,
        p.refractory_steps, RESET_IDS[p.reset], int(p.detach_reset),
        int(model.name == "cuba_lif"), int(model.name == "alif"),
        surrogate_id(p.surrogate), surrogate_params(p.surrogate), save, backend,
    )
    fields = {"v": v, "i": i, "b": b, "refrac": r}
    new_state = model.state(**{name: fields[name] for name in model.state._fields})
    z_end = out[-1] if steps > 0 else z0
    if history:
        return out, new_state, z_end, (u_hist, b_hist if model.name == "alif" else None)
    return out, new_state, z_end
