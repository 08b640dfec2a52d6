"""The in-process peak-memory probe sees a large allocation and not a no-op."""

import pytest
import torch

from spikeforge.bench.memory import format_mb, peak_bytes, peak_rss_bytes, rss_probe_available

needs_proc = pytest.mark.skipif(not rss_probe_available(), reason="needs Linux /proc/self/clear_refs")


@needs_proc
def test_large_allocation_is_seen():
    def alloc():
        t = torch.ones(50_000_000)  # 200 MB, touched
        del t

    alloc()  # warm-up, as the runner does
    peak = peak_rss_bytes(alloc)
    assert peak is not None
    assert 170e6 < peak < 300e6


@needs_proc
def test_noop_is_near_zero():
    peak = peak_bytes(lambda: None, "cpu")
    assert peak is not None and peak < 20e6


def test_unmeasurable_device_is_none_and_prints_na():
    assert peak_bytes(lambda: None, "meta") is None
    assert format_mb(None) == "n/a"
    assert format_mb(123_400_000) == "123.4"
