"""Compare a fused backend with the plain-torch reference, forward and backward."""

from __future__ import annotations

import torch

import spikeforge.nn as snn

MODELS = {"lif": snn.LIF, "if": snn.IF, "cuba_lif": snn.CubaLIF, "alif": snn.ALIF}


def build_pair(name: str, backend: str, size, *, dtype=torch.float64, recompute=False, learnable=True, **kw):
    """The same module twice: on the reference path and on ``backend``, all parameters
    learnable (or none, with ``learnable=False``)."""
    cls = MODELS[name]
    learn = {f"learn_{n}": True for n in cls.model.continuous} if learnable else {}
    ref = cls(size, backend="torch", dtype=dtype, **learn, **kw)
    fused = cls(size, backend=backend, recompute=recompute, dtype=dtype, **learn, **kw)
    fused.load_state_dict(ref.state_dict())
    with torch.no_grad():  # distinct per-neuron values so a wrong neuron index shows
        for p in list(ref.parameters()):
            p.add_(torch.rand_like(p) * 0.05)
        fused.load_state_dict(ref.state_dict())
    return ref, fused


def assert_parity(ref, fused, x, state=None, *, rtol=1e-4):
    """Spikes equal, states close, gradients of input, state and parameters close."""
    x1 = x.detach().clone().requires_grad_()
    x2 = x.detach().clone().requires_grad_()
    s1 = s2 = None
    if state is not None:
        s1 = type(state)(*(t.detach().clone().requires_grad_() for t in state))
        s2 = type(state)(*(t.detach().clone().requires_grad_() for t in state))
    out1, st1 = ref(x1, s1)
    out2, st2 = fused(x2, s2)
    assert torch.equal(out1, out2), "spikes differ from the reference"
    for name, a, b in zip(st1._fields, st1, st2):
        torch.testing.assert_close(b, a, rtol=1e-5, atol=1e-6, msg=f"final state {name}")
    g = torch.randn_like(out1)
    loss1 = (out1 * g).sum() + sum((t * (k + 1)).sum() for k, t in enumerate(st1) if t.is_floating_point())
    loss2 = (out2 * g).sum() + sum((t * (k + 1)).sum() for k, t in enumerate(st2) if t.is_floating_point())
    loss1.backward()
    loss2.backward()
    scale = lambda t: t.abs().max().clamp(min=1.0)  # noqa: E731
    torch.testing.assert_close(x2.grad, x1.grad, rtol=rtol, atol=rtol * scale(x1.grad), msg="input gradient")
    if state is not None:
        for name, a, b in zip(state._fields, s1, s2):
            if name == "refrac":
                continue
            torch.testing.assert_close(b.grad, a.grad, rtol=rtol, atol=rtol * scale(a.grad), msg=f"state {name}")
    for (name, a), (_, b) in zip(ref.named_parameters(), fused.named_parameters()):
        if a.grad is None:
            assert b.grad is None or not b.grad.any(), name
            continue
        torch.testing.assert_close(b.grad, a.grad, rtol=rtol, atol=rtol * scale(a.grad), msg=f"parameter {name}")
    return out1
