"""The CPU kernels follow torch's thread count and leave it as it was."""

import pytest
import torch

pytest.importorskip("numba")

from spikeforge import nn as snn  # noqa: E402
from spikeforge.kernels.cpu import threads  # noqa: E402


@pytest.fixture
def one_torch_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
