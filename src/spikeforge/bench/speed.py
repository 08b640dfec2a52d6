"""Speed benchmark: the same forward+backward in spikeforge and its peers, one process.

Examples::

    python -m spikeforge.bench.speed --quick
    python -m spikeforge.bench.speed --kinds lif --shape 100,16,4096 \\
        --libraries torch_loop,snntorch,spikingjelly,norse,spikeforge
    python -m spikeforge.bench.speed --libraries spikingjelly:compiled --json out.json

Peers come from the ``anchors`` extra; a missing one is skipped with a note. The
table gives, per workload: median ms of forward+backward (after the first call and
the warm-up), the first call in seconds (compilation, JIT), the peak extra memory of
one call, the time over spikeforge's fastest variant and over the bandwidth floor.
``add_arguments`` and ``run`` let the ``spikeforge`` command mount this as a subcommand.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

NAME = "speed"
HELP = "time forward+backward of LIF workloads in spikeforge and in peer libraries"
KINDS = ("lif", "linear_lif", "srnn")


def _shape(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected T,B,N or T,B,N,I (integers), got {text!r}") from None
    if len(dims) not in (3, 4) or any(d <= 0 for d in dims):
        raise argparse.ArgumentTypeError(f"expected T,B,N or T,B,N,I (positive integers), got {text!r}")
    return dims


def _csv(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help="small shapes, 3 repeats, no compiled variants unless named (a smoke run)")
    parser.add_argument("--device", default="cpu", help="cpu (default) or cuda[:i]")
    parser.add_argument("--kinds", type=_csv, default=list(KINDS), help=f"comma list from {','.join(KINDS)}")
    parser.add_argument(
        "--libraries", type=_csv, default=None,
        help="comma list of name or name:variant (default: every library's default variants)",
    )
    parser.add_argument("--shape", type=_shape, action="append", default=None,
                        help="T,B,N (T,B,N,I for srnn); repeatable; replaces the standard shapes")
    parser.add_argument("--repeats", type=int, default=None, help="timed calls (default 7; 3 with --quick)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls after the first (default 5)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch (and numba) threads (default: torch's, one per core)")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="SECONDS",
                        help="before each row wait up to SECONDS for other processes to go quiet")
    parser.add_argument("--quiet-threshold", type=float, default=0.25, metavar="CORES",
                        help="--wait-quiet waits until other processes use fewer cores than this")
    parser.add_argument("--busy-retries", type=int, default=0, metavar="K",
                        help="measure a row again (up to K times) if other processes were busy during it")
    parser.add_argument("--interleave", action="store_true",
                        help="time each workload's libraries in rounds (one call each per round) instead of one "
                             "library after another: machine drift over minutes then hits all alike")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory call")
    parser.add_argument("--json", metavar="PATH", help="also write the rows and the machine to PATH")


def _workloads(args: argparse.Namespace) -> list:
    from .workloads import SRNN, LIFOnly, LinearLIF, quick_workloads, standard_workloads

    unknown = [k for k in args.kinds if k not in KINDS]
    if unknown:
        raise ValueError(f"unknown kind(s) {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    kinds = tuple(args.kinds)
    if args.shape:
        out: list = []
        for dims in args.shape:
            T, B, N = dims[:3]
            if "lif" in kinds:
                out.append(LIFOnly(T, B, N))
            if "linear_lif" in kinds:
                out.append(LinearLIF(T, B, N))
            if "srnn" in kinds:
                out.append(SRNN(T, B, N, input_size=dims[3] if len(dims) == 4 else 1))
        return out
    return quick_workloads(kinds) if args.quick else standard_workloads(args.device, kinds)


def _limit_numba_threads(n: int) -> None:
    """numba kernels (spikeforge's CPU backend) have their own thread pool: limit it too."""
    try:
        import numba
    except ImportError:
        return
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))


def run(args: argparse.Namespace) -> int:
    from .bandwidth import copy_bandwidth
    from .load import wait_until_quiet
    from .runner import default_libraries, format_table, machine_info, rows_to_dicts, run_speed

    import torch

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        _limit_numba_threads(args.threads)  # first: starting numba's OpenMP layer resets torch's count
        torch.set_num_threads(args.threads)
    workloads = _workloads(args)
    libraries = args.libraries
    if libraries is None and args.quick:  # compiling takes minutes: only when asked for by name
        libraries = default_libraries(args.device, compiled=False)
    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 7)
    info = machine_info(args.device)
    print("machine: " + ", ".join(f"{k}={v}" for k, v in info.items()), flush=True)
    if args.wait_quiet > 0:
        wait_until_quiet(args.wait_quiet, threshold=args.quiet_threshold)
    bw = copy_bandwidth(args.device, nbytes=(64 if args.quick else 256) * 2**20)
    print(f"copy bandwidth: {bw.gb_per_s:.1f} GB/s with {torch.get_num_threads()} thread(s)", flush=True)
    rows = run_speed(
        workloads, libraries, args.device, repeats,
        warmup=args.warmup, bandwidth=bw, measure_memory=not args.no_memory,
        quiet_wait_s=args.wait_quiet,
        quiet_threshold=args.quiet_threshold,
        busy_retries=args.busy_retries,
        interleave=args.interleave,
        progress=lambda line: print(line, flush=True),
    )
    print()
    print(format_table(rows, bw))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": info, "bandwidth_gb_s": bw.gb_per_s, "rows": rows_to_dicts(rows)}, f, indent=2)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spikeforge.bench.speed", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
