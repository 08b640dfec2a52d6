"""ECG (QTDB) per-step accuracy of BPTT, e-prop and OSTL: the ``ecg-srnn`` recipe, one flag apart.

Each rule trains the same network (the ``ecg`` SRNN preset, seed 0) for the same epochs with
the recipe's optimizer and schedule; the test accuracy after the last epoch and the wall time
are printed and written as JSON.

    python benchmarks/online/ecg_accuracy.py --rule eprop --epochs 15 --data-dir /work/shared/data/qtdb
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from spikeforge.learning import Trainer
from spikeforge.recipes.build import build_run
from spikeforge.recipes.loader import load_recipe


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rule", required=True, choices=["bptt", "eprop", "ostl"])
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--data-dir", default="/work/shared/data/qtdb")
    ap.add_argument("--out", default="benchmarks/online/out")
    ap.add_argument("--set", action="append", default=[], help="extra recipe overrides")
    ap.add_argument("--flush-denormal", action="store_true",
                    help="torch.set_flush_denormal(True): decaying float32 traces otherwise slow to a crawl")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.flush_denormal:
        torch.set_flush_denormal(True)
    overrides = [f"learning={args.rule}", f"train.epochs={args.epochs}", *args.set]
    recipe = load_recipe("ecg-srnn", overrides=overrides)
    run = build_run(recipe, data_dir=args.data_dir)
    step = run.rule.step

    def pinned_step(*a, **kw):
        # the numba kernels of the evaluation pass put torch back on all cores; keep the thread count fixed
        torch.set_num_threads(args.threads)
        return step(*a, **kw)

    run.rule.step = pinned_step
    out = Path(args.out) / f"ecg-{args.rule}"
    trainer = Trainer(run.model, run.train_data, test_data=run.test_data, objective=run.objective, rule=run.rule,
                      config=run.config, collate_fn=run.collate_fn, out_dir=out, tensorboard=False)
    start = time.perf_counter()
    rows = trainer.fit()
    wall = time.perf_counter() - start
    result = {"rule": args.rule, "epochs": args.epochs, "flush_denormal": args.flush_denormal, "overrides": overrides, "wall_s": wall,
              "test_accuracy": rows[-1]["test_accuracy"], "best_test_accuracy": max(r["test_accuracy"] for r in rows),
              "train_accuracy": rows[-1]["train_accuracy"], "threads": args.threads,
              "curve": [r["test_accuracy"] for r in rows]}
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
