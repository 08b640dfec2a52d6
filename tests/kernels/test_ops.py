"""The custom ops: opcheck, torch.compile through them."""

import pytest
import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.kernels import backend_installed, ops
from spikeforge.kernels.spec import RESET_IDS

pytestmark = pytest.mark.skipif(not backend_installed("cpu"), reason="numba is not installed (extra cpu-kernels)")


def _args(save, has_syn=0, has_adapt=0, dtype=torch.float64):
    torch.manual_seed(0)
    t, b, n = 6, 2, 5
    x = torch.rand(t, b, n, dtype=dtype, requires_grad=True) * 3
    states = [torch.zeros(b, n, dtype=dtype, requires_grad=k < 3) for k in range(4)]
    coef = torch.tensor([0.9, 0.1, 0.0, 0.5, 0.0, 0.8, 1.5, 0.95, 0.05], dtype=dtype)
    coef = coef[:, None].expand(9, n).clone().requires_grad_()
    return (x.detach().requires_grad_(), *states, coef, 1, RESET_IDS["subtract"], 1, has_syn, has_adapt,
            2, [3.0, 0.0, 0.0, 0.0], save, "cpu")


# feature sets of real models only (each set is one more compiled kernel; none has both)
@pytest.mark.parametrize("save,has_syn,has_adapt", [(1, 0, 0), (0, 1, 0), (1, 0, 1), (0, 0, 1)])
def test_opcheck_forward(save, has_syn, has_adapt):
    args = _args(save, has_syn, has_adapt)
    torch.library.opcheck(ops.glif_forward, args)


def test_compiled_network_with_kernels_matches_eager():
    torch.manual_seed(0)
    net = snn.Sequential(nn.Linear(4, 16), snn.ALIF(16, learn_tau_adp=True, backend="cpu"),
                         nn.Linear(16, 3), snn.CubaLIF(3, backend="cpu"))
    x = torch.rand(10, 2, 4) * 3
    eager, _ = net(x)
    (eager * torch.arange(3.0)).sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    compiled = torch.compile(net, fullgraph=True)
    out, _ = compiled(x)
    (out * torch.arange(3.0)).sum().backward()
    assert torch.equal(out, eager)
    for p, g in zip(net.parameters(), grads):
        torch.testing.assert_close(p.grad, g)


@pytest.mark.parametrize("stored,has_syn,has_adapt", [(True, 1, 0), (False, 0, 1)])
def test_opcheck_backward(stored, has_syn, has_adapt):
    args = _args(int(stored), has_syn=has_syn, has_adapt=has_adapt)
    x, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend = args
    with torch.no_grad():
        out, *_, u, ih, bh = ops.glif_forward(*args)
    grads = [torch.randn_like(out)] + [torch.randn_like(v0) for _ in range(3)]
    torch.library.opcheck(
        ops.glif_backward,
        (*grads, x.detach(), out, v0.detach(), i0.detach(), b0.detach(), r0, coef.detach(), u, ih, bh,
         nref, reset, detach, has_syn, has_adapt, sid, sp, 1, backend),
    )
