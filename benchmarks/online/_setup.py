"""The network and batch the online benchmarks share: the ``ecg-srnn`` recipe's model and real ECG windows."""

from __future__ import annotations

import torch

from spikeforge.learning.objectives import objective_from_name
from spikeforge.learning.rules import rule_from_name
from spikeforge.recipes.build import build_datasets, build_model_from
from spikeforge.recipes.loader import load_recipe


def ecg_setup(rule: str, steps: int, batch: int = 64, data_dir: str = "/work/shared/data/qtdb"):
    """``(model, rule, x [steps, batch, 4], y [steps, batch], objective)``; windows tiled in time past 1301 steps."""
    recipe = load_recipe("ecg-srnn", overrides=[f"learning={rule}"])
    train, _ = build_datasets(recipe, data_dir=data_dir, test=False)
    model = build_model_from(recipe, train)
    xs, ys = zip(*[train[i] for i in range(batch)])
    x, y = torch.stack(xs, 1), torch.stack(ys, 1)
    reps = -(-steps // x.shape[0])
    x, y = x.repeat(reps, 1, 1)[:steps], y.repeat(reps, 1)[:steps]
    objective = objective_from_name("per_step", burn_in=10)
    return model, rule_from_name(rule), x, objective.prepare_target(y), objective
