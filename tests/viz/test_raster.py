"""raster: one tick per spike, at (time, neuron), for [T, N] and [T, B, ...] inputs."""

import pytest
import torch

pytest.importorskip("matplotlib")

from spikeforge.viz import raster  # noqa: E402


def _ticks(ax):
    return ax.collections[0].get_offsets()


def test_one_tick_per_spike_at_time_and_neuron():
    spikes = torch.zeros(10, 3)
    spikes[2, 0] = spikes[5, 2] = spikes[9, 1] = 1.0
    ax = raster(spikes, title="hand-made")
    ticks = _ticks(ax)
    assert len(ticks) == 3
    assert sorted(map(tuple, ticks.tolist())) == [(2.0, 0.0), (5.0, 2.0), (9.0, 1.0)]
    assert ax.get_xlabel() == "time step" and ax.get_ylabel() == "neuron"
    assert ax.get_title() == "hand-made"
    assert ax.get_ylim() == (-0.5, 2.5)


def test_batch_picks_sample_and_flattens_features():
    spikes = torch.zeros(6, 2, 2, 3)  # [T, B, C, W]: 6 neurons per sample
    spikes[1, 0, 0, 0] = 1.0
    spikes[4, 1, 1, 2] = 1.0  # flattened neuron 5
    spikes[5, 1, 0, 1] = 1.0  # flattened neuron 1
    ticks = _ticks(raster(spikes, sample=1))
    assert sorted(map(tuple, ticks.tolist())) == [(4.0, 5.0), (5.0, 1.0)]
    assert len(_ticks(raster(spikes, sample=0))) == 1
    assert len(_ticks(raster(spikes, sample=-1))) == 2


def test_dt_gives_milliseconds_and_bool_spikes_work():
    spikes = torch.zeros(50, 1, 4, dtype=torch.bool)
    spikes[[3, 20, 49], 0, [0, 1, 3]] = True
    ax = raster(spikes, dt=2e-3)
    assert ax.get_xlabel() == "time (ms)"
    assert sorted(_ticks(ax)[:, 0].tolist()) == pytest.approx([6.0, 40.0, 98.0])


def test_empty_raster_and_given_axes():
    from matplotlib.figure import Figure

    ax = Figure().add_subplot()
    assert raster(torch.zeros(20, 5), ax=ax) is ax
    assert len(_ticks(ax)) == 0
    assert len(_ticks(raster(torch.zeros(0, 2, 3)))) == 0  # no time steps at all


def test_errors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        raster([[0, 1], [1, 0]])
    with pytest.raises(ValueError, match="scalar"):
        raster(torch.tensor(1.0))
    with pytest.raises(ValueError, match="out of range"):
        raster(torch.zeros(5, 2, 3), sample=2)
    with pytest.raises(ValueError, match="one sample"):
        raster(torch.zeros(5, 3), sample=1)
    with pytest.raises(ValueError, match="dt"):
        raster(torch.zeros(5, 3), dt=0.0)
