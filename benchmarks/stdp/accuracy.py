"""Accuracy and wall time of the plasticity recipes on the full MNIST test set.

Runs ``stdp-mnist`` (Diehl & Cook 2015) at the given network sizes and ``bpstdp-mnist``
(Tavanaei & Maida 2019) through the same code path as ``spikeforge train`` (training,
label assignment on the whole training set, test on the 10,000 test images), one after the
other, and prints one line per run beside the paper's figure::

    nice -n 10 python benchmarks/stdp/accuracy.py --runs dc100,dc100-offset,dc100-euler,dc400,dc1600,bp2,bp3

Each run writes its checkpoint, metrics, report and pictures under ``--out/<run>/``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

# run name -> (recipe, overrides, what the paper reports)
RUNS = {
    "dc100": ("stdp-mnist", ["model.n_neurons=100", "train.epochs=1"], "82.9% (100 neurons, Diehl & Cook 2015)"),
    "dc100-offset": ("stdp-mnist", ["model.n_neurons=100", "model.preset=offset", "train.epochs=1"],
                     "82.9% (100 neurons)"),
    "dc100-euler": ("stdp-mnist", ["model.n_neurons=100", "model.method=euler", "train.epochs=1"],
                    "82.9% (100 neurons)"),
    "dc400": ("stdp-mnist", ["model.n_neurons=400", "train.epochs=1"], "87.0% (400 neurons)"),
    "dc400-offset": ("stdp-mnist", ["model.n_neurons=400", "model.preset=offset", "train.epochs=1"],
                     "87.0% (400 neurons)"),
    "dc1600": ("stdp-mnist", ["model.n_neurons=1600", "train.epochs=1"], "91.9% (1600 neurons, 3 epochs)"),
    "bp2": ("bpstdp-mnist", ["model.hidden_sizes=[500]", "train.epochs=3"],
            "96.6 +- 0.1% (two-layer network, Tavanaei & Maida 2019)"),
    "bp3": ("bpstdp-mnist", ["model.hidden_sizes=[500,150]", "train.epochs=3"],
            "97.2 +- 0.07% (three-layer network)"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", default="dc100,dc400,bp2,bp3")
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--out", default="benchmarks/out/stdp")
    ap.add_argument("--json", default=None)
    ap.add_argument("--set", dest="extra", action="append", default=[], help="extra override for every run")
    args = ap.parse_args()

    from spikeforge.models.plasticity_run import run_recipe
    from spikeforge.recipes import load_recipe

    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs", "runs": {}}
    for name in args.runs.split(","):
        recipe_name, overrides, paper = RUNS[name]
        recipe = load_recipe(recipe_name, overrides + args.extra)
        start = time.perf_counter()
        final = run_recipe({"recipe": recipe, "out": os.path.join(args.out, name), "data_dir": args.data_dir,
                            "resume": False, "report": True})
        wall = time.perf_counter() - start
        row = {"recipe": recipe_name, "overrides": overrides + args.extra, "test_accuracy": final["test_accuracy"],
               "train_s": final.get("elapsed_s"), "wall_s": wall, "paper": paper, "final": final}
        results["runs"][name] = row
        print(f"RESULT {name}: test accuracy {final['test_accuracy']:.2%} (paper {paper}); "
              f"training {final.get('elapsed_s', 0):.0f} s, whole run {wall:.0f} s", flush=True)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
