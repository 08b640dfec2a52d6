"""torch.compile of a small SRNN runs and matches eager, forward and backward."""

import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.functional.surrogate import MultiGaussian


def test_compiled_srnn_matches_eager():
    torch.manual_seed(0)
    net = snn.Sequential(
        snn.RecurrentALIF(3, 12, r=20.0, learn_tau_adp=True, surrogate=MultiGaussian()),
        nn.Linear(12, 2),
        snn.LI(learn_tau_mem=True),
    )
    x = torch.rand(8, 2, 3)
    eager, _ = net(x)
    eager.square().sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()

    compiled = torch.compile(net)
    out, _ = compiled(x)
    out.square().sum().backward()
    torch.testing.assert_close(out, eager)
    for p, g in zip(net.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)
