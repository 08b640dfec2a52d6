"""Evaluate a trained network from its checkpoint on the test set of its recipe.

CHECKPOINT is a checkpoint.pt written by 'spikeforge train' (read with
torch.load(weights_only=True)); the model and the data set are rebuilt from the
recipe stored in it. Prints the test accuracy and loss, and per spiking layer the
spikes per inference and the firing rate.

  spikeforge eval spikeforge-runs/digits-scnn/checkpoint.pt
  spikeforge eval run/checkpoint.pt --data-dir ~/data --set data.limit=1000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ._args import positive_int

NAME = "eval"
HELP = "evaluate a checkpoint on its recipe's test set (accuracy, firing rates)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a checkpoint.pt from 'spikeforge train'")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="folder of the data files (default: $SPIKEFORGE_DATA or ~/.cache/spikeforge)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the stored recipe, e.g. data.limit=500 (repeatable)")
    parser.add_argument("--batch-size", type=positive_int, default=None, metavar="B",
                        help="evaluation batch size (default: the recipe's)")
    parser.add_argument("--limit-batches", type=positive_int, default=None, metavar="N",
                        help="evaluate on the first N batches only")
    parser.add_argument("--device", default="auto", metavar="DEV", help="cpu, cuda, ... (default: auto)")
    parser.add_argument("--train-set", action="store_true", help="evaluate on the training set instead")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:
        print(f"spikeforge eval: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..data import collate_for
    from ..learning import evaluate, load_checkpoint, objective_from_name
    from ..learning.checkpoint import evaluation_weights
    from ..learning.report import format_layers
    from ..recipes import apply_overrides, build_datasets, build_model_from, validate_recipe
    from .train import resolve_device

    device = resolve_device(args.device)
    state = load_checkpoint(args.checkpoint)
    recipe = (state.get("extra") or {}).get("recipe")
    if recipe is None:
        raise ValueError(f"{args.checkpoint} holds no recipe (it was not written by 'spikeforge train'); "
                         "evaluate it with spikeforge.learning.evaluate and your own model")
    recipe = validate_recipe(apply_overrides(recipe, args.overrides))
    train_data, test_data = build_datasets(recipe, data_dir=args.data_dir, train=args.train_set,
                                           test=not args.train_set)
    data = train_data if args.train_set else test_data
    model = build_model_from(recipe, data)
    model.load_state_dict(evaluation_weights(state))
    if getattr(type(model), "self_training", False):  # STDP / BP-STDP: no objective, their own test
        return _plasticity(args, state, recipe, model, data)
    model.to(device)
    objective_cfg = dict(recipe["objective"])
    objective = objective_from_name(objective_cfg.pop("name"), **objective_cfg)
    batch = args.batch_size or recipe["train"].get("eval_batch_size") or recipe["train"]["batch_size"]
    start = time.perf_counter()
    result = evaluate(model, data, objective, batch_size=batch, collate_fn=collate_for(data), device=device,
                      limit=args.limit_batches)
    wall = time.perf_counter() - start
    split = "training" if args.train_set else "test"
    trained = f"{state['epoch']} epoch(s)" + ("" if state.get("finished") else f", batch {state['batch']} of the next")
    print(f"spikeforge eval: {args.checkpoint} (recipe {recipe['name']}, trained {trained})")
    acc, loss = result["accuracy"], result["loss"]
    print(f"{split} accuracy {'-' if acc is None else f'{acc:.2%}'}, loss {'-' if loss is None else f'{loss:.4f}'}, "
          f"on {result['samples']} samples ({wall:.1f} s on {device})")
    rate = result["rate_hz"]
    print(f"mean firing rate {'-' if rate is None else f'{rate:.1f} Hz'} ({result['rate']:.4f} spikes per neuron "
          "per step)\n")
    print(format_layers(result["layers"], result["samples"]))
    return 0


def _plasticity(args: argparse.Namespace, state: dict, recipe: dict, model: object, data: object) -> int:
    from ..models.plasticity_run import evaluate_trained

    start = time.perf_counter()
    result = evaluate_trained(model, data, epoch=max(int(state.get("epoch", 1)) - 1, 0))
    split = "training" if args.train_set else "test"
    print(f"spikeforge eval: {args.checkpoint} (recipe {recipe['name']}, trained {state.get('epoch', 0)} epoch(s))")
    print(f"{split} accuracy {result['accuracy']:.2%} on {result['samples']} samples "
          f"({time.perf_counter() - start:.1f} s), {result['spikes_per_sample']:.1f} output spikes per sample")
    return 0
