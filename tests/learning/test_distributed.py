"""Data-parallel training: 2 CPU processes (gloo) with half the batch each equal 1 process."""

from __future__ import annotations

import torch

from spikeforge.learning import Trainer, launch, load_checkpoint
from spikeforge.learning.distributed import DistInfo, dist_info

from ._toys import ToyImages, toy_model, weights

# global batch 15: every batch is split 8 + 7 between the two processes, so their losses
# must be weighted by their share for the average of the gradients to be the global one
CONFIG = {"epochs": 2, "batch_size": 15, "seed": 3, "clip_grad_norm": 1.0,
          "optimizer": {"name": "adam", "lr": 2e-2}, "schedule": {"name": "linear", "end_factor": 0.5}}


def _train(out_dir: str) -> None:
    trainer = Trainer(toy_model(0), ToyImages(90), test_data=ToyImages(21, seed=4), config=CONFIG, out_dir=out_dir)
    assert trainer.dist.world_size == 2
    trainer.fit()


def test_two_processes_equal_one_with_the_same_global_batch(tmp_path):
    launch(_train, 2, str(tmp_path / "ddp"), threads=1, start_method="fork")  # fork: no second torch import
    ddp = load_checkpoint(tmp_path / "ddp" / "checkpoint.pt")
    assert ddp["world_size"] == 2 and len(ddp["ranks"]) == 2 and ddp["finished"]

    single = Trainer(toy_model(0), ToyImages(90), test_data=ToyImages(21, seed=4), config=CONFIG)
    single.fit()
    for k, v in weights(single.model).items():
        assert torch.allclose(v, ddp["model"][k], rtol=1e-5, atol=1e-6), k
    for mine, theirs in zip(single.metrics, ddp["metrics"]):
        assert abs(mine["train_loss"] - theirs["train_loss"]) < 1e-5
        assert mine["test_accuracy"] == theirs["test_accuracy"]  # all 21 test samples, split over both


def test_not_distributed_is_rank_0_of_1():
    assert dist_info() == DistInfo(0, 1, 0) and dist_info().is_main and not dist_info().active
