"""Recipes: a training run described by a small YAML file, with dotted-path overrides.

A recipe has these sections (every one optional but ``data`` and ``model``; missing
settings take the defaults in :data:`DEFAULTS`):

.. code-block:: yaml

    description: one line shown by `spikeforge recipes`
    seed: 0
    data:      {name: digits, limit: null, ...}        # build_dataset(name, **options); limit: first N of each split
    model:     {name: scnn, preset: digits, ...}       # build_model(name, preset=..., **kwargs)
    objective: {name: mean_membrane, ...}              # spikeforge.learning.objective_from_name
    learning:  {rule: bptt}                            # bptt, eprop or ostl (`learning=eprop` for short)
    optimizer: {name: adamw, lr: 0.002, weight_decay: 0.0001}
    schedule:  {name: cosine, warmup_epochs: 1}
    train:     {epochs: 10, batch_size: 64, tbptt: null, clip_grad_norm: 1.0, ...}  # TrainConfig

``model`` and ``data`` take whatever their builder takes (checked against the model's
constructor and the data set's options); the other sections have fixed keys, and an
unknown key anywhere raises ``ValueError`` naming the valid ones. Overrides use dotted
paths and YAML scalars: ``apply_overrides(recipe, ["train.epochs=3", "model.num_steps=8",
"schedule.name=constant"])``.
"""

from __future__ import annotations

import copy
import dataclasses
import importlib.resources
import inspect
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..learning.objectives import accepted_parameters
from ..learning.optim import OPTIMIZER_KEYS, SCHEDULE_KEYS, SCHEDULES, Schedule
from ..learning.rules import RULES
from ..learning.trainer import TrainConfig

__all__ = ["DEFAULT_RECIPE", "DEFAULTS", "SECTIONS", "RecipeError", "available_recipes", "recipe_path",
           "load_recipe", "parse_recipe", "apply_overrides", "validate_recipe", "dump_recipe"]

DEFAULT_RECIPE = "digits-scnn"
"""What ``spikeforge train`` runs with no argument."""

_TRAIN_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("seed", "optimizer",
                                                                                       "schedule"))

DEFAULTS: dict[str, Any] = {
    "description": "",
    "seed": 0,
    "data": {"name": None, "limit": None},
    "model": {"name": None},
    "objective": {"name": "mean_membrane"},
    "learning": {"rule": "bptt"},
    "optimizer": {"name": "adam", "lr": 1e-3},
    "schedule": {"name": "constant"},
    "train": {k: (f.default if f.default is not dataclasses.MISSING else f.default_factory())
              for f in dataclasses.fields(TrainConfig) for k in [f.name] if k in _TRAIN_KEYS},
}

SECTIONS = ("name", "description", "seed", "data", "model", "objective", "learning", "optimizer", "schedule",
            "train")


class RecipeError(ValueError):
    """A recipe that cannot be used: unknown name, bad YAML, unknown key, wrong value."""


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - pyyaml is in the train extra
        raise ImportError("recipes need PyYAML: pip install 'spikeforge[train]'") from exc
    return yaml


_LOADER: Any = None


