"""LIF forward and backward times of the CPU kernel at 1 and 2 threads (the thread-scaling check in RESULTS.md).

    python benchmarks/lif_threads.py [--threads 1 2] [--shape 100,16,4096] [--calls 11]

Each thread count runs in this process one after the other: 4 warm-up calls, then the
median of ``--calls`` timed forward and backward passes of ``LIF(N, backend="cpu")`` on a
fixed input with a fixed output gradient (the input's gradient is reset every call).
Run it with ``PYTHONPATH=<other checkout>/src`` to time another version of the kernels, and
with ``OMP_WAIT_POLICY=PASSIVE`` to see what torch's spinning OpenMP threads cost the
kernels' own thread pool (see benchmarks/RESULTS.md).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def time_lif(shape: tuple[int, int, int], threads: int, calls: int) -> tuple[float, float]:
    import spikeforge.nn as snn

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    x = (torch.rand(*shape) * 2).requires_grad_()
    g = torch.rand(*shape)
    lif = snn.LIF(shape[2], backend="cpu", tau_mem=2e-3 / 1.386)  # decay 0.5 per 1 ms step
    forward, backward = [], []
    for k in range(4 + calls):
        x.grad = None
        start = time.perf_counter()
        out, _ = lif(x)
        mid = time.perf_counter()
        out.backward(g)
        end = time.perf_counter()
        if k >= 4:
            forward.append(mid - start)
            backward.append(end - mid)
    return statistics.median(forward) * 1e3, statistics.median(backward) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shape", default="100,16,4096")
    parser.add_argument("--calls", type=int, default=11)
    args = parser.parse_args()
    shape = tuple(int(v) for v in args.shape.split(","))
    for threads in args.threads:
        f, b = time_lif(shape, threads, args.calls)  # type: ignore[arg-type]
        print(f"{threads} thread(s), shape {shape}: forward {f:.1f} ms, backward {b:.1f} ms, total {f + b:.1f} ms")


if __name__ == "__main__":
    main()
