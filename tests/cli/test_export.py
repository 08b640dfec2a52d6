"""spikeforge export: a trained checkpoint to a NIR file, and the clear refusal of what NIR cannot express."""

from __future__ import annotations

import contextlib
import io

import pytest

from spikeforge.cli import main

pytest.importorskip("sklearn")
pytest.importorskip("yaml")  # recipes
pytest.importorskip("nir")

TINY = ["--set", "data.limit=48", "--set", "train.epochs=1", "--set", "train.batch_size=16",
        "--set", "model.channels=[2, 4]", "--set", "model.num_steps=2", "--no-progress", "--no-report"]


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    code, _, err = run("train", "--out", str(folder), "--device", "cpu", *TINY,
                       "--set", "model.pooling=avg", "--set", "model.reset=zero")
    assert code == 0, err
    return folder / "checkpoint.pt"


def test_export_writes_a_nir_file_that_imports(checkpoint, tmp_path):
    from spikeforge.hardware.nir import load_nir

    out = tmp_path / "model.nir"
    code, text, err = run("export", str(checkpoint), str(out))
    assert code == 0, err
    assert "Conv2d, LIF, AvgPool2d" in text and out.is_file()
    assert len(load_nir(out)) == 9


def test_export_names_the_module_nir_cannot_express(checkpoint, tmp_path):
    code, _, err = run("export", str(checkpoint), str(tmp_path / "x.nir"), "--set", "model.pooling=max")
    assert code == 1 and "(MaxPool2d): NIR has no max pooling" in err and "\n" == err[-1]
    assert not (tmp_path / "x.nir").exists()
    code, _, err = run("export", str(checkpoint), str(tmp_path / "x.nir"), "--set", "model.pooling=max",
                       "--extensions")
    assert code == 0 and "other NIR tools" in err


def test_export_errors(tmp_path):
    code, _, err = run("export", str(tmp_path / "missing.pt"), str(tmp_path / "x.nir"))
    assert code == 1 and "no checkpoint" in err