def _loader() -> Any:
    """PyYAML's safe loader, reading ``1e-3`` as a number (YAML 1.2) rather than a string (YAML 1.1)."""
    global _LOADER
    if _LOADER is None:
        yaml = _yaml()

        class Loader(yaml.SafeLoader):
            pass

        Loader.add_implicit_resolver(
            "tag:yaml.org,2002:float",
            re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                |[-+]?\.(?:inf|Inf|INF)
                |\.(?:nan|NaN|NAN))$""", re.X),
            list("-+0123456789."),
        )
        _LOADER = Loader
    return _LOADER


def _load_yaml(text: str) -> Any:
    return _yaml().load(text, Loader=_loader())


def _shipped() -> dict[str, Any]:
    folder = importlib.resources.files("spikeforge.recipes")
    return {entry.name[:-5]: entry for entry in folder.iterdir() if entry.name.endswith(".yaml")}


def available_recipes() -> list[str]:
    """The names of the recipes shipped with spikeforge, sorted."""
    return sorted(_shipped())


def recipe_path(name: str) -> Any:
    """The file of shipped recipe ``name`` (a ``Traversable``)."""
    shipped = _shipped()
    if name not in shipped:
        raise RecipeError(f"unknown recipe {name!r}; shipped recipes: {', '.join(sorted(shipped))} "
                          "(or give the path of a YAML file)")
    return shipped[name]


def load_recipe(name_or_path: str | Path | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The validated recipe: a shipped name (default :data:`DEFAULT_RECIPE`) or a YAML file path.

    ``overrides`` are ``"dotted.key=value"`` strings applied before validation.
    """
    name_or_path = DEFAULT_RECIPE if name_or_path is None else name_or_path
    text_path = Path(name_or_path)
    looks_like_file = text_path.suffix in (".yaml", ".yml") or text_path.is_file() or "/" in str(name_or_path)
    if looks_like_file:
        if not text_path.is_file():
            raise RecipeError(f"no recipe file {text_path}; shipped recipes: {', '.join(available_recipes())}")
        text, default_name = text_path.read_text(encoding="utf-8"), text_path.stem
        source = str(text_path)
    else:
        entry = recipe_path(str(name_or_path))
        text, default_name, source = entry.read_text(encoding="utf-8"), str(name_or_path), f"recipe {name_or_path}"
    recipe = parse_recipe(text, source=source)
    recipe.setdefault("name", default_name)
    return validate_recipe(apply_overrides(recipe, overrides))


def parse_recipe(text: str, *, source: str = "recipe") -> dict[str, Any]:
    """The raw mapping of a recipe's YAML text (not yet validated)."""
    yaml = _yaml()
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise RecipeError(f"{source} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RecipeError(f"{source} must be a YAML mapping of sections ({', '.join(SECTIONS)}), "
                          f"got a {type(data).__name__}")
    return data


