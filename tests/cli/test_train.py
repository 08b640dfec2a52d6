"""spikeforge train / eval end to end on a tiny digits recipe: files, report, eval, resume, errors."""

from __future__ import annotations

import contextlib
import csv
import io

import pytest
import torch

from spikeforge.cli import main
from spikeforge.learning import load_checkpoint

pytest.importorskip("sklearn")  # the bundled digits come with scikit-learn

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY = ["--set", "data.limit=64", "--set", "train.epochs=2", "--set", "train.batch_size=16",
        "--set", "model.channels=[4, 8]", "--set", "model.num_steps=2", "--no-progress"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    code, out, err = run("train", "--out", str(folder), "--device", "cpu", *TINY)
    assert code == 0, err
    return folder, out


def test_train_writes_checkpoint_metrics_figures_and_report(trained):
    folder, out = trained
    assert "recipe digits-scnn" in out and "epoch 2/2" in out and "test accuracy" in out
    for name in ("curves.png", "raster.png"):
        assert (folder / name).read_bytes()[:8] == PNG_MAGIC
    with open(folder / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:6] == ["epoch", "step", "lr", "train_loss", "train_accuracy", "train_rate"]
    assert [r["epoch"] for r in rows] == ["1", "2"] and float(rows[-1]["test_accuracy"]) >= 0
    report = (folder / "report.txt").read_text()
    assert "test accuracy:" in report and "spikes per inference:" in report and "net.1" in report
    assert "LIF" in report and "rate (Hz)" in report
    state = torch.load(folder / "checkpoint.pt", weights_only=True)
    assert state["finished"] and state["epoch"] == 2 and state["extra"]["recipe"]["model"]["channels"] == [4, 8]
    assert "channels:" in (folder / "recipe.yaml").read_text()


def test_eval_reads_the_checkpoint(trained):
    folder, _ = trained
    code, out, err = run("eval", str(folder / "checkpoint.pt"), "--device", "cpu")
    assert code == 0, err
    expected = load_checkpoint(folder / "checkpoint.pt")["metrics"][-1]["test_accuracy"]
    assert f"test accuracy {expected:.2%}" in out and "on 64 samples" in out and "net.4" in out


def test_a_run_with_a_weight_average_is_evaluated_and_reported_with_it(tmp_path):
    code, out, err = run("train", "--out", str(tmp_path), "--device", "cpu", *TINY,
                         "--set", "train.weight_average=0.8", "--no-report")
    assert code == 0, err
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    assert "averaged_model" in state
    final = state["metrics"][-1]
    assert f"test accuracy {final['test_accuracy']:.2%}" in out  # the end-of-run line uses the average too
    code, out, err = run("eval", str(tmp_path / "checkpoint.pt"), "--device", "cpu")
    assert code == 0, err
    assert f"loss {final['test_loss']:.4f}" in out  # eval loads the averaged weights, not the last ones


def test_resume_a_finished_run_trains_on_only_when_asked(trained):
    folder, _ = trained
    code, out, _ = run("train", "--out", str(folder), "--resume", "--no-progress")
    assert code == 0 and "nothing to resume" in out
    code, out, err = run("train", "--out", str(folder), "--resume", "--set", "train.epochs=3", "--no-progress",
                         "--no-report")
    assert code == 0, err
    assert "resumed at epoch 3" in out and "epoch 3/3" in out and "epoch 2/3" not in out
    assert load_checkpoint(folder / "checkpoint.pt")["epoch"] == 3


def test_errors_are_reported_on_one_line(tmp_path):
    code, _, err = run("train", "no-such-recipe", "--out", str(tmp_path))
    assert code == 1 and "unknown recipe 'no-such-recipe'; shipped recipes: bpstdp-mnist, digits-scnn" in err
    assert "stdp-mnist" in err and len(err.strip().splitlines()) == 1
    code, _, err = run("train", "--out", str(tmp_path), "--set", "train.epoch=3")
    assert code == 1 and "unknown key train.epoch; valid keys of train: epochs" in err
    code, _, err = run("train", "--out", str(tmp_path), "--resume")
    assert code == 1 and "no checkpoint at" in err
    (tmp_path / "checkpoint.pt").write_bytes(b"garbage")
    code, _, err = run("eval", str(tmp_path / "checkpoint.pt"))
    assert code == 1 and "truncated or corrupt" in err
    code, _, err = run("train", "--device", "quantum")
    assert code == 1 and "unknown device 'quantum'" in err
