"""Exact resume: a run killed mid-epoch and resumed ends with the weights of one never interrupted."""

from __future__ import annotations

import pytest
import torch

from spikeforge.learning import Trainer, load_checkpoint

from ._toys import ToyImages, toy_model, weights

CONFIG = {
    "epochs": 3, "batch_size": 16, "seed": 5, "checkpoint_every": 4,
    "optimizer": {"name": "adamw", "lr": 2e-2, "weight_decay": 1e-3},
    "schedule": {"name": "cosine", "warmup_epochs": 1, "warmup_factor": 0.2},
    "clip_grad_norm": 1.0,
}


class Killed(Exception):
    pass


def kill_at(step: int):
    def callback(trainer: Trainer) -> None:
        if trainer.global_step == step:
            raise Killed(f"killed after step {step}")
    return callback


def build(out_dir, model_seed=0, callbacks=()):
    # dropout draws from torch's global generator, so the restored RNG state matters
    return Trainer(toy_model(model_seed, dropout=0.3), ToyImages(80), test_data=ToyImages(24, seed=9),
                   config=CONFIG, out_dir=out_dir, callbacks=callbacks)


def strip_times(rows):
    return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in rows]


def test_killed_mid_epoch_and_resumed_equals_uninterrupted(tmp_path):
    reference = build(tmp_path / "ref")
    reference.fit()

    # 5 batches per epoch; checkpoints after steps 4 and 8 (mid-epoch) and at epoch ends (5, 10)
    victim = build(tmp_path / "run", callbacks=[kill_at(9)])
    with pytest.raises(Killed):
        victim.fit()  # the work of step 9 is lost, as in a real kill
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["global_step"]) == (1, 3, 8)  # the last save: mid-epoch 2

    resumed = build(tmp_path / "run", model_seed=123)  # a fresh process: other initial weights
    resumed.load_checkpoint()
    resumed.fit()
    for k, v in weights(reference.model).items():
        assert torch.equal(v, weights(resumed.model)[k]), k
    assert strip_times(resumed.metrics) == strip_times(reference.metrics)


def test_resume_from_a_mid_epoch_step_limit(tmp_path):
    reference = build(tmp_path / "ref")
    reference.fit()
    first = build(tmp_path / "run")
    first.fit(max_steps=12)  # stops inside epoch 3 and writes its checkpoint
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["global_step"]) == (2, 2, 12)
    second = build(tmp_path / "run", model_seed=7)
    second.load_checkpoint()
    assert (second.epoch, second.batch) == (2, 2)
    second.fit()
    for k, v in weights(reference.model).items():
        assert torch.equal(v, weights(second.model)[k]), k
    assert second.optimizer.param_groups[0]["lr"] == reference.optimizer.param_groups[0]["lr"]


def test_keyboard_interrupt_between_batches_saves_the_last_batch(tmp_path):
    def interrupt(trainer):
        if trainer.global_step == 3:
            raise KeyboardInterrupt

    trainer = build(tmp_path / "run", callbacks=[interrupt])
    with pytest.raises(KeyboardInterrupt):
        trainer.fit()
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (state["epoch"], state["batch"], state["global_step"]) == (0, 3, 3)


def test_checkpoint_holds_plain_data_and_loads_weights_only(tmp_path):
    trainer = build(tmp_path / "run")
    trainer.fit(max_steps=2)
    raw = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert raw["format"] == "spikeforge.checkpoint"
    assert set(raw) >= {"model", "optimizer", "scheduler", "epoch", "batch", "global_step", "ranks", "metrics",
                        "config"}
    assert raw["config"]["seed"] == 5 and raw["config"]["optimizer"]["name"] == "adamw"
    assert isinstance(raw["ranks"][0]["rng"]["torch"], torch.Tensor)
    assert not raw["finished"]
