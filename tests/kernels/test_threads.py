"""The CPU kernels follow torch's thread count and leave it as it was."""

import pytest
import torch

pytest.importorskip("numba")

from spikeforge import nn as snn  # noqa: E402
from spikeforge.kernels.cpu import threads  # noqa: E402


def _torch_threads(n: int):
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def one_torch_thread():
    yield from _torch_threads(1)


def test_kernels_use_torchs_thread_count(one_torch_thread):
    assert threads.kernel_threads() == 1
    assert threads.thread_count(1 << 30, 16) == 1


def test_a_fused_training_step_keeps_torchs_thread_count(one_torch_thread):
    x = torch.rand(10, 64, 4096, requires_grad=True)  # large enough for the threaded path
    out, _ = snn.LIF(4096, backend="cpu")(x)
    out.sum().backward()
    recurrent = snn.RecurrentALIF(4, 64, backend="cpu")
    out, _ = recurrent(torch.rand(50, 64, 4))
    out.sum().backward()
    assert torch.get_num_threads() == 1


def test_numba_parallel_restores_torchs_count(one_torch_thread):
    with threads.numba_parallel(2) as n:
        assert n >= 1
    assert torch.get_num_threads() == 1


@pytest.fixture
def two_torch_threads():
    yield from _torch_threads(2)


def _lif_step(monkeypatch, mode: str):
    """Spikes and input gradient of a LIF layer large enough to run on two threads."""
    monkeypatch.setenv("SPIKEFORGE_KERNEL_THREADS", mode)
    torch.manual_seed(3)
    x = (torch.rand(20, 8, 4096, dtype=torch.float64) * 2).requires_grad_()
    out, _ = snn.LIF(4096, backend="cpu", tau_mem=0.005)(x)
    out.backward(torch.rand_like(out))
    return out.detach(), x.grad


def test_the_team_and_the_pool_give_the_same_numbers(monkeypatch, two_torch_threads):
    calls = []
    real = threads._team_runner
    monkeypatch.setattr(threads, "_team_runner", lambda k: calls.append(k) or real(k))
    out_team, grad_team = _lif_step(monkeypatch, "team")
    if threads._team_usable():
        assert len(calls) == 2  # forward and backward went through the team
    out_pool, grad_pool = _lif_step(monkeypatch, "pool")
    assert torch.equal(out_team, out_pool) and torch.equal(grad_team, grad_pool)
    assert out_team.sum() > 0  # the layer spiked
    assert torch.get_num_threads() == 2


def test_each_kernel_has_its_own_team_wrapper():
    from spikeforge.kernels.cpu import glif

    plain, adaptive = glif.forward_kernel(False, False, False), glif.forward_kernel(False, True, False)
    a, b = threads._team_runner(plain), threads._team_runner(adaptive)
    assert a is not None and b is not None and a is not b
    assert a.py_func.__qualname__ != b.py_func.__qualname__  # distinct cache files
    assert threads._team_runner(plain) is a  # built once per process


def test_a_forked_child_uses_the_pool(monkeypatch):
    threads._team_usable()
    monkeypatch.setattr(threads, "_TEAM_PROCESS", [threads._TEAM_PROCESS[0] + 1, "omp"])
    assert not threads._team_usable()  # GNU OpenMP cannot be used after fork


def test_the_wrapper_cache_key_follows_the_kernel_source(tmp_path):
    from spikeforge.kernels.cpu import glif

    kernel = glif.forward_kernel(False, False, False)
    stamps = threads._source_stamps(kernel)
    assert any(name == "glif.py" for name, _, _ in stamps)
