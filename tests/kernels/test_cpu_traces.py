"""kernels.cpu.traces: the fused eligibility-trace kernel equals the torch recursion."""

from __future__ import annotations

import itertools

import pytest
import torch

pytest.importorskip("numba")

from spikeforge.learning import _traces  # noqa: E402
from spikeforge.learning._online import BlockRecord  # noqa: E402
from spikeforge.learning._traces import LayerTrace  # noqa: E402


class _Layer:
    def __init__(self, output: str, spiking: bool) -> None:
        self.output, self.spiking = output, spiking


class _Consts:
    def __init__(self, beta, rho) -> None:
        self.beta, self.rho = beta, rho


def _block(K, B, H, P, E, adaptive, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    r = lambda *s: torch.rand(*s, generator=g, dtype=dtype)  # noqa: E731
    rec = BlockRecord(xt=(r(K, B, P) < 0.3).to(dtype) + r(K, B, P) * 0.1, du=r(K, B, H), gu=r(K, B, H),
                      psi=r(K, B, H), ru=1 - 0.3 * r(K, B, H), rb=-0.2 * r(K, B, H) if adaptive else torch.zeros(K, B, H, dtype=dtype),
                      qu=r(K, B, H, E) - 0.5, qb=r(K, B, H, E) - 0.5 if adaptive else torch.zeros(K, B, H, E, dtype=dtype),
                      jac=r(K, B, H))
    beta = r(H) * 2 if adaptive else torch.zeros(H, dtype=dtype)
    rho = 0.8 + 0.1 * r(H) if adaptive else torch.zeros(H, dtype=dtype)
    Q = P + E
    tr = LayerTrace(r(B, H, Q) - 0.5, (r(B, H, Q) - 0.5) if adaptive else None, r(B, H, Q) - 0.5,
                    torch.zeros(H, dtype=dtype), 0)
    return rec, _Consts(beta, rho), tr, r(K, B, H) - 0.5, r(K, B, H) - 0.5


CASES = list(itertools.product(["spikes", "membrane"], [False, True], [False, True], [0, 2],
                               [(True, False), (False, True), (True, True)]))


@pytest.mark.parametrize("output, adaptive, filtered, E, signals", CASES)
def test_kernel_equals_the_torch_recursion(output, adaptive, filtered, E, signals):
    dtype = torch.float64
    K, B, H, P = 7, 3, 5, 6
    rec, consts, tr, signal, raw = _block(K, B, H, P, E, adaptive, dtype, seed=len(output) + 10 * E + adaptive)
    if not filtered:
        tr = tr._replace(filt=None)
    layer = _Layer(output, spiking=output == "spikes" or adaptive)
    kappa = torch.tensor(0.9, dtype=dtype)
    args = (signal if signals[0] else None, raw if signals[1] else None, kappa)
    g_ref = torch.rand(H, P + E, dtype=dtype)
    g_ker = g_ref.clone()
    ref = _traces.trace_block_reference(layer, consts, rec, tr, *args, g_ref)
    ker = _traces._trace_block_fused(layer, consts, rec, tr, *args, g_ker)
    torch.testing.assert_close(g_ker, g_ref, rtol=1e-12, atol=1e-12)
    for a, b in zip(ker[:3], ref[:3]):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    assert g_ker.abs().sum() > 0


def test_kernel_leaves_the_state_it_was_given_alone_and_matches_in_float32():
    rec, consts, tr, signal, raw = _block(20, 4, 9, 12, 1, True, torch.float32, seed=3)
    before = [t.clone() for t in tr[:3]]
    g_ref, g_ker = torch.zeros(9, 13), torch.zeros(9, 13)
    layer = _Layer("spikes", True)
    ref = _traces.trace_block_reference(layer, consts, rec, tr, signal, None, torch.tensor(0.8), g_ref)
    ker = _traces._trace_block_fused(layer, consts, rec, tr, signal, None, torch.tensor(0.8), g_ker)
    for a, b in zip(tr[:3], before):
        assert torch.equal(a, b)
    torch.testing.assert_close(g_ker, g_ref, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(ker.ev, ref.ev, rtol=1e-5, atol=1e-6)


def test_kernel_splits_neurons_across_tasks(monkeypatch):
    """Several tasks (each with its own neurons' rows of the update) give the one-task result."""
    import spikeforge.kernels.cpu.threads as threads

    rec, consts, tr, signal, raw = _block(10, 2, 7, 4, 1, True, torch.float64, seed=5)
    layer = _Layer("spikes", True)
    g_one, g_three = torch.zeros(7, 5, dtype=torch.float64), torch.zeros(7, 5, dtype=torch.float64)
    _traces._trace_block_fused(layer, consts, rec, tr, signal, raw, torch.tensor(0.5, dtype=torch.float64), g_one)
    monkeypatch.setattr(threads, "thread_count", lambda work, pieces, serial_below=0: 3)
    _traces._trace_block_fused(layer, consts, rec, tr, signal, raw, torch.tensor(0.5, dtype=torch.float64), g_three)
    torch.testing.assert_close(g_three, g_one, rtol=1e-12, atol=0)
