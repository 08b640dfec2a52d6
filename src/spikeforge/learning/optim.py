"""Optimizers and learning-rate schedules from plain-data settings (the recipe's sections).

Optimizer settings: ``{"name": "adam" | "adamw" | "adamax" | "sgd" | "rmsprop", "lr": ...,
"weight_decay": ..., "betas": [..], "eps": ..., "momentum": ..., "nesterov": ...,
"param_groups": [{"match": "tau_", "lr_scale": 3.0, "weight_decay": 0.0}, ...]}``.
``param_groups`` give the parameters whose name matches a regular expression their own
learning-rate factor or weight decay (Yin et al. (2021) train the time constants with 2-3x
the base rate); the first matching group wins, the rest form the default group.

Schedules are multiplicative factors on each group's learning rate, a function of the
training progress counted in epochs (fractions of an epoch with ``interval: step``, the
default; whole epochs with ``interval: epoch``), stepped once per training batch:

==============  ==============================================  =======================
name            factor at epoch ``e`` of ``E``                  settings
==============  ==============================================  =======================
``constant``    1
``step``        ``gamma ** floor(e / step_size)``               ``step_size``, ``gamma``
``multistep``   ``gamma ** (milestones passed)``                ``milestones``, ``gamma``
``exponential`` ``gamma ** e``                                  ``gamma``
``linear``      ``1 - (1 - end_factor) e / E``                  ``end_factor``
``cosine``      ``m + (1 - m)(1 + cos(pi e / E)) / 2``          ``min_factor`` (m)
==============  ==============================================  =======================

Every schedule takes ``warmup_epochs`` (a linear ramp from ``warmup_factor`` to the
schedule's value; the schedule then runs over the remaining epochs). The scheduler is a
``LambdaLR`` whose factor function holds only numbers, so its state dict is plain data.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable, Mapping

import torch
from torch import nn

__all__ = ["OPTIMIZERS", "SCHEDULES", "OPTIMIZER_KEYS", "SCHEDULE_KEYS", "build_optimizer", "build_scheduler",
           "Schedule"]

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adamax": torch.optim.Adamax,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

OPTIMIZER_KEYS = ("name", "lr", "weight_decay", "betas", "eps", "momentum", "nesterov", "param_groups")
_GROUP_KEYS = ("match", "lr_scale", "weight_decay")
_ADAM = ("lr", "betas", "eps", "weight_decay")
_TAKES = {"adam": _ADAM, "adamw": _ADAM, "adamax": _ADAM, "sgd": ("lr", "momentum", "nesterov", "weight_decay"),
          "rmsprop": ("lr", "eps", "momentum", "weight_decay")}

SCHEDULES: dict[str, tuple[str, ...]] = {
    "constant": (),
    "step": ("step_size", "gamma"),
    "multistep": ("milestones", "gamma"),
    "exponential": ("gamma",),
    "linear": ("end_factor",),
    "cosine": ("min_factor",),
}
"""Each schedule's own settings (all also take ``warmup_epochs``, ``warmup_factor``, ``interval``)."""

SCHEDULE_KEYS = ("name", "warmup_epochs", "warmup_factor", "interval") + tuple(
    sorted({k for keys in SCHEDULES.values() for k in keys})
)


def build_optimizer(model: nn.Module, settings: Mapping[str, Any]) -> torch.optim.Optimizer:
    """The optimizer ``settings`` describe, over ``model``'s trainable parameters."""
    settings = dict(settings)
    _check_keys(settings, OPTIMIZER_KEYS, "optimizer")
    name = str(settings.pop("name", "adam")).lower()
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; known: {', '.join(OPTIMIZERS)}")
    groups_cfg = settings.pop("param_groups", None) or []
    kwargs: dict[str, Any] = {k: v for k, v in settings.items() if v is not None}
    kwargs.setdefault("lr", 1e-3)
    if "betas" in kwargs:
        kwargs["betas"] = tuple(float(b) for b in kwargs["betas"])
    not_taken = sorted(set(kwargs) - set(_TAKES[name]))
    if not_taken:
        raise ValueError(f"optimizer {name!r} takes no {', '.join(not_taken)} setting; it takes "
                         f"{', '.join(_TAKES[name])}")
    base_lr = float(kwargs["lr"])
    groups = _param_groups(model, groups_cfg, base_lr)
    return OPTIMIZERS[name](groups, **kwargs)


