"""Recipes: the shipped files, loading, --set overrides and their errors, `spikeforge recipes`."""

from __future__ import annotations

import contextlib
import io

import pytest

from spikeforge.cli import main
from spikeforge.recipes import (
    DEFAULT_RECIPE,
    RecipeError,
    apply_overrides,
    available_recipes,
    load_recipe,
    train_config,
)

SHIPPED = {"digits-scnn", "mnist-scnn", "ecg-srnn", "smnist-srnn", "smnist-pixel-srnn", "psmnist-srnn"}


def test_shipped_recipes_load_and_validate():
    assert SHIPPED <= set(available_recipes()) and DEFAULT_RECIPE == "digits-scnn"
    for name in available_recipes():
        recipe = load_recipe(name)
        assert recipe["name"] == name and recipe["description"]
        config = train_config(recipe)
        assert config.epochs >= 1 and config.optimizer["name"]
    ecg = load_recipe("ecg-srnn")
    assert ecg["objective"] == {"name": "per_step", "burn_in": 10} and ecg["data"]["name"] == "ecg"
    # batch 16, not Yin et al.'s 64: 4x the updates, +1.3 points at 400 epochs (benchmarks/RESULTS.md)
    assert train_config(ecg).batch_size == 16
    assert load_recipe("smnist-srnn")["data"]["mode"] == "row"
    assert load_recipe("smnist-pixel-srnn")["data"]["mode"] == "pixel"


def test_overrides_set_nested_keys_as_yaml_scalars():
    recipe = load_recipe("digits-scnn", ["train.epochs=3", "model.num_steps=8", "optimizer.lr=1e-3",
                                         "train.clip_grad_norm=null", "model.channels=[4, 8]",
                                         "schedule.name=constant", "data.limit=10"])
    assert recipe["train"]["epochs"] == 3 and recipe["model"]["num_steps"] == 8
    assert recipe["optimizer"]["lr"] == 1e-3 and recipe["train"]["clip_grad_norm"] is None
    assert recipe["model"]["channels"] == [4, 8] and recipe["schedule"]["name"] == "constant"
    assert recipe["schedule"]["warmup_epochs"] == 1  # the other schedule settings stay
    assert recipe["data"]["limit"] == 10
    raw = apply_overrides({"model": {"name": "scnn"}}, ["train.tbptt=5"])
    assert raw["train"]["tbptt"] == 5 and raw["train"]["epochs"] == 10  # defaults filled in first


@pytest.mark.parametrize("override,message", [
    ("train.epoch=3", "unknown key train.epoch; valid keys of train: epochs, batch_size"),
    ("trian.epochs=3", "'trian' is not a section; sections: name, description, seed, data"),
    ("model.num_step=8", "unknown key model.num_step; valid keys of model: name, preset, input_shape"),
    ("train.epochs.x=1", "train.epochs is a value"),
    ("objective.burn_in=3", "unknown key objective.burn_in; valid keys of objective: name"),
    ("schedule.gamma=0.5", "schedule 'cosine' has no setting 'gamma'"),
    ("train.epochs=0", "epochs must be an integer >= 1"),
    ("optimizer.name=lion", None),
    ("model.preset=huge", "scnn has no preset 'huge'; presets: digits, mnist"),
    ("epochs", "must look like key=value"),
])
def test_bad_overrides_raise_clear_errors(override, message):
    if message is None:
        recipe = load_recipe("digits-scnn", [override])  # the optimizer name is checked when built
        assert recipe["optimizer"]["name"] == "lion"
        return
    with pytest.raises(RecipeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_recipe("digits-scnn", [override])


def test_user_recipe_files(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("data: {name: digits}\nmodel: {name: scnn, preset: digits}\ntrain: {epochs: 2}\n")
    recipe = load_recipe(str(path))
    assert recipe["name"] == "mine" and recipe["train"]["epochs"] == 2 and recipe["objective"]["name"] == "mean_membrane"
    path.write_text("data: [1, 2\n")
    with pytest.raises(RecipeError, match="not valid YAML"):
        load_recipe(str(path))
    path.write_text("data: {name: digits}\nmodel: {name: scnn}\nextras: 1\n")
    with pytest.raises(RecipeError, match="unknown recipe section 'extras'"):
        load_recipe(str(path))
    with pytest.raises(RecipeError, match="no recipe file"):
        load_recipe(str(tmp_path / "missing.yaml"))


def test_recipes_command_lists_and_prints():
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["recipes"]) == 0
    text = out.getvalue()
    assert all(name in text for name in SHIPPED) and "digits-scnn *" in text
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["recipes", "ecg-srnn", "--set", "train.epochs=5"]) == 0
    assert "burn_in: 10" in out.getvalue() and "epochs: 5" in out.getvalue()


@pytest.mark.parametrize("name", sorted(n for n in available_recipes() if load_recipe(n)["model"]["name"] in ("scnn", "srnn")))
def test_each_recipe_s_data_fits_its_model(name):
    """One batch of the recipe's real data (the shared folder) runs through its model: the data's
    features per step and the model's input size agree (psmnist-srnn once fed [784, 1] to a
    4-input network)."""
    import torch

    from spikeforge.data import collate_for
    from spikeforge.learning.rules import run_model
    from spikeforge.recipes.build import build_datasets, build_model_from

    from ..data._shared import SHARED_DATA, require

    recipe = load_recipe(name, ["data.limit=2"])
    folder = {"mnist": "mnist", "smnist": "mnist", "psmnist": "mnist", "ecg": "qtdb", "qtdb": "qtdb"}.get(
        recipe["data"]["name"])
    data_dir = require(SHARED_DATA / folder) if folder else None
    train, _ = build_datasets(recipe, data_dir=data_dir, test=False)
    model = build_model_from(recipe, train)
    x, y = collate_for(train)([train[0], train[1]])
    with torch.no_grad():
        out, _ = run_model(model, x)
    classes = getattr(train, "dataset", train).num_classes  # data.limit wraps it in a Subset
    assert torch.isfinite(out).all() and out.shape[-1] == classes
