"""Training: the trainer, learning rules, objectives, spike monitors and checkpoints.

- :class:`Trainer` and :class:`TrainConfig`: the training loop (BPTT by default, truncated
  BPTT, clipping, schedules, metrics, checkpoints, exact resume, data-parallel runs);
- learning rules (:class:`BPTT`, the online rules :class:`EProp` and :class:`OSTL`
  (see docs/online.md); the interface every rule implements is
  :class:`LearningRule`: ``step(model, x, y, objective, state=, loss_weight=)`` fills
  ``.grad``);
- objectives (:func:`objective_from_name`: ``mean_membrane``, ``max_membrane``,
  ``last_membrane``, ``spike_count``, ``count_mse``, ``per_step``);
- :class:`SpikeMonitor`: per-layer spike counts and firing rates through forward hooks;
- :class:`WeightAverage`: a moving average of the weights to evaluate with (``weight_average``);
- :func:`save_checkpoint` / :func:`load_checkpoint`: atomic, ``weights_only=True`` files;
- :mod:`spikeforge.learning.distributed`: ``launch`` and the gradient averaging.

Examples:
    >>> trainer = Trainer(model, train_set, test_set=test_set, objective="mean_membrane",
    ...                   config={"epochs": 5, "batch_size": 64, "optimizer": {"name": "adam", "lr": 2e-3}},
    ...                   out_dir="runs/mine")
    >>> rows = trainer.fit()          # one dict of metrics per epoch; runs/mine/checkpoint.pt
"""

from .checkpoint import CheckpointError, check_plain, load_checkpoint, save_checkpoint
from .distributed import DistInfo, dist_info, init_from_env, launch
from .metrics import read_metrics_csv, write_metrics_csv
from .monitor import LayerActivity, SpikeMonitor, spiking_layers
from .objectives import (
    OBJECTIVES,
    LastMembraneCrossEntropy,
    MaxMembraneCrossEntropy,
    MeanMembraneCrossEntropy,
    Objective,
    PerStepCrossEntropy,
    SpikeCountCrossEntropy,
    SpikeCountMSE,
    objective_from_name,
)
from .optim import Schedule, build_optimizer, build_scheduler
from .rules import BPTT, RULES, LearningRule, StepResult, detach_state, rule_from_name, run_model
from .eprop import EProp
from .ostl import OSTL
from .sampler import EpochBatchSampler, epoch_seed
from .trainer import Callback, TrainConfig, Trainer, evaluate
from .weight_average import WeightAverage

__all__ = [
    "Trainer", "TrainConfig", "Callback", "evaluate", "WeightAverage",
    "LearningRule", "StepResult", "BPTT", "RULES", "rule_from_name", "run_model", "detach_state",
    "EProp", "OSTL",
    "Objective", "OBJECTIVES", "objective_from_name", "MeanMembraneCrossEntropy", "MaxMembraneCrossEntropy",
    "LastMembraneCrossEntropy", "SpikeCountCrossEntropy", "SpikeCountMSE", "PerStepCrossEntropy",
    "SpikeMonitor", "LayerActivity", "spiking_layers",
    "CheckpointError", "save_checkpoint", "load_checkpoint", "check_plain",
    "build_optimizer", "build_scheduler", "Schedule",
    "EpochBatchSampler", "epoch_seed",
    "DistInfo", "dist_info", "init_from_env", "launch",
    "read_metrics_csv", "write_metrics_csv",
]