def _param_groups(model: nn.Module, groups_cfg: Iterable[Mapping[str, Any]], base_lr: float) -> list[dict]:
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    if not named:
        raise ValueError("the model has no trainable parameters")
    groups_cfg = list(groups_cfg)
    for i, g in enumerate(groups_cfg):
        if not isinstance(g, Mapping) or "match" not in g:
            raise ValueError(f"optimizer.param_groups[{i}] must be a mapping with a 'match' pattern, got {g!r}")
        _check_keys(g, _GROUP_KEYS, f"optimizer.param_groups[{i}]")
    patterns = [re.compile(str(g["match"])) for g in groups_cfg]
    members: list[list[nn.Parameter]] = [[] for _ in groups_cfg]
    default: list[nn.Parameter] = []
    for name, p in named:
        for k, pattern in enumerate(patterns):
            if pattern.search(name):
                members[k].append(p)
                break
        else:
            default.append(p)
    groups = [{"params": default}] if default else []
    for g, params in zip(groups_cfg, members):
        if params:
            group: dict[str, Any] = {"params": params, "lr": base_lr * float(g.get("lr_scale", 1.0))}
            if g.get("weight_decay") is not None:
                group["weight_decay"] = float(g["weight_decay"])
            groups.append(group)
    return groups


class Schedule:
    """The learning-rate factor as a function of the batch step (plain numbers only).

    Args:
        name: one of :data:`SCHEDULES`.
        steps_per_epoch: training batches per epoch.
        epochs: epochs of the whole run.
        warmup_epochs, warmup_factor: linear warm-up from ``warmup_factor``.
        interval: ``"step"`` (the factor changes every batch) or ``"epoch"``.
        **settings: the schedule's own settings (see the module docstring).
    """

    def __init__(self, name: str, *, steps_per_epoch: int, epochs: int, warmup_epochs: float = 0.0,
                 warmup_factor: float = 0.0, interval: str = "step", **settings: Any) -> None:
        name = str(name).lower()
        if name not in SCHEDULES:
            raise ValueError(f"unknown schedule {name!r}; known: {', '.join(SCHEDULES)}")
        _check_keys(settings, SCHEDULES[name], f"schedule {name!r}", extra=("warmup_epochs", "warmup_factor",
                                                                            "interval"))
        if interval not in ("step", "epoch"):
            raise ValueError(f"schedule.interval must be 'step' or 'epoch', got {interval!r}")
        self.name = name
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.epochs = max(1, int(epochs))
        self.warmup_epochs = float(warmup_epochs)
        self.warmup_factor = float(warmup_factor)
        self.interval = interval
        self.gamma = float(settings.get("gamma", 0.1))
        self.step_size = float(settings.get("step_size", 1))
        self.milestones = [float(m) for m in settings.get("milestones", [])]
        self.end_factor = float(settings.get("end_factor", 0.0))
        self.min_factor = float(settings.get("min_factor", 0.0))
        if self.step_size <= 0:
            raise ValueError(f"schedule.step_size must be positive (epochs), got {self.step_size}")

    def __call__(self, step: int) -> float:
        e = step / self.steps_per_epoch
        if self.interval == "epoch":
            e = math.floor(e + 1e-9)
        if self.warmup_epochs > 0 and e < self.warmup_epochs:
            return self.warmup_factor + (1.0 - self.warmup_factor) * e / self.warmup_epochs
        e -= self.warmup_epochs
        span = max(self.epochs - self.warmup_epochs, 1e-12)
        frac = min(max(e / span, 0.0), 1.0)
        if self.name == "step":
            return self.gamma ** math.floor(e / self.step_size + 1e-9)
        if self.name == "multistep":
            return self.gamma ** sum(1 for m in self.milestones if e + 1e-9 >= m)
        if self.name == "exponential":
            return self.gamma ** e
        if self.name == "linear":
            return 1.0 - (1.0 - self.end_factor) * frac
        if self.name == "cosine":
            return self.min_factor + (1.0 - self.min_factor) * 0.5 * (1.0 + math.cos(math.pi * frac))
        return 1.0


def build_scheduler(optimizer: torch.optim.Optimizer, settings: Mapping[str, Any] | None, *,
                    steps_per_epoch: int, epochs: int) -> torch.optim.lr_scheduler.LambdaLR:
    """A ``LambdaLR`` stepping the :class:`Schedule` ``settings`` describe once per batch."""
    settings = dict(settings or {})
    _check_keys(settings, SCHEDULE_KEYS, "schedule")
    name = settings.pop("name", "constant")
    schedule = Schedule(name, steps_per_epoch=steps_per_epoch, epochs=epochs,
                        **{k: v for k, v in settings.items() if v is not None})
    return torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)


def _check_keys(settings: Mapping[str, Any], valid: Iterable[str], where: str, extra: Iterable[str] = ()) -> None:
    valid = tuple(valid) + tuple(extra)
    unknown = [k for k in settings if k not in valid]
    if unknown:
        raise ValueError(f"{where} has no setting {', '.join(map(repr, unknown))}; valid: {', '.join(valid)}")
