"""Every adapter builds a closure that runs forward+backward; absent peers are skipped."""

import pytest
import torch

from spikeforge.bench.peers import ADAPTERS, PeerUnavailable, get_adapter, parse_spec
from spikeforge.bench.peers.torch_loop import _spike_function, lif_loop
from spikeforge.bench.workloads import SRNN, LIFOnly, LinearLIF, quick_workloads

TINY = [LIFOnly(6, 2, 8), LinearLIF(6, 2, 8), SRNN(6, 2, 5, input_size=3)]
PEERS = {"snntorch": "default", "spikingjelly": "eager", "norse": "default"}


@pytest.mark.parametrize("workload", TINY, ids=lambda w: w.kind)
@pytest.mark.parametrize("name,variant", [("torch_loop", "eager"), ("spikeforge", "torch")])
def test_builtin_adapters_run_and_drop_gradients(name, variant, workload):
    fn = get_adapter(name).build(workload, "cpu", variant)
    fn()
    fn()  # a second call starts from the same state (no leftover grads or neuron state)


@pytest.mark.parametrize("workload", TINY, ids=lambda w: w.kind)
@pytest.mark.parametrize("name", sorted(PEERS))
def test_peer_adapters_run_or_skip(name, workload):
    adapter = get_adapter(name)
    if not adapter.available():
        pytest.skip(f"{name} is not installed (anchors extra)")
    adapter.build(workload, "cpu", PEERS[name])()


def test_torch_loop_matches_spikeforge_lif():
    """Both are subtractive-reset LIFs with decay 0.5, input scale 0.5 and ATan(2)."""
    from spikeforge import ATan
    from spikeforge.nn import LIF

    x = (2 * torch.rand(30, 3, 16)).requires_grad_()
    ours = lif_loop(x, _spike_function())
    g = torch.randn_like(ours)
    (gx_ours,) = torch.autograd.grad((ours * g).sum(), x)
    lif = LIF(16, tau_mem=2e-3, dt=1e-3, method="euler", surrogate=ATan(alpha=2.0), **_torch_backend(LIF))
    ref, _ = lif(x)
    (gx_ref,) = torch.autograd.grad((ref * g).sum(), x)
    assert ours.mean() > 0.05  # the input actually makes the neurons fire
    torch.testing.assert_close(ours, ref)
    torch.testing.assert_close(gx_ours, gx_ref, rtol=1e-4, atol=1e-6)


def _torch_backend(cls):
    from spikeforge.bench.peers.spikeforge_ import _has_backend_argument

    return {"backend": "torch"} if _has_backend_argument(cls) else {}


def test_unknown_variant_and_library_are_reported():
    with pytest.raises(PeerUnavailable, match="no variant"):
        get_adapter("torch_loop").build(TINY[0], "cpu", "turbo")
    with pytest.raises(ValueError, match="unknown library"):
        get_adapter("brian2")
    with pytest.raises(ValueError, match="no variant"):
        parse_spec("norse:turbo")
    assert parse_spec("norse:compiled") == [("norse", "compiled")]


def test_long_srnn_is_not_compiled():
    with pytest.raises(PeerUnavailable, match="unrolls"):
        get_adapter("torch_loop").build(SRNN(1301, 2, 4, input_size=4), "cpu", "compiled")


def test_cuda_only_variants_are_unavailable_on_cpu():
    adapter = get_adapter("spikingjelly")
    if not adapter.available():
        pytest.skip("spikingjelly is not installed")
    with pytest.raises(PeerUnavailable):
        adapter.build(quick_workloads(("lif",))[0], "cpu", "triton")


def test_every_adapter_has_the_interface():
    for name in ADAPTERS:
        a = get_adapter(name)
        assert isinstance(a.available(), bool)
        assert set(a.default_variants("cpu")) <= set(a.VARIANTS)
        assert callable(a.build)
