"""How fast can exact BPTT through a recurrent spiking layer be? The dense-product bound.

The SRNN layer's backward pass must form, at every step and in reverse order, the
recurrent path of the spike gradient, ``W_rec^T g_{c,t+1}``: a dense ``[B, H] x [H, H]``
product, since the current's gradient ``g_c`` is dense for a surrogate with unbounded
support. No fusion removes it (each step needs the previous one), so ``T`` such
products, timed here with torch's own BLAS, are a floor under any exact backward pass
of the layer; the plain-torch reference runs three dense products per step (the
forward ``W z``, that backward product and the weight gradient's per-step outer product),
spikeforge one (its forward product is event-driven, its weight gradient one product
over all steps). The script times, in one process, one after another:

- ``reference``: ``RecurrentLIF(..., backend="torch")`` forward+backward;
- ``spikeforge``: the same layer with ``backend="cpu"`` (the fused kernels);
- ``1 product/step``: ``T`` products ``[B, H] x [H, H]`` with ``torch.mm``;
- ``3 products/step``: three of them per step (the reference's matrix work alone).

and prints the ratios: reference / spikeforge (the issue's target is 5x) and
reference / (1 product/step), the most any exact implementation could reach if
everything but that product were free.

    python benchmarks/srnn_bound.py --threads 2 --shape 784,64,256,1 --shape 1301,64,36,4
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from spikeforge.bench.timing import time_fn
from spikeforge.nn import RecurrentLIF


def _layer_step(T: int, B: int, H: int, I: int, backend: str):
    torch.manual_seed(0)
    layer = RecurrentLIF(I, H, backend=backend)
    x = torch.randn(T, B, I)

    def step() -> None:
        layer.zero_grad(set_to_none=True)
        spikes, _ = layer(x)
        spikes.sum().backward()

    return step


def _products(T: int, B: int, H: int, per_step: int):
    g = torch.randn(B, H)
    w = torch.randn(H, H)
    out = torch.empty(B, H)

    def step() -> None:
        for _ in range(T * per_step):
            torch.mm(g, w, out=out)

    return step


def measure(T: int, B: int, H: int, I: int, repeats: int) -> dict:
    rows = {
        "reference": _layer_step(T, B, H, I, "torch"),
        "spikeforge": _layer_step(T, B, H, I, "cpu"),
        "1 product/step": _products(T, B, H, 1),
        "3 products/step": _products(T, B, H, 3),
    }
    ms = {}
    for name, fn in rows.items():
        result = time_fn(fn, repeats=repeats if name != "reference" else max(3, repeats // 2), warmup=2)
        ms[name] = 1e3 * result.median_s
    return {"shape": [T, B, H, I], "ms": ms,
            "reference/spikeforge": ms["reference"] / ms["spikeforge"],
            "reference/bound": ms["reference"] / ms["1 product/step"],
            "spikeforge/bound": ms["spikeforge"] / ms["1 product/step"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shape", action="append", help="T,B,H,I (repeatable)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    shapes = [tuple(int(v) for v in s.split(",")) for s in (args.shape or ["784,64,256,1", "1301,64,36,4"])]
    results = []
    for T, B, H, I in shapes:
        r = measure(T, B, H, I, args.repeats)
        results.append(r)
        print(f"(T, B, H, I) = {(T, B, H, I)}, {args.threads} threads")
        for name, value in r["ms"].items():
            print(f"  {name:<16} {value:9.1f} ms")
        print(f"  reference / spikeforge {r['reference/spikeforge']:.2f}x; reference / (1 product/step) "
              f"{r['reference/bound']:.2f}x; spikeforge / (1 product/step) {r['spikeforge/bound']:.2f}x")
        sys.stdout.flush()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"threads": args.threads, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
