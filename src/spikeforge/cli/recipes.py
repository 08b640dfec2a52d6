"""List the training recipes shipped with spikeforge, or show one in full.

  spikeforge recipes               # name, data set, model, epochs, description
  spikeforge recipes ecg-srnn      # the whole recipe, defaults filled in, as YAML

Run one with 'spikeforge train NAME'; copy the YAML to a file to make your own
('spikeforge train my-recipe.yaml').
"""

from __future__ import annotations

import argparse
import sys

NAME = "recipes"
HELP = "list the shipped training recipes (or print one)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", nargs="?", default=None, metavar="RECIPE",
                        help="print this recipe (a name or a YAML file), defaults filled in")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="apply an override before printing (repeatable)")


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except ImportError as exc:
        print(f"spikeforge recipes: error: {exc}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace) -> int:
    from ..recipes import DEFAULT_RECIPE, available_recipes, dump_recipe, load_recipe

    if args.recipe is not None:
        print(dump_recipe(load_recipe(args.recipe, args.overrides)), end="")
        return 0
    rows = [("recipe", "data", "model", "epochs", "description")]
    for name in available_recipes():
        r = load_recipe(name)
        model = r["model"]["name"] + (f" ({r['model']['preset']})" if r["model"].get("preset") else "")
        data = r["data"]["name"] + (f" ({r['data']['mode']})" if r["data"].get("mode") else "")
        rows.append((name + (" *" if name == DEFAULT_RECIPE else ""), data, model, str(r["train"]["epochs"]),
                     r.get("description") or ""))
    widths = [max(len(row[c]) for row in rows) for c in range(4)]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row[:4], widths)) + "  " + row[4])
    print("\n* the default ('spikeforge train' with no recipe). Show one: spikeforge recipes NAME")
    return 0
