"""The ALIF membrane readout's hand-written backward equals autograd through the reference loop."""

import pytest
import torch

from spikeforge.functional.alif import ALIFState
from spikeforge.functional.surrogate import ATan, MultiGaussian
from spikeforge.models._readout import ALIFMembrane


def _readout(surrogate, size=5, detach_reset=True):
    torch.manual_seed(3)
    readout = ALIFMembrane(size, tau_mem=torch.rand(size) * 20e-3 + 5e-3, tau_adp=torch.rand(size) * 0.2 + 0.05,
                           beta=1.8, v_threshold=0.3, v_leak=0.05, r=1.3, detach_reset=detach_reset,
                           learn_tau_mem=True,
                           learn_tau_adp=True, surrogate=surrogate, learn_v_threshold=True, learn_r=True,
                           learn_v_leak=True)
    return readout.double()


@pytest.mark.parametrize("detach_reset", [True, False], ids=["detached-reset", "differentiable-reset"])
@pytest.mark.parametrize("surrogate", [MultiGaussian(), ATan()], ids=["multi-gaussian", "atan"])
def test_scan_matches_autograd_through_the_loop_in_float64(surrogate, detach_reset):
    readout = _readout(surrogate, detach_reset=detach_reset)
    assert ALIFMembrane.scan_applies(readout.neuron.neuron_parameters())
    x = (torch.rand(60, 3, 5, dtype=torch.float64) * 1.5).requires_grad_()
    state = ALIFState(torch.rand(3, 5, dtype=torch.float64) * 0.2, torch.rand(3, 5, dtype=torch.float64) * 0.1,
                      torch.zeros(3, 5, dtype=torch.float64))
    g_u, g_v, g_b = torch.randn(60, 3, 5, dtype=torch.float64), torch.randn(3, 5, dtype=torch.float64), \
        torch.randn(3, 5, dtype=torch.float64)
    results = []
    for run in (readout, lambda x_, s_: readout.reference(x_, s_)):
        readout.zero_grad()
        x.grad = None
        u, final = run(x, state)
        ((u * g_u).sum() + (final.v * g_v).sum() + (final.b * g_b).sum()).backward()
        results.append((u.detach(), final, x.grad.clone(), {n: p.grad.clone() for n, p in readout.named_parameters()}))
    (u1, f1, gx1, gp1), (u2, f2, gx2, gp2) = results
    assert u1.abs().max() > 0.5, "the neurons must spike for the test to mean anything"
    torch.testing.assert_close(u1, u2, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f1.v, f2.v.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(f1.b, f2.b.detach(), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(gx1, gx2, rtol=1e-9, atol=1e-10)
    assert set(gp1) == set(gp2) and len(gp1) >= 5
    for name in gp1:
        torch.testing.assert_close(gp1[name], gp2[name], rtol=1e-9, atol=1e-10, msg=name)


def test_state_gradients_reach_the_initial_state():
    readout = _readout(MultiGaussian(), size=2)
    v0 = torch.full((1, 2), 0.1, dtype=torch.float64, requires_grad=True)
    b0 = torch.full((1, 2), 0.2, dtype=torch.float64, requires_grad=True)
    x = torch.rand(20, 1, 2, dtype=torch.float64)
    grads = []
    for run in (readout, lambda x_, s_: readout.reference(x_, s_)):
        u, _ = run(x, ALIFState(v0, b0, torch.zeros(1, 2, dtype=torch.float64)))
        grads.append(torch.autograd.grad(u.sum(), (v0, b0)))
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_other_resets_take_the_reference_loop():
    readout = ALIFMembrane(3, reset="zero")
    assert not ALIFMembrane.scan_applies(readout.neuron.neuron_parameters())
    u, _ = readout(torch.rand(5, 2, 3))
    assert u.shape == (5, 2, 3)
