"""Benchmarks against the peer libraries (snnTorch, SpikingJelly, Norse; extra ``anchors``),
each in one process, one library after another:

- ``spikeforge bench speed`` times forward+backward of LIF workloads and prints the table
  with the memory-bandwidth floor;
- ``spikeforge bench train`` measures the training throughput (images/s) of snnTorch's
  tutorial SCNN on MNIST."""

from __future__ import annotations

import argparse

from ..bench import speed, training

NAME = "bench"
HELP = "speed benchmarks against the peer libraries"
BENCHMARKS = (speed, training)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="benchmark", metavar="<benchmark>", required=True)
    for module in BENCHMARKS:
        p = sub.add_parser(module.NAME, help=module.HELP, description=module.__doc__,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(run_benchmark=module.run)


def run(args: argparse.Namespace) -> int:
    return args.run_benchmark(args)
