"""Copy bandwidth is measured and positive; floors follow from the documented byte counts."""

import pytest

from spikeforge.bench.bandwidth import LIF_PASSES, Bandwidth, copy_bandwidth, floor_seconds, lif_bytes
from spikeforge.bench.workloads import LIFOnly


def test_copy_bandwidth_is_positive():
    bw = copy_bandwidth("cpu", nbytes=16 * 2**20, repeats=3)
    assert bw.bytes_per_s > 0 and bw.median_s > 0
    assert bw.nbytes == 16 * 2**20
    assert bw.gb_per_s == pytest.approx(bw.bytes_per_s / 1e9)


def test_lif_floor_counts_five_passes_by_default():
    assert LIF_PASSES == 5
    assert lif_bytes(100, 16, 4096) == 5 * 100 * 16 * 4096 * 4
    assert lif_bytes(100, 16, 4096, passes=4) == 4 * 100 * 16 * 4096 * 4
    assert LIFOnly(100, 16, 4096).floor_bytes() == lif_bytes(100, 16, 4096)
    assert LIFOnly(100, 16, 4096, passes=6).floor_bytes() == lif_bytes(100, 16, 4096, passes=6)


def test_floor_seconds():
    bw = Bandwidth(bytes_per_s=28e9, nbytes=1, median_s=1.0, device="cpu")
    assert floor_seconds(lif_bytes(100, 16, 4096), bw) == pytest.approx(131_072_000 / 28e9)
    assert floor_seconds(1e9, 1e9) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        floor_seconds(1.0, 0.0)
    with pytest.raises(ValueError):
        copy_bandwidth(nbytes=0)
