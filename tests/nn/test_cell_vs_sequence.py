"""Looping XCell over time gives exactly what X gives, forward and backward."""

import itertools

import pytest
import torch

from spikeforge.functional.surrogate import ATan, MultiGaussian

from ._models import PAIRS, SPIKING, learn_all

CASES = [
    (name, reset, refrac, detach)
    for name in SPIKING
    for reset, refrac, detach in itertools.product(("subtract", "zero", "none"), (0, 2), (True, False))
] + [("li", None, None, None)]


def _kwargs(name, reset, refrac, detach):
    cell_cls, _ = PAIRS[name]
    kw = dict(learn_all(cell_cls), dtype=torch.float64)
    if name != "if":
        kw["tau_mem"] = torch.linspace(4e-3, 30e-3, 6)
    if name != "li":
        kw.update(reset=reset, refractory_steps=refrac, detach_reset=detach, surrogate=ATan(alpha=3.0),
                  v_threshold=0.6)
    if name == "alif":
        kw.update(beta=1.5, tau_adp=50e-3, surrogate=MultiGaussian())
    return kw


@pytest.mark.parametrize("name,reset,refrac,detach", CASES)
def test_cell_loop_equals_sequence(name, reset, refrac, detach):
    """The reference path; the fused kernels are compared with it in tests/kernels."""
    torch.manual_seed(0)
    cell_cls, seq_cls = PAIRS[name]
    kw = _kwargs(name, reset, refrac, detach)
    cell, seq = cell_cls(6, **kw), seq_cls(6, backend="torch", **kw)
    seq.load_state_dict(cell.state_dict())

    x = (torch.rand(40, 3, 6, dtype=torch.float64) * 2.5).requires_grad_()
    out_seq, state_seq = seq(x)

    x2 = x.detach().clone().requires_grad_()
    state, outs = None, []
    for t in range(x2.shape[0]):
        o, state = cell(x2[t], state)
        outs.append(o)
    out_cell = torch.stack(outs)

    assert torch.equal(out_seq, out_cell)
    for a, b in zip(state_seq, state):
        assert torch.equal(a, b)
    if name != "li":
        assert 0 < out_seq.mean() < 1, "the test input should make the neurons fire sometimes"

    weights = torch.randn_like(out_seq)
    (out_seq * weights).sum().backward()
    (out_cell * weights).sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-10, atol=1e-12)
    for (n, p_seq), (_, p_cell) in zip(seq.named_parameters(), cell.named_parameters()):
        if n == "v_reset" and reset == "none" and name != "if":
            unused = lambda g: g is None or not g.any()  # noqa: E731  (v_reset is unused without a reset)
            assert unused(p_seq.grad) and unused(p_cell.grad)
            continue
        assert p_seq.grad is not None and p_seq.grad.abs().sum() > 0, n
        torch.testing.assert_close(p_seq.grad, p_cell.grad, rtol=1e-9, atol=1e-12, msg=n)


@pytest.mark.parametrize("name", list(PAIRS))
def test_state_carries_across_calls(name):
    """Two halves with the state passed on equal one whole sequence."""
    _, seq_cls = PAIRS[name]
    seq = seq_cls(5, dtype=torch.float64)
    x = torch.rand(30, 2, 5, dtype=torch.float64) * 3
    whole, s_whole = seq(x)
    first, s = seq(x[:12])
    second, s = seq(x[12:], s)
    assert torch.equal(torch.cat([first, second]), whole)
    for a, b in zip(s, s_whole):
        assert torch.equal(a, b)
