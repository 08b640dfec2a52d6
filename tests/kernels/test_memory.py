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


def test_a_freed_buffer_is_recycled_and_a_live_one_is_not():
    memory.release_cached()
    like = torch.zeros(1)
    shape = (8, 16, 4096)  # 2 MiB
    first = memory.empty(shape, like)
    ptr = first.data_ptr()
    second = memory.empty(shape, like)
    assert second.data_ptr() != ptr  # first is still alive
    view = first[1:]  # a view keeps the storage, hence the buffer, alive
    del first
    gc.collect()
    third = memory.empty(shape, like)
    assert third.data_ptr() not in (ptr, second.data_ptr())
    del view
    gc.collect()
    again = memory.empty(shape, like)
    assert again.data_ptr() == ptr  # the view is gone: first's buffer comes back
    del second, third, again
    memory.release_cached()


def test_recycling_reuses_the_same_memory_after_release():
    like = torch.zeros(1, dtype=torch.float64)
    memory.release_cached()
    t = memory.empty((4, 1 << 16), like)
    ptr = t.data_ptr()
    del t
    assert memory.cached_bytes() >= 4 * 8 << 16
    u = memory.empty((1 << 16, 4), like)  # the same size in another shape
    assert u.data_ptr() == ptr and u.shape == (1 << 16, 4)
    del u
    assert memory.release_cached() >= 4 * 8 << 16
    assert memory.cached_bytes() == 0


def test_the_pool_keeps_at_most_its_limit_of_free_buffers(monkeypatch):
    memory.release_cached()
    monkeypatch.setattr(memory, "RECYCLE_LIMIT_BYTES", 3 << 20)
    like = torch.zeros(1)
    tensors = [memory.empty((1 << 18,), like) for _ in range(6)]  # 1 MiB each
    del tensors
    kept = memory.empty((1 << 18,), like)  # reuses one and trims the rest
    assert memory.cached_bytes() == 3 << 20
    del kept
    memory.release_cached()
