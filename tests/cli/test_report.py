"""spikeforge report: the activity/energy table and chart of a checkpoint; the training report includes it."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from spikeforge.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("yaml")  # recipes

TINY = ["--set", "data.limit=48", "--set", "train.epochs=1", "--set", "train.batch_size=16",
        "--set", "model.channels=[2, 4]", "--set", "model.num_steps=2", "--no-progress"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    pytest.importorskip("matplotlib")
    folder = tmp_path_factory.mktemp("run")
    code, _, err = run("train", "--out", str(folder), "--device", "cpu", *TINY)
    assert code == 0, err
    return folder


def test_training_report_includes_the_energy_table(trained):
    text = (trained / "report.txt").read_text()
    assert "operations and energy" in text and "SynOps (AC)" in text and "cmos-45nm-fp32" in text


def test_report_prints_the_table_and_saves_the_chart(trained, tmp_path):
    chips = tmp_path / "chips.yaml"
    chips.write_text("mine:\n  ac: 0.5\n  mac: 2.0\n  source: measured\n")
    code, out, err = run("report", str(trained / "checkpoint.pt"), "--samples", "20", "--profiles-file", str(chips),
                         "--json", str(tmp_path / "r.json"), "--out", str(tmp_path / "e.png"))
    assert code == 0, err
    assert "per inference (20 samples, 2 steps each)" in out and "dense MACs" in out
    assert "mine" in out and "loihi" in out and "Horowitz" in out
    assert (tmp_path / "e.png").read_bytes().startswith(PNG_MAGIC)
    payload = json.loads((tmp_path / "r.json").read_text())
    assert payload["samples"] == 20 and payload["synops"] > 0 and "mine" in payload["energy_pj"]


def test_report_errors(trained, tmp_path):
    code, _, err = run("report", str(trained / "checkpoint.pt"), "--profile", "nope", "--no-plot")
    assert code == 1 and "unknown hardware profile 'nope'" in err
