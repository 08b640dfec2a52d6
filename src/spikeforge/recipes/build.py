"""Turn a validated recipe into the objects of a run: data sets, model, objective, rule, settings."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import torch
from torch import nn
from torch.utils.data import Dataset, Subset

from ..learning.objectives import Objective, objective_from_name
from ..learning.rules import LearningRule, rule_from_name
from ..learning.trainer import TrainConfig
from .loader import RecipeError

__all__ = ["Run", "build_datasets", "build_model_from", "build_run", "train_config", "dataset_info",
           "plasticity_runner"]


@dataclass
class Run:
    """Everything a recipe describes, built."""

    recipe: dict[str, Any]
    model: nn.Module
    train_data: Dataset
    test_data: Dataset
    objective: Objective
    rule: LearningRule
    config: TrainConfig
    collate_fn: Callable | None


def dataset_info(dataset: Dataset) -> Dataset:
    """The data set under any ``Subset`` wrappers (where ``num_classes`` etc. live)."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return dataset


def build_datasets(recipe: Mapping[str, Any], *, data_dir: str | Path | None = None,
                   train: bool = True, test: bool = True) -> tuple[Dataset | None, Dataset | None]:
    """The training and test sets of ``recipe['data']`` (``data.limit``: the first N of each)."""
    from ..data import build_dataset

    section = dict(recipe["data"])
    name, limit = section.pop("name"), section.pop("limit", None)

    def one(is_train: bool) -> Dataset:
        try:
            ds = build_dataset(name, train=is_train, root=data_dir, **section)
        except TypeError as exc:
            raise RecipeError(f"recipe section 'data': {exc}") from None
        if limit is not None and limit < len(ds):
            ds = Subset(ds, range(limit))
        return ds

    return (one(True) if train else None), (one(False) if test else None)


def build_model_from(recipe: Mapping[str, Any], dataset: Dataset | None = None) -> nn.Module:
    """The model of ``recipe['model']``, seeded with ``recipe['seed']``.

    ``num_classes``, ``input_shape`` and ``input_size`` are taken from ``dataset`` when the
    model takes them and neither the recipe nor its preset gives them.
    """
    from ..models import MODELS, build_model

    section = dict(recipe["model"])
    name, preset = section.pop("name"), section.pop("preset", None)
    cls = MODELS.get(name)
    if dataset is not None and cls is not None:
        info = dataset_info(dataset)
        accepted = inspect.signature(cls.__init__).parameters
        given = {**(cls.PRESETS.get(preset, {}) if preset else {}), **section}
        shape = tuple(getattr(info, "input_shape", ()) or ())
        derived = {"num_classes": getattr(info, "num_classes", None),
                   "input_shape": list(shape) or None,
                   "input_size": shape[-1] if shape else None}
        for key, value in derived.items():
            if key in accepted and key not in given and value is not None:
                section[key] = value
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(int(recipe.get("seed", 0)))
        try:
            return build_model(name, preset=preset, **section)
        except TypeError as exc:
            raise RecipeError(f"recipe section 'model': {exc}") from None


def train_config(recipe: Mapping[str, Any]) -> TrainConfig:
    """The :class:`TrainConfig` of a recipe (its ``train`` section, seed, optimizer, schedule)."""
    return TrainConfig.from_dict({**recipe["train"], "seed": recipe["seed"], "optimizer": recipe["optimizer"],
                                  "schedule": recipe["schedule"]})


def build_run(recipe: Mapping[str, Any], *, data_dir: str | Path | None = None) -> Run:
    """Data sets, model, objective, rule and settings of a validated recipe."""
    from ..data import collate_for

    train_data, test_data = build_datasets(recipe, data_dir=data_dir)
    model = build_model_from(recipe, train_data)
    objective_cfg = dict(recipe["objective"])
    objective = objective_from_name(objective_cfg.pop("name"), **objective_cfg)
    rule_cfg = dict(recipe["learning"])
    rule = rule_from_name(rule_cfg.pop("rule"), **rule_cfg)
    info = dataset_info(train_data)
    if objective.per_step != bool(getattr(info, "per_step_labels", objective.per_step)):
        kind = "per time step" if getattr(info, "per_step_labels", False) else "per sample"
        raise RecipeError(f"objective {objective.name!r} does not fit data set {recipe['data']['name']!r}, "
                          f"whose labels are {kind}; use "
                          f"{'per_step' if kind == 'per time step' else 'mean_membrane (or another)'}")
    return Run(dict(recipe), model, train_data, test_data, objective, rule, train_config(recipe),
               collate_for(train_data))


# --- runs that are not the gradient trainer -----------------------------------------------------------
def plasticity_runner(recipe: Mapping[str, Any]) -> Callable[[dict], dict] | None:
    """The runner of a recipe whose model trains itself with plasticity (``self_training``: the
    Diehl & Cook STDP network, the BP-STDP network), or ``None`` for the gradient trainer.

    Such a run has its own phases (training, label assignment, test; see
    :mod:`spikeforge.models.plasticity_run`) and ignores the recipe's ``objective``,
    ``learning``, ``optimizer`` and ``schedule``."""
    from ..models import MODELS

    cls = MODELS.get(recipe["model"]["name"])
    if cls is None or not getattr(cls, "self_training", False):
        return None
    from ..models.plasticity_run import run_recipe

    return run_recipe
