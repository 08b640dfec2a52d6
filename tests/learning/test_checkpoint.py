"""Checkpoint files: atomic writes, plain data only, clear errors for bad files."""

from __future__ import annotations

import pytest
import torch

from spikeforge.learning import CheckpointError, check_plain, load_checkpoint, save_checkpoint


def test_round_trip_with_weights_only(tmp_path):
    state = {"model": {"w": torch.arange(4.0)}, "epoch": 2, "rows": [{"a": 1.0, "b": None}], "t": (1, "x")}
    path = save_checkpoint(state, tmp_path / "sub" / "ck.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["epoch"] == 2 and torch.equal(raw["model"]["w"], torch.arange(4.0))
    loaded = load_checkpoint(path)
    assert loaded["rows"] == [{"a": 1.0, "b": None}] and loaded["version"] == 1
    assert [p.name for p in path.parent.iterdir()] == ["ck.pt"]  # no temporary file left


class Custom:
    pass


def test_non_plain_data_is_refused_before_writing(tmp_path):
    path = tmp_path / "ck.pt"
    with pytest.raises(TypeError, match=r"checkpoint\['obj'\] is a .*Custom; checkpoints hold only tensors"):
        save_checkpoint({"obj": Custom()}, path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    with pytest.raises(TypeError, match="keys must be str or int"):
        check_plain({(1, 2): 3})


def test_a_failed_write_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    path = save_checkpoint({"epoch": 1}, tmp_path / "ck.pt")
    good = path.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a zip file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint({"epoch": 2}, path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    monkeypatch.undo()
    assert load_checkpoint(path)["epoch"] == 1


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_files_raise_checkpoint_error(tmp_path, damage):
    path = save_checkpoint({"model": {"w": torch.randn(100)}}, tmp_path / "ck.pt")
    data = path.read_bytes()
    path.write_bytes({"truncate": data[: len(data) // 2], "garbage": b"not a checkpoint at all" * 10,
                      "empty": b""}[damage])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        load_checkpoint(path)


def test_pickled_code_and_foreign_files_are_refused(tmp_path):
    evil = tmp_path / "evil.pt"
    torch.save({"format": "spikeforge.checkpoint", "version": 1, "x": Custom()}, evil)
    with pytest.raises(CheckpointError, match="weights_only"):
        load_checkpoint(evil)
    other = tmp_path / "other.pt"
    torch.save({"state_dict": {}}, other)
    with pytest.raises(CheckpointError, match="not a spikeforge checkpoint"):
        load_checkpoint(other)
    with pytest.raises(FileNotFoundError, match="no checkpoint at"):
        load_checkpoint(tmp_path / "missing.pt")
    newer = tmp_path / "newer.pt"
    torch.save({"format": "spikeforge.checkpoint", "version": 99}, newer)
    with pytest.raises(CheckpointError, match="version 99"):
        load_checkpoint(newer)
