"""spikeforge demo: a real network run, a table of numbers that add up, two figures."""

import contextlib
import io
import re
import sys

import pytest
import torch

from spikeforge.cli import main
from spikeforge.cli.demo import alif_traces, build_network, input_spikes

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ROW = re.compile(r"^(\S+)\s+(\S+)\s+(\d+)\s+([\d,]+)\s+([\d.]+)\s+(\d+)%\s+([\d,]+)$")


def parse_table(out: str) -> dict[str, dict]:
    """The spiking rows of the activity table, by type."""
    rows = {}
    for line in out.splitlines():
        m = ROW.match(line.strip())
        if m:
            _, kind, neurons, spikes, rate, active, synops = m.groups()
            rows[kind] = dict(neurons=int(neurons), spikes=int(spikes.replace(",", "")), rate=float(rate),
                              active=int(active) / 100, synops=int(synops.replace(",", "")))
    return rows


def run_demo(capsys, *argv) -> tuple[int, str]:
    code = main(["demo", *argv])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def demo_output(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("demo")
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        code = main(["demo", "--out", str(out_dir), "--steps", "60"])
    return code, buffer.getvalue(), out_dir


def test_demo_reports_real_activity(demo_output):
    code, out, _ = demo_output
    assert code == 0
    rows = parse_table(out)
    assert set(rows) == {"Poisson", "LIF", "RecurrentALIF"}
    steps, batch, dt = 60, 4, 1e-3
    for kind, fan_out in (("Poisson", 128), ("LIF", 32), ("RecurrentALIF", 32 + 10)):
        row = rows[kind]
        assert row["synops"] == row["spikes"] * fan_out
        assert row["rate"] == pytest.approx(row["spikes"] / (row["neurons"] * batch * steps * dt), abs=0.05)
    assert rows["LIF"]["neurons"] == 128 and rows["RecurrentALIF"]["neurons"] == 32
    assert rows["LIF"]["spikes"] > 0 and 1.0 < rows["LIF"]["rate"] < 100.0
    assert 0.2 < rows["LIF"]["active"] <= 1.0
    assert 20.0 < rows["Poisson"]["rate"] < 80.0  # the 2-100 Hz ramp averages ~51 Hz
    assert re.search(r"wall time: [\d.]+ ms, [\d,]+ steps/s", out)


def test_demo_writes_both_figures(demo_output):
    code, out, out_dir = demo_output
    for name in ("raster.png", "membrane.png"):
        path = out_dir / name
        assert path.read_bytes()[:8] == PNG_MAGIC
        assert f"wrote {path}" in out


def test_default_rates_are_plausible(capsys):
    code, out = run_demo(capsys, "--no-plots", "--batch", "2")  # the default 300 steps
    rows = parse_table(out)
    assert code == 0
    for kind in ("LIF", "RecurrentALIF"):
        assert 2.0 < rows[kind]["rate"] < 60.0, out


def test_same_seed_same_counts_other_seed_differs(capsys):
    def table(seed):
        _, out = run_demo(capsys, "--steps", "40", "--batch", "2", "--seed", seed, "--no-plots")
        return [line for line in out.splitlines() if ROW.match(line.strip())]

    first = table("3")
    assert first and table("3") == first
    assert table("4") != first


def test_global_rng_and_threads_untouched(capsys):
    before, threads = torch.get_rng_state(), torch.get_num_threads()
    run_demo(capsys, "--steps", "5", "--batch", "1", "--no-plots", "--threads", "3")
    assert torch.equal(torch.get_rng_state(), before)
    assert torch.get_num_threads() == threads


def test_no_plots_writes_nothing(tmp_path, capsys):
    code, out = run_demo(capsys, "--out", str(tmp_path / "figs"), "--steps", "5", "--no-plots")
    assert code == 0 and not (tmp_path / "figs").exists() and "wrote" not in out


def test_without_matplotlib_says_how_to_get_plots(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    code, out = run_demo(capsys, "--out", str(tmp_path), "--steps", "5", "--batch", "1")
    assert code == 0
    assert "pip install 'spikeforge[viz]'" in out
    assert not list(tmp_path.iterdir())


def test_no_arguments_runs_the_demo(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "300 steps" in out and parse_table(out)["LIF"]["spikes"] > 0
    assert (tmp_path / "spikeforge-demo" / "raster.png").read_bytes()[:8] == PNG_MAGIC
    assert (tmp_path / "spikeforge-demo" / "membrane.png").exists()


def test_alif_traces_match_the_layer():
    net = build_network(0)
    x = input_spikes(80, 2, 0)
    with torch.no_grad():
        outputs, _ = net.forward_layers(x)
    spikes, membrane, threshold = alif_traces(net[2], outputs[1])
    assert spikes.shape == membrane.shape == threshold.shape == outputs[2].shape
    assert spikes.sum() > 0
    assert (spikes != outputs[2]).float().mean() < 0.01  # same math, up to float rounding
    # the spike rule, seen in the traces: a spike exactly where the membrane reaches the threshold
    assert torch.equal(spikes.bool(), membrane >= threshold)
    assert torch.all(threshold[0] == 1.0) and torch.all(threshold[-1] >= 1.0)
