"""The eager path: the kernels' implementation called without the custom op."""

import pytest
import torch
from torch._subclasses.fake_tensor import FakeTensorMode

import spikeforge.nn as snn
from spikeforge.kernels import backend_installed, eager, ops, recurrent_ops
from spikeforge.kernels.spec import RESET_IDS

pytestmark = pytest.mark.skipif(not backend_installed("cpu"), reason="numba is not installed (extra cpu-kernels)")


def _args(dtype=torch.float64):
    torch.manual_seed(0)
    t, b, n = 7, 3, 5
    x = torch.rand(t, b, n, dtype=dtype) * 3
    states = [torch.rand(b, n, dtype=dtype) * 0.5 for _ in range(3)] + [torch.zeros(b, n, dtype=dtype)]
    coef = torch.tensor([0.9, 0.1, 0.0, 0.5, 0.0, 0.8, 1.5, 0.95, 0.05], dtype=dtype)[:, None].expand(9, n).clone()
    config = (1, RESET_IDS["subtract"], 0, 1, 1, 2, [3.0, 0.0, 0.0, 0.0], 0, "cpu")
    return x, states, coef, config


def _run(forward, x, states, coef, config):
    leaves = [t.clone().requires_grad_() for t in (x, *states[:3], coef)]
    out = forward(leaves[0], *leaves[1:4], states[3], leaves[4], *config)
    loss = (out[0] * torch.linspace(-1, 1, out[0].numel(), dtype=x.dtype).view_as(out[0])).sum()
    loss = loss + out[1].sum() + 2 * out[2].sum() + 3 * out[3].sum()
    loss.backward()
    return out, [t.grad for t in leaves], out[0].grad_fn


def test_eager_path_equals_the_custom_op():
    args = _args()
    out_op, grads_op, fn_op = _run(ops.glif_forward, *args)
    out_eager, grads_eager, fn_eager = _run(ops.forward, *args)
    assert "GlifForward" in type(fn_eager).__name__ and "GlifForward" not in type(fn_op).__name__
    for a, b in zip(out_op[:5], out_eager[:5]):
        assert torch.equal(a, b)
    for a, b in zip(grads_op, grads_eager):
        assert torch.equal(a, b)


def test_eager_path_is_used_by_the_modules_and_not_under_fake_tensors():
    lif = snn.LIF(4, backend="cpu")
    out, _ = lif(torch.rand(5, 2, 4, requires_grad=True))
    assert "GlifForward" in type(out.grad_fn.next_functions[0][0]).__name__ + type(out.grad_fn).__name__
    x, states, coef, config = _args()
    with FakeTensorMode() as mode:
        fake = [mode.from_tensor(t) for t in (x, *states, coef)]
        assert not eager.eager_ok(tuple(fake))
        out = ops.forward(*fake, *config)  # the custom op, whose fake implementation gives the shapes
        assert out[0].shape == x.shape and out[1].shape == states[0].shape
    assert eager.eager_ok((torch.rand(2),))
    assert not eager.eager_ok((torch.rand(2), torch.nn.Parameter(torch.rand(2)).data.as_subclass(_Sub)))


class _Sub(torch.Tensor):
    pass


def test_eager_path_refuses_double_backward():
    x = torch.rand(6, 2, 3, requires_grad=True)
    out, _ = snn.LIF(3, backend="cpu")(x * 3)
    (g,) = torch.autograd.grad(out.sum(), x, create_graph=True)
    with pytest.raises(RuntimeError, match="double backward|once_differentiable|does not require grad"):
        g.sum().backward()


def test_recurrent_eager_path_equals_the_custom_op():
    torch.manual_seed(1)
    t, b, h = 9, 2, 6
    x = torch.rand(t, b, h, dtype=torch.float64) * 2
    w = torch.randn(h, h, dtype=torch.float64) * 0.3
    zeros = torch.zeros(b, h, dtype=torch.float64)
    coef = torch.tensor([0.9, 0.1, 0.0, 0.6, 0.0, 0.0, 1.2, 0.9, 0.1], dtype=torch.float64)[:, None].expand(9, h)
    config = (0, RESET_IDS["subtract"], 0, 0, 1, 0, [2.0, 0.0, 0.0, 0.0], 1, "cpu")
    results = []
    for forward in (recurrent_ops.recurrent_glif_forward, recurrent_ops.forward):
        xs, ws, cs = (v.clone().requires_grad_() for v in (x, w, coef.clone()))
        out = forward(xs, ws, zeros, zeros, zeros, zeros, zeros, cs, *config)
        (out[0] * torch.arange(out[0].numel(), dtype=x.dtype).view_as(out[0]).sin()).sum().backward()
        results.append((out[0], xs.grad, ws.grad, cs.grad, type(out[0].grad_fn).__name__))
    (o1, gx1, gw1, gc1, n1), (o2, gx2, gw2, gc2, n2) = results
    assert "RecurrentGlifForward" in n2 and "RecurrentGlifForward" not in n1
    assert torch.equal(o1, o2) and torch.equal(gx1, gx2) and torch.equal(gw1, gw2) and torch.equal(gc1, gc2)
