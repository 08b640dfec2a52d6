"""Training speed per sample of e-prop and OSTL against BPTT at T = 100 (the ``ecg-srnn`` network).

One training step = ``rule.step`` (forward and update into ``.grad``) on a batch of 64 ECG
windows cut to T steps, per-step loss, one thread. BPTT runs with the model's default
backend (``auto``: the numba CPU kernel when installed) and with the plain-torch loop.
Rules are timed interleaved (one step each per round, ``--rounds`` rounds after two warm-up
rounds) so that the load of a shared machine falls on all of them alike; the median is kept.

    python benchmarks/online/speed.py --steps 100 --rounds 15
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))
from _setup import ecg_setup  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--out", default="benchmarks/online/out")
    args = ap.parse_args()
    torch.set_num_threads(1)
    setups = {}
    for name, rule in (("bptt", "bptt"), ("bptt-torch", "bptt"), ("eprop", "eprop"), ("ostl", "ostl")):
        model, learner, x, y, objective = ecg_setup(rule, args.steps, args.batch)
        if name == "bptt-torch":
            for m in model.modules():
                if hasattr(m, "backend"):
                    m.backend = "torch"
        setups[name] = (model, learner, x, y, objective)
    times: dict[str, list[float]] = {name: [] for name in setups}
    for r in range(args.rounds + 2):
        for name, (model, learner, x, y, objective) in setups.items():
            model.zero_grad(set_to_none=True)
            torch.set_num_threads(1)  # running the numba kernel puts torch back on all cores
            start = time.perf_counter()
            learner.step(model, x, y, objective)
            if r >= 2:
                times[name].append(time.perf_counter() - start)
    result = {name: {"median_s": statistics.median(t), "per_sample_ms": 1e3 * statistics.median(t) / args.batch,
                     "min_s": min(t)} for name, t in times.items()}
    for name in ("eprop", "ostl"):
        result[name]["ratio_vs_bptt"] = result[name]["median_s"] / result["bptt"]["median_s"]
        result[name]["ratio_vs_bptt_torch"] = result[name]["median_s"] / result["bptt-torch"]["median_s"]
    for name, row in result.items():
        print(f"{name:10s} {row['median_s'] * 1e3:8.1f} ms/step  {row['per_sample_ms']:6.2f} ms/sample"
              + (f"  x{row['ratio_vs_bptt']:.2f} of BPTT (auto), x{row['ratio_vs_bptt_torch']:.2f} of BPTT (torch)"
                 if "ratio_vs_bptt" in row else ""))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"speed_T{args.steps}.json").write_text(json.dumps({"T": args.steps, "batch": args.batch,
                                                               "rounds": args.rounds, **result}, indent=1))


if __name__ == "__main__":
    main()
