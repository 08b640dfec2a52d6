"""STDP window (computed by running the rule), receptive-field grid, assignment counts."""

import math

import pytest
import torch

pytest.importorskip("matplotlib")

from spikeforge.functional.plasticity import STDPParameters, pair_window  # noqa: E402
from spikeforge.learning.stdp import PairSTDP, TripletSTDP  # noqa: E402
from spikeforge.viz import assignment_counts, receptive_fields, save_figure, stdp_window, window_changes  # noqa: E402
from spikeforge.viz.plasticity import receptive_field_grid  # noqa: E402


def test_window_is_what_the_rule_does():
    make = lambda fc: PairSTDP(fc, a_pre=0.01, a_post=0.012, tau_pre=20e-3, tau_post=30e-3, clip=False,  # noqa: E731
                               w_min=-1.0)
    delta_t, dw = window_changes(make, range(-30, 31, 5))
    p = STDPParameters(a_pre=0.01, a_post=0.012, tau_pre=20e-3, tau_post=30e-3)
    torch.testing.assert_close(dw, pair_window(delta_t, p))
    ax = stdp_window(make, lags=range(-30, 31, 5))
    x, y = ax.lines[0].get_data()
    assert list(x) == pytest.approx([t * 1e3 for t in delta_t.tolist()])
    assert list(y) == pytest.approx(dw.tolist())
    assert y[-1] == pytest.approx(0.01 * math.exp(-30 / 20)) and y[0] == pytest.approx(-0.012 * math.exp(-1))


def test_default_window_and_triplet_window_draw(tmp_path):
    ax = stdp_window()
    assert len(ax.lines[0].get_xdata()) == 101 and "STDP" in ax.get_title()
    ax = stdp_window(lambda fc: TripletSTDP(fc, clip=False, w_min=-1.0), lags=range(-10, 11), label="triplet",
                     color="C1")
    path = save_figure(ax, tmp_path / "window.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


def test_receptive_field_grid_tiles_the_rows():
    w = torch.arange(6 * 4, dtype=torch.float32).reshape(6, 4)  # 6 neurons, 2x2 fields
    grid = receptive_field_grid(w, (2, 2), ncols=3)
    assert grid.shape == (2 * 2 + 1, 3 * 2 + 2)
    assert grid[0:2, 0:2].flatten().tolist() == [0, 1, 2, 3]
    assert grid[3:5, 6:8].flatten().tolist() == [20, 21, 22, 23]
    assert torch.isnan(grid[2]).all()
    ax = receptive_fields(torch.rand(10, 784))
    assert ax.images[0].get_array().shape == grid_shape(10)
    with pytest.raises(ValueError, match=r"\[n_neurons, 784\]"):
        receptive_fields(torch.rand(10, 100))


def grid_shape(n, side=28):
    ncols = round(n ** 0.5)
    nrows = -(-n // ncols)
    return (nrows * (side + 1) - 1, ncols * (side + 1) - 1)


def test_assignment_counts_bars():
    ax = assignment_counts(torch.tensor([0, 0, 3, -1, 9, 3, 3]))
    heights = [p.get_height() for p in ax.patches]
    assert heights[:10] == [2, 0, 0, 3, 0, 0, 0, 0, 0, 1] and heights[10] == 1
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "none"
