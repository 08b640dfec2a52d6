"""Plots of spiking activity: rasters and membrane traces (needs the ``viz`` extra).

matplotlib is imported only when a function is called; without it each raises an
``ImportError`` saying ``pip install 'spikeforge[viz]'``. The functions draw on
``matplotlib.figure.Figure`` objects (or an ``ax`` you pass), never through
``pyplot``, so they change no global state and leave no figure to close.

Examples:
    >>> from spikeforge.viz import membrane_trace, raster, save_figure
    >>> spikes, trace = LIF(50).record(torch.rand(300, 2, 50) * 2)
    >>> save_figure(raster(spikes, dt=1e-3), "raster.png")
    >>> save_figure(membrane_trace(trace.v, spikes=spikes, threshold=1.0), "v.png")
"""

from ._figure import save_figure
from .membrane import membrane_trace
from .plasticity import assignment_counts, receptive_fields, stdp_window, window_changes
from .raster import raster

__all__ = ["membrane_trace", "raster", "save_figure"]
__all__ += ["stdp_window", "window_changes", "receptive_fields", "assignment_counts"]