def apply_overrides(recipe: Mapping[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """A copy of ``recipe`` with each ``"a.b.c=value"`` set (``value`` parsed as a YAML scalar).

    Sections missing from ``recipe`` are taken from :data:`DEFAULTS` first, so any valid
    key can be set. The path's first part must be a section; deeper keys are checked by
    :func:`validate_recipe`.
    """
    yaml = _yaml()
    out = copy.deepcopy(dict(recipe))
    for item in overrides:
        key, sep, text = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise RecipeError(f"an override must look like key=value (e.g. train.epochs=3), got {item!r}")
        try:
            value = _load_yaml(text) if text.strip() else None
        except yaml.YAMLError as exc:
            raise RecipeError(f"the value of override {item!r} is not a YAML value: {exc}") from None
        parts = key.split(".")
        if parts[0] not in SECTIONS:
            raise RecipeError(f"unknown recipe key {key!r}: {parts[0]!r} is not a section; "
                              f"sections: {', '.join(SECTIONS)}")
        node: dict[str, Any] = out
        for depth, part in enumerate(parts[:-1]):
            if part not in node or node[part] is None:
                node[part] = copy.deepcopy(DEFAULTS.get(part, {})) if depth == 0 else {}
            if not isinstance(node[part], dict):
                raise RecipeError(f"cannot set {key!r}: {'.'.join(parts[:depth + 1])} is a value "
                                  f"({node[part]!r}), not a section")
            node = node[part]
        node[parts[-1]] = value
    return out


def validate_recipe(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """The recipe with defaults filled in; ``RecipeError`` for anything unknown or malformed."""
    unknown = [k for k in recipe if k not in SECTIONS]
    if unknown:
        raise RecipeError(f"unknown recipe section {', '.join(map(repr, unknown))}; sections: {', '.join(SECTIONS)}")
    out: dict[str, Any] = {"name": recipe.get("name") or "recipe"}
    for section, default in DEFAULTS.items():
        given = recipe.get(section)
        if section == "learning" and isinstance(given, str):
            given = {"rule": given}  # `--set learning=eprop` is short for learning.rule=eprop
        if isinstance(default, dict):
            if given is None:
                given = {}
            if not isinstance(given, dict):
                raise RecipeError(f"recipe section {section!r} must be a mapping, got {given!r}")
            merged = copy.deepcopy(default)
            if section in ("objective", "schedule", "optimizer") and given.get("name", merged.get("name")) != \
                    merged.get("name"):
                merged = {"name": given["name"]}  # a different kind: the default's own settings do not apply
            merged.update(copy.deepcopy(given))
            out[section] = merged
        else:
            out[section] = default if given is None else given
    if not isinstance(out["seed"], int) or isinstance(out["seed"], bool) or out["seed"] < 0:
        raise RecipeError(f"seed must be a non-negative integer, got {out['seed']!r}")
    _check_data(out["data"])
    _check_model(out["model"])
    _check_named(out["objective"], "objective", "name", lambda n: accepted_parameters(n))
    _check_named(out["learning"], "learning", "rule", _rule_parameters)
    _check_keys(out["optimizer"], OPTIMIZER_KEYS, "optimizer")
    _check_schedule(out["schedule"])
    _check_keys(out["train"], _TRAIN_KEYS, "train")
    try:
        TrainConfig.from_dict({**out["train"], "seed": out["seed"], "optimizer": out["optimizer"],
                               "schedule": out["schedule"]})
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"recipe section 'train': {exc}") from None
    return out


def _check_keys(section: Mapping[str, Any], valid: Iterable[str], where: str) -> None:
    valid = tuple(valid)
    unknown = [k for k in section if k not in valid]
    if unknown:
        raise RecipeError(f"unknown key {', '.join(f'{where}.{k}' for k in unknown)}; valid keys of "
                          f"{where}: {', '.join(valid)}")


def _check_named(section: Mapping[str, Any], where: str, key: str, parameters: Any) -> None:
    name = section.get(key)
    if not isinstance(name, str):
        raise RecipeError(f"{where}.{key} must be a name, got {name!r}")
    try:
        accepted = parameters(name)
    except ValueError as exc:
        raise RecipeError(f"{where}.{key}: {exc}") from None
    _check_keys(section, (key, *accepted), where)


def _rule_parameters(name: str) -> list[str]:
    key = name.lower().replace("-", "_")
    if key not in RULES:
        raise ValueError(f"unknown learning rule {name!r}; known: {', '.join(RULES)}")
    init = RULES[key].__init__
    return [] if init is object.__init__ else [p for p in inspect.signature(init).parameters if p != "self"]


def _check_schedule(section: Mapping[str, Any]) -> None:
    _check_keys(section, SCHEDULE_KEYS, "schedule")
    name = section.get("name", "constant")
    if name not in SCHEDULES:
        raise RecipeError(f"schedule.name: unknown schedule {name!r}; known: {', '.join(SCHEDULES)}")
    try:
        Schedule(name, steps_per_epoch=1, epochs=1, **{k: v for k, v in section.items()
                                                        if k != "name" and v is not None})
    except (TypeError, ValueError) as exc:
        raise RecipeError(f"schedule: {exc}") from None


def _check_data(section: Mapping[str, Any]) -> None:
    name = section.get("name")
    if not isinstance(name, str):
        raise RecipeError("data.name must name a data set (e.g. digits, mnist, smnist, psmnist, ecg)")
    limit = section.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise RecipeError(f"data.limit must be a positive integer or null, got {limit!r}")


def _check_model(section: Mapping[str, Any]) -> None:
    name = section.get("name")
    if not isinstance(name, str):
        raise RecipeError("model.name must name a model (e.g. scnn, srnn)")
    try:
        from ..models import MODELS
    except ImportError:  # pragma: no cover - the zoo is part of the package
        return
    if name not in MODELS:
        raise RecipeError(f"model.name: unknown model {name!r}; known: {', '.join(sorted(MODELS))}")
    cls = MODELS[name]
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    _check_keys(section, ("name", "preset", *accepted), "model")
    preset = section.get("preset")
    presets = getattr(cls, "PRESETS", {})
    if preset is not None and preset not in presets:
        raise RecipeError(f"model.preset: {name} has no preset {preset!r}; presets: {', '.join(sorted(presets))}")


def dump_recipe(recipe: Mapping[str, Any]) -> str:
    """The recipe as YAML text (sections in the usual order)."""
    yaml = _yaml()
    ordered = {k: recipe[k] for k in SECTIONS if k in recipe}
    return yaml.safe_dump(ordered, sort_keys=False, default_flow_style=False, width=100)
