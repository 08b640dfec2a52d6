"""spikeforge's SynOps, dense MACs, activation sparsity and memory against NeuroBench's, same model, same inputs.

    nice -n 10 python benchmarks/hardware/neurobench_compare.py [--checkpoint CKPT ...] [--samples 128]

NeuroBench (the neurobench package from PyPI, 2.x) runs in the same process on the same
model and inputs: its SynapticOperations (Effective_ACs, Effective_MACs, Dense),
ActivationSparsity, Footprint and ConnectionSparsity. Models: each checkpoint given, and
three untrained ones that cover the cases (direct analog input: MACs in the first layer;
Bernoulli spikes and average pooling: ACs then MACs; a recurrent adaptive SRNN).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from spikeforge.cli.report import load_trained, test_batches
from spikeforge.hardware.energy import measure_activity
from spikeforge.hardware.energy._neurobench import neurobench_metrics
from spikeforge.models import SCNN, SRNN


def compare(name: str, model, x: torch.Tensor) -> dict:
    samples = x.shape[0] if x.dim() == 4 else x.shape[1]
    model.eval()
    torch.manual_seed(1)
    ours = measure_activity(model, x)
    torch.manual_seed(1)
    theirs = neurobench_metrics(model, x, samples)
    return {"model": name, "samples": samples,
            "ours": {"Effective_ACs": ours.acs, "Effective_MACs": ours.macs, "Dense": ours.dense,
                     "ActivationSparsity": ours.activation_sparsity, "Footprint": ours.footprint_bytes,
                     "ConnectionSparsity": round(ours.connection_sparsity, 4)},
            "neurobench": theirs}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, action="append", default=[])
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    import neurobench

    rows = []
    for ckpt in args.checkpoint:
        model, recipe, data = load_trained(ckpt, [], None, need_data=True)
        x = torch.cat(test_batches(data, args.samples, args.samples), dim=0 if data[0][0].dim() == 3 else 1)
        rows.append(compare(f"{recipe['name']} (trained, {ckpt})", model, x))
    torch.manual_seed(0)
    images = torch.rand(args.samples, 1, 8, 8)
    rows.append(compare("SCNN digits, direct input (untrained)", SCNN.preset("digits"), images))
    rows.append(compare("SCNN digits, Bernoulli input, avg pooling (untrained)",
                        SCNN.preset("digits", encoding="bernoulli", pooling="avg"), images))
    rows.append(compare("SRNN ecg, torch backend (untrained)", SRNN.preset("ecg", backend="torch"),
                        torch.rand(100, 16, 4)))
    print(f"neurobench {getattr(neurobench, '__version__', '2.x')}, torch {torch.__version__}")
    keys = ("Effective_ACs", "Effective_MACs", "Dense", "ActivationSparsity", "Footprint", "ConnectionSparsity")
    print("| model | metric | spikeforge | NeuroBench | equal |")
    print("|---|---|---|---|---|")
    for r in rows:
        for k in keys:
            a, b = r["ours"][k], r["neurobench"][k]
            same = abs(a - b) <= 1e-9 * max(1.0, abs(b))
            print(f"| {r['model']} | {k} | {a:,.6g} | {b:,.6g} | {'yes' if same else '**no**'} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=1, default=float))
    return 0


if __name__ == "__main__":
    sys.exit(main())
