"""fused_sequence's coefficient cache: reused while the parameters are unchanged, rebuilt after any change."""

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.kernels import backend_installed, fused

pytestmark = pytest.mark.skipif(not backend_installed("cpu"), reason="numba is not installed (extra cpu-kernels)")


def _pair(**kw):
    ref, fast = snn.LIF(6, backend="torch", **kw), snn.LIF(6, backend="cpu", **kw)
    fast.load_state_dict(ref.state_dict())
    return ref, fast


def test_cached_coefficients_are_reused_and_follow_in_place_changes():
    ref, fast = _pair(v_threshold=0.7)
    x = torch.rand(20, 3, 6) * 2
    p = fast.neuron_parameters()
    first = fused.cached_coefficients(fast.model, p, x, (6,))
    assert fused.cached_coefficients(fast.model, fast.neuron_parameters(), x, (6,)) is first
    assert torch.equal(fast(x)[0], ref(x)[0])
    for module in (ref, fast):  # in place: the version counter moves
        with torch.no_grad():
            module.v_threshold.mul_(1.5)
    assert torch.equal(fast(x)[0], ref(x)[0])
    for module in (ref, fast):  # new storage behind the same tensor object
        module.tau_mem.data = torch.full((6,), 4e-3)
    assert torch.equal(fast(x)[0], ref(x)[0])
    assert fused.cached_coefficients(fast.model, fast.neuron_parameters(), x, (6,)) is not first
    assert fused.cached_coefficients(fast.model, fast.neuron_parameters(), x.double(), (6,)).dtype == torch.float64


def test_learnable_parameters_are_never_cached():
    lif = snn.LIF(6, backend="cpu", learn_v_threshold=True)
    p = lif.neuron_parameters()
    x = torch.rand(5, 2, 6)
    a = fused.cached_coefficients(lif.model, p, x, (6,))
    assert a.requires_grad and fused.cached_coefficients(lif.model, p, x, (6,)) is not a


def test_cache_stays_bounded():
    x = torch.rand(3, 1, 2)
    for k in range(fused.COEFFICIENT_CACHE_SIZE + 10):
        lif = snn.LIF(2, backend="cpu", v_threshold=0.5 + k * 1e-3)
        fused.cached_coefficients(lif.model, lif.neuron_parameters(), x, (2,))
    assert len(fused._COEFFICIENT_CACHE) <= fused.COEFFICIENT_CACHE_SIZE
