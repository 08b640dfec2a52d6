"""membrane_trace: the potential of one neuron, its threshold and its spikes."""

import pytest
import torch

pytest.importorskip("matplotlib")

from spikeforge.nn import ALIF, LIF  # noqa: E402
from spikeforge.viz import membrane_trace  # noqa: E402


def test_constant_threshold_and_spike_lines():
    lif = LIF(4, tau_mem=10e-3)
    x = torch.full((80, 2, 4), 1.5)
    spikes, trace = lif.record(x)
    ax = membrane_trace(trace.v, spikes=spikes, threshold=1.0, neuron=2, sample=1, dt=1e-3)
    membrane, threshold = ax.get_lines()[:2]
    assert membrane.get_ydata().tolist() == pytest.approx(trace.v[:, 1, 2].tolist())
    assert membrane.get_xdata().tolist() == pytest.approx([float(t) for t in range(80)])
    assert list(threshold.get_ydata()) == [1.0, 1.0] and threshold.get_linestyle() == "--"
    segments = ax.collections[0].get_segments()
    count = int(spikes[:, 1, 2].sum())
    assert count > 0 and len(segments) == count
    times = sorted(seg[0][0] for seg in segments)
    assert times == spikes[:, 1, 2].nonzero().flatten().tolist()
    assert ax.get_xlabel() == "time (ms)" and ax.get_ylabel() == "membrane potential"


def test_adaptive_threshold_trace():
    alif = ALIF(3, tau_adp=50e-3, beta=5.0)
    spikes, trace = alif.record(torch.full((60, 1, 3), 2.0))
    threshold = 1.0 + 5.0 * trace.b
    ax = membrane_trace(trace.v, spikes=spikes, threshold=threshold, neuron=1)
    assert ax.get_lines()[1].get_ydata().tolist() == pytest.approx(threshold[:, 0, 1].tolist())
    assert len(ax.collections[0].get_segments()) == int(spikes[:, 0, 1].sum()) > 0


def test_single_neuron_without_spikes_or_threshold():
    ax = membrane_trace(torch.linspace(0, 1, 30), title="ramp")
    assert len(ax.get_lines()) == 1 and not ax.collections
    assert ax.get_xlabel() == "time step" and ax.get_title() == "ramp"


def test_errors():
    v = torch.zeros(10, 2, 3)
    with pytest.raises(TypeError, match="torch.Tensor"):
        membrane_trace(v.numpy())
    with pytest.raises(ValueError, match="neuron 3 is out of range"):
        membrane_trace(v, neuron=3)
    with pytest.raises(ValueError, match="sample"):
        membrane_trace(v, sample=5)
    with pytest.raises(ValueError, match="shape of v"):
        membrane_trace(v, spikes=torch.zeros(10, 2, 4))
    with pytest.raises(ValueError, match="shape of v"):
        membrane_trace(v, threshold=torch.ones(10, 3))
    with pytest.raises(TypeError, match="threshold"):
        membrane_trace(v, threshold="1.0")
