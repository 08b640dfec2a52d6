"""kernels.memory: the kernels' output buffers."""

import gc

import pytest
import torch

from spikeforge.kernels import memory


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("shape", [(3, 2, 5), (40, 16, 1024)])
def test_buffers_have_the_asked_shape_dtype_and_are_writable(shape, dtype):
    like = torch.zeros(1, dtype=dtype)
    t = memory.empty(shape, like)
    assert t.shape == shape and t.dtype == dtype and t.is_contiguous() and t.device.type == "cpu"
    t.fill_(2.5)
    assert bool((t == 2.5).all())
    big = t.numel() * t.element_size() >= memory.NUMPY_FROM_BYTES
    assert (t.untyped_storage().resizable()) is not big  # NumPy-backed storage cannot be resized


def test_empty_like_matches_and_outlives_nothing():
    x = torch.rand(64, 16, 512)
    t = memory.empty_like(x)
    t.copy_(x)
    del x
    gc.collect()
    assert t.shape == (64, 16, 512) and bool(torch.isfinite(t).all())


def test_other_dtypes_fall_back_to_torch():
    like = torch.zeros(1, dtype=torch.float16)
    t = memory.empty((1 << 20,), like)
    assert t.dtype == torch.float16 and t.untyped_storage().resizable()
