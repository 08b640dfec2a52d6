"""Event-driven against dense synaptic computation, over input firing rates from 0.1 % to 20 %.

    nice -n 10 python benchmarks/hardware/events_speed.py [--inputs 2048] [--outputs 2048] [--steps 100]
        [--batch 1 16] [--threads 1] [--json out.json]

For a Linear layer fed Bernoulli spike trains [T, B, N_in] at rate p, times (median of
repeats) the dense product over all steps at once (F.linear on [T*B, N_in], BLAS) and the
event-driven accumulation of the weight columns of the active inputs
(spikeforge.hardware.events.event_linear: a sparse COO input times the transposed
weights, torch.sparse.mm), checks that they agree, and reports the rate
below which events win (the crossover, interpolated in log rate). Then the same for a
whole two-layer network (Linear-LIF-Linear-LIF) run by EventDrivenNetwork and by the
dense spikeforge network, which must give the same output spikes.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import spikeforge.nn as snn
from spikeforge.hardware.events import EventDrivenNetwork, event_linear

RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)


def median_time(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def crossover(rates, ratios) -> float | None:
    """The rate where dense time / event time crosses 1 (log-linear interpolation)."""
    for (r0, a), (r1, b) in zip(zip(rates, ratios), zip(rates[1:], ratios[1:])):
        if a >= 1 > b:
            t = (math.log(a) - 0) / (math.log(a) - math.log(b))
            return math.exp(math.log(r0) + t * (math.log(r1) - math.log(r0)))
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=2048)
    parser.add_argument("--outputs", type=int, default=2048)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 16])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    layer = nn.Linear(args.inputs, args.outputs)
    w, b = layer.weight.detach(), layer.bias.detach()
    wt = w.t().contiguous()  # kept by EventDrivenNetwork, as a core keeps its weights by source
    results = {"config": vars(args) | {"json": None, "torch": torch.__version__}, "layer": [], "network": []}
    print(f"Linear {args.inputs} -> {args.outputs}, T = {args.steps}, {args.threads} thread(s), torch {torch.__version__}")
    for batch in args.batch:
        ratios = []
        print(f"\nbatch {batch}: | rate | events | dense (ms) | event-driven (ms) | dense / events |")
        for rate in RATES:
            x = (torch.rand(args.steps * batch, args.inputs) < rate).float()
            dense_t = median_time(lambda: F.linear(x, w, b), args.repeats)
            event_t = median_time(lambda: event_linear(x, w, b, weight_t=wt), args.repeats)
            torch.testing.assert_close(event_linear(x, w, b), F.linear(x, w, b), rtol=1e-4, atol=1e-4)
            ratios.append(dense_t / event_t)
            results["layer"].append({"batch": batch, "rate": rate, "events": int(x.sum()), "dense_s": dense_t,
                                     "event_s": event_t})
            print(f"| {rate:.1%} | {int(x.sum()):,} | {dense_t * 1e3:.3f} | {event_t * 1e3:.3f} | "
                  f"{dense_t / event_t:.2f}x |")
        cross = crossover(RATES, ratios)
        results.setdefault("crossover", {})[str(batch)] = cross
        print(f"crossover (events faster below): {'-' if cross is None else f'{cross:.2%}'}")
    # a whole network: the synaptic layers event-driven, the neurons as usual
    torch.manual_seed(0)
    net = snn.Sequential(nn.Linear(args.inputs, 512), snn.LIF(r=8.0, reset="zero"), nn.Linear(512, 10),
                         snn.LIF(r=8.0, reset="zero")).eval()
    events = EventDrivenNetwork(net)
    print("\nnetwork Linear-LIF-Linear-LIF, batch 1: | rate | dense (ms) | event-driven (ms) | same spikes |")
    for rate in RATES:
        x = (torch.rand(args.steps, 1, args.inputs) < rate).float()
        with torch.no_grad():
            dense_t = median_time(lambda: net(x), args.repeats)
            event_t = median_time(lambda: events(x), args.repeats)
            same = bool(torch.equal(net(x)[0], events(x)[0]))
        results["network"].append({"rate": rate, "dense_s": dense_t, "event_s": event_t, "same_spikes": same})
        print(f"| {rate:.1%} | {dense_t * 1e3:.3f} | {event_t * 1e3:.3f} | {same} |")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
