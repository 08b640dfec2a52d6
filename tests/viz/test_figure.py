"""save_figure, the lazy matplotlib import, and no global matplotlib state."""

import subprocess
import sys
import textwrap

import pytest
import torch

pytest.importorskip("matplotlib")

from spikeforge.viz import raster, save_figure  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_save_axes_or_figure_creates_parent_dirs(tmp_path):
    ax = raster(torch.eye(5))
    path = save_figure(ax, tmp_path / "a" / "b" / "raster.png")
    assert path == tmp_path / "a" / "b" / "raster.png"
    assert path.read_bytes()[:8] == PNG_MAGIC
    no_suffix = save_figure(ax.figure, tmp_path / "plain")
    assert no_suffix.suffix == ".png" and no_suffix.read_bytes()[:8] == PNG_MAGIC


def test_save_rejects_non_figures(tmp_path):
    with pytest.raises(TypeError, match="Figure or Axes"):
        save_figure(object(), tmp_path / "x.png")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[viz\]'"):
        raster(torch.eye(3))


def test_no_pyplot_state(tmp_path):
    # Figures are plain matplotlib.figure.Figure objects: pyplot (and with it a backend
    # and a global figure registry) is never imported.
    code = textwrap.dedent("""
        import sys, torch
        from spikeforge.viz import membrane_trace, raster, save_figure
        save_figure(raster(torch.eye(4)), sys.argv[1] + "/r.png")
        save_figure(membrane_trace(torch.rand(20)), sys.argv[1] + "/m.png")
        assert "matplotlib.pyplot" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True, timeout=120)
    assert (tmp_path / "m.png").read_bytes()[:8] == PNG_MAGIC
