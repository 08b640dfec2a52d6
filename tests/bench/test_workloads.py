"""The issue's shapes, and identical seeded inputs for every library."""

import torch

from spikeforge.bench.workloads import (
    SRNN,
    LIFOnly,
    LinearLIF,
    make_inputs,
    quick_workloads,
    standard_workloads,
)


def test_standard_shapes_follow_issue_3():
    cpu = standard_workloads("cpu")
    assert [(w.T, w.B, w.N) for w in cpu if isinstance(w, LIFOnly)] == [
        (100, 16, 4096), (500, 16, 1024), (100, 64, 16384)]
    assert [(w.T, w.B, w.N) for w in cpu if isinstance(w, LinearLIF)] == [(500, 16, 1024), (500, 16, 4096)]
    gpu_linear = [w.N for w in standard_workloads("cuda") if isinstance(w, LinearLIF)]
    assert gpu_linear == [4096, 8192, 16384]
    assert [(w.T, w.B, w.N, w.input_size) for w in cpu if isinstance(w, SRNN)] == [
        (1301, 64, 36, 4), (784, 64, 256, 1)]
    assert [type(w) for w in standard_workloads("cpu", ("srnn",))] == [SRNN, SRNN]


def test_inputs_are_seeded_and_shaped():
    for w in quick_workloads():
        a, b = make_inputs(w), make_inputs(w)
        assert torch.equal(a.x, b.x) and torch.equal(a.g, b.g)
        features = w.input_size if isinstance(w, SRNN) else w.N
        assert a.x.shape == (w.T, w.B, features) and a.g.shape == (w.T, w.B, w.N)
        assert a.x.dtype == torch.float32
        assert a.x.requires_grad == isinstance(w, LIFOnly)
        assert w.floor_bytes() > 0 and w.name
