"""Training recipes: YAML files shipped with spikeforge, and the code that reads and builds them.

``spikeforge recipes`` lists the shipped ones; ``spikeforge train NAME --set key=value``
runs one. The format is described in :mod:`spikeforge.recipes.loader` and docs/training.md.

Examples:
    >>> recipe = load_recipe("digits-scnn", ["train.epochs=2"])
    >>> run = build_run(recipe)            # data sets, model, objective, rule, TrainConfig
"""

from .build import Run, build_datasets, build_model_from, build_run, dataset_info, train_config
from .loader import (
    DEFAULT_RECIPE,
    DEFAULTS,
    SECTIONS,
    RecipeError,
    apply_overrides,
    available_recipes,
    dump_recipe,
    load_recipe,
    parse_recipe,
    recipe_path,
    validate_recipe,
)

__all__ = [
    "DEFAULT_RECIPE", "DEFAULTS", "SECTIONS", "RecipeError", "available_recipes", "recipe_path", "load_recipe",
    "parse_recipe", "apply_overrides", "validate_recipe", "dump_recipe",
    "Run", "build_datasets", "build_model_from", "build_run", "train_config", "dataset_info",
]
