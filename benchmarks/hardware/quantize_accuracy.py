"""Test accuracy of a trained checkpoint in float32 and after integer quantization (int8, int4; PTQ and QAT).

    nice -n 10 python benchmarks/hardware/quantize_accuracy.py CHECKPOINT [--bits 8 4] [--qat-epochs 2]
        [--limit N] [--data-dir DIR] [--json out.json]

The model and data come from the recipe stored in the checkpoint (any 'spikeforge train'
checkpoint: digits-scnn, mnist-scnn, ...). Post-training quantization calibrates the
first layer's input scale on 512 training samples; --qat-epochs K fine-tunes a copy with
fake-quantized weights (straight-through) for K epochs at a tenth of the recipe's
learning rate before quantizing it. Prints one line per setting.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, Subset

from spikeforge.cli.report import load_trained
from spikeforge.data import collate_for
from spikeforge.hardware.quantize import prepare_qat, quantize
from spikeforge.learning import Trainer, evaluate, objective_from_name
from spikeforge.recipes import build_datasets, train_config


def accuracy(model, data, objective, batch_size: int) -> float:
    return float(evaluate(model, data, objective, batch_size=batch_size, collate_fn=collate_for(data))["accuracy"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--bits", type=int, nargs="+", default=[8, 4])
    parser.add_argument("--qat-epochs", type=int, default=0)
    parser.add_argument("--limit", type=int, default=None, help="test samples (default: all)")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    model, recipe, test = load_trained(args.checkpoint, [], args.data_dir, need_data=True)
    if args.limit:
        test = Subset(test, range(min(args.limit, len(test))))
    train, _ = build_datasets(recipe, data_dir=args.data_dir, train=True, test=False)
    objective_cfg = dict(recipe["objective"])
    objective = objective_from_name(objective_cfg.pop("name"), **objective_cfg)
    calib = next(iter(DataLoader(Subset(train, range(min(512, len(train)))), batch_size=512,
                                 collate_fn=collate_for(train))))[0]
    rows = []
    start = time.perf_counter()
    base = accuracy(model, test, objective, args.batch_size)
    rows.append({"setting": "float32", "accuracy": base, "seconds": time.perf_counter() - start})
    for bits in args.bits:
        start = time.perf_counter()
        acc = accuracy(quantize(model, bits=bits, calibration=calib), test, objective, args.batch_size)
        rows.append({"setting": f"int{bits} post-training", "accuracy": acc, "seconds": time.perf_counter() - start})
        if args.qat_epochs:
            tuned = prepare_qat(copy.deepcopy(model).train(), bits=bits)
            config = train_config(recipe).to_dict()
            config["epochs"] = args.qat_epochs
            config["optimizer"] = {**config["optimizer"], "lr": config["optimizer"].get("lr", 1e-3) * 0.1}
            config["schedule"] = {"name": "constant"}
            trainer = Trainer(tuned, train, test_data=None, objective=objective, config=config,
                              collate_fn=collate_for(train), progress=False)
            start = time.perf_counter()
            trainer.fit()
            acc = accuracy(quantize(tuned.eval(), bits=bits, calibration=calib), test, objective, args.batch_size)
            rows.append({"setting": f"int{bits} QAT ({args.qat_epochs} epochs)", "accuracy": acc,
                         "seconds": time.perf_counter() - start})
    print(f"{args.checkpoint} (recipe {recipe['name']}), {len(test)} test samples")
    print("| setting | test accuracy | change (points) |")
    print("|---|---|---|")
    for r in rows:
        print(f"| {r['setting']} | {r['accuracy']:.2%} | {100 * (r['accuracy'] - base):+.2f} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"checkpoint": str(args.checkpoint), "recipe": recipe["name"],
                                         "test_samples": len(test), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
