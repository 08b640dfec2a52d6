"""What a trained network would cost on neuromorphic hardware: the activity and energy table.

CHECKPOINT is a checkpoint.pt written by 'spikeforge train'; the model and its test set
are rebuilt from the recipe stored in it. The model runs on the first --samples test
samples; per layer the table gives spikes and firing rates, activation sparsity,
synaptic operations (accumulates triggered by spikes, counting fan-out; MACs where a
layer is fed analog values), the dense MACs of the same network, neuron updates and
memory (NeuroBench's definitions), then an energy estimate per hardware profile
(45 nm CMOS after Horowitz 2014, published neuromorphic chips, or your own YAML file).
A bar chart goes to --out (default: energy.png next to the checkpoint).

  spikeforge report spikeforge-runs/digits-scnn/checkpoint.pt
  spikeforge report run/checkpoint.pt --profile cmos-45nm-int8 --profile loihi --profiles-file chips.yaml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ._args import positive_int

NAME = "report"
HELP = "per-layer spikes, SynOps, dense MACs, memory and energy of a checkpoint"

DEFAULT_PROFILES = ("cmos-45nm-fp32", "cmos-45nm-int8", "loihi")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, metavar="CHECKPOINT", help="a checkpoint.pt from 'spikeforge train'")
    parser.add_argument("--samples", type=positive_int, default=256, metavar="N",
                        help="test samples to run (default: 256)")
    parser.add_argument("--batch-size", type=positive_int, default=64, metavar="B", help="batch size (default: 64)")
    parser.add_argument("--profile", dest="profiles", action="append", default=None, metavar="NAME",
                        help="hardware profile to price the operations with (repeatable; default: "
                             + ", ".join(DEFAULT_PROFILES) + ")")
    parser.add_argument("--profiles-file", type=Path, default=None, metavar="YAML",
                        help="a YAML file of your own profiles (name: {mac: pJ, ac: pJ, neuron: pJ, spike: pJ})")
    parser.add_argument("--out", type=Path, default=None, metavar="PNG",
                        help="where to save the bar chart (default: energy.png next to the checkpoint)")
    parser.add_argument("--json", type=Path, default=None, metavar="FILE", help="also write the numbers as JSON")
    parser.add_argument("--no-plot", action="store_true", help="skip the bar chart")
    parser.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                        help="folder of the data files (default: $SPIKEFORGE_DATA or ~/.cache/spikeforge)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a setting of the stored recipe (repeatable)")


def load_trained(checkpoint: Path, overrides: list[str], data_dir: Path | None, *, need_data: bool) -> tuple:
    """``(model in eval mode, recipe, test set or None)`` rebuilt from a 'spikeforge train' checkpoint."""
    from ..learning import load_checkpoint
    from ..learning.checkpoint import evaluation_weights
    from ..recipes import apply_overrides, build_datasets, build_model_from, validate_recipe

    state = load_checkpoint(checkpoint)
    recipe = (state.get("extra") or {}).get("recipe")
    if recipe is None:
        raise ValueError(f"{checkpoint} holds no recipe (it was not written by 'spikeforge train')")
    recipe = validate_recipe(apply_overrides(recipe, overrides))
    data = None
    if need_data:
        _, data = build_datasets(recipe, data_dir=data_dir, train=False, test=True)
    model = build_model_from(recipe, data)
    try:
        model.load_state_dict(evaluation_weights(state))
    except RuntimeError as exc:
        if data is None:  # the data set decides a shape the recipe does not give
            _, data = build_datasets(recipe, data_dir=data_dir, train=False, test=True)
            model = build_model_from(recipe, data)
            model.load_state_dict(evaluation_weights(state))
        else:
            raise ValueError(f"{checkpoint}: the stored weights do not fit the recipe's model: "
                             f"{str(exc).splitlines()[0]}") from None
    return model.eval(), recipe, data


def test_batches(data: Any, samples: int, batch_size: int) -> list:
    from torch.utils.data import DataLoader, Subset

    from ..data import collate_for

    subset = Subset(data, range(min(samples, len(data))))
    loader = DataLoader(subset, batch_size=batch_size, shuffle=False, collate_fn=collate_for(data))
    return [x for x, _ in loader]


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:
        print(f"spikeforge report: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..hardware.energy import energy_chart, format_report, get_profile, load_profiles, measure_activity

    profiles: list[Any] = list(args.profiles or DEFAULT_PROFILES)
    own = load_profiles(args.profiles_file) if args.profiles_file else {}
    if args.profiles_file and not args.profiles:
        profiles += list(own)
    resolved = [own[p] if p in own else get_profile(p) for p in profiles]
    model, recipe, data = load_trained(args.checkpoint, args.overrides, args.data_dir, need_data=True)
    report = measure_activity(model, test_batches(data, args.samples, args.batch_size))
    print(f"spikeforge report: {args.checkpoint} (recipe {recipe['name']})")
    print(format_report(report, resolved))
    for p in resolved:
        if p.source:
            print(f"  {p.name}: {p.source}")
    if args.json:
        payload = {**report.as_dict(), "energy_pj": {p.name: vars(report.energy(p)) | {"profile": p.name}
                                                      for p in resolved}}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=1, default=str), encoding="utf-8")
        print(f"wrote {args.json}")
    if not args.no_plot:
        try:
            from ..viz import save_figure

            out = args.out or args.checkpoint.with_name("energy.png")
            save_figure(energy_chart(report, resolved, title=f"{recipe['name']}: operations and energy"), out)
            print(f"wrote {out}")
        except ImportError:
            print("chart: skipped, matplotlib is missing (pip install 'spikeforge[viz]')")
    return 0
