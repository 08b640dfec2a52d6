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


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """``x [T, B, C, H, W]`` with the memory layout a channels-last convolution gives."""
    return x.permute(0, 1, 3, 4, 2).contiguous().permute(0, 1, 4, 2, 3)


@pytest.mark.parametrize("layer", ["LIF", "ALIF", "CubaLIF"])
def test_channels_last_input_gives_the_same_values_and_keeps_its_layout(layer):
    torch.manual_seed(0)
    shape = (5, 4, 6)  # C, H, W: per-neuron, learnable time constants
    x = torch.randn(2, 7, 3, *shape) * 2  # two chunks: the second starts from the first's state
    tau_mem = torch.rand(shape) * 20e-3 + 5e-3
    results = []
    for layout in (lambda t: t, _channels_last):
        m = getattr(snn, layer)(shape, tau_mem=tau_mem, learn_tau_mem=True,
                                refractory_steps=1, backend="cpu")
        first = layout(x[0].clone()).requires_grad_(True)
        second = layout(x[1].clone()).requires_grad_(True)
        out1, state = m(first)
        out2, last = m(second, state)
        out = torch.cat([out1, out2])
        (out * torch.linspace(-1, 1, out.numel()).reshape(out.shape)).sum().backward()
        results.append((out1, out2, last.v, first.grad, second.grad, m.log_tau_mem.grad))
    plain, strided = results
    assert not _channels_last(x[0]).is_contiguous()
    assert strided[0].permute(0, 1, 3, 4, 2).is_contiguous()  # the spikes come back channels-last
    assert torch.equal(plain[0], strided[0]) and torch.equal(plain[1], strided[1])
    for a, b in zip(plain[2:], strided[2:]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
