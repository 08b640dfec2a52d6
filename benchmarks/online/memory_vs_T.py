"""Peak memory of one training step against the sequence length T, for BPTT, e-prop and OSTL.

The network is the ``ecg-srnn`` recipe's (4 -> 36 recurrent ALIF -> 6 adaptive readout), a
batch of 64 ECG windows (tiled in time beyond 1301 steps), per-step loss. Each (rule, T) runs
in a fresh process with glibc's ``MALLOC_MMAP_THRESHOLD_=65536`` (every buffer above 64 KiB
is its own mapping, returned to the system when freed, so the resident set follows the live
tensors): after a warm-up step of 2 time steps (kernel compilation) the process resets its
peak resident set (``/proc/self/clear_refs``), runs one step (forward, update into
``.grad``) and reports ``VmHWM - VmRSS before``: the memory the step itself needed.

    python benchmarks/online/memory_vs_T.py --out benchmarks/online/out
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

STEPS = (100, 200, 400, 700, 1000)
RULES = ("bptt", "eprop", "ostl")


def _status(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"{key} not in /proc/self/status")


def one(rule: str, steps: int) -> dict:
    import torch

    sys.path.insert(0, str(Path(__file__).parent))
    from _setup import ecg_setup

    torch.set_num_threads(1)
    model, learner, x, y, objective = ecg_setup(rule, steps)
    learner.step(model, x[:2], y[:2], objective)  # warm-up: kernel compilation
    model.zero_grad(set_to_none=True)
    before = _status("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")
    result = learner.step(model, x, y, objective)
    peak = _status("VmHWM")
    del result
    return {"rule": rule, "T": steps, "peak_bytes": peak - before}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--one", nargs=2, metavar=("RULE", "T"))
    ap.add_argument("--out", default="benchmarks/online/out")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], int(args.one[1]))))
        return
    rows = []
    for rule in RULES:
        for steps in STEPS:
            env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "OMP_NUM_THREADS": "1"}
            done = subprocess.run([sys.executable, __file__, "--one", rule, str(steps)], check=True,
                                  capture_output=True, text=True, env=env)
            rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"{rule:6s} T={steps:5d}  peak {rows[-1]['peak_bytes'] / 2**20:8.1f} MiB", flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "memory_vs_T.json").write_text(json.dumps(rows, indent=1))
    plot(rows, out / "memory_vs_T.png")
    for rule in RULES:
        peaks = {r["T"]: r["peak_bytes"] for r in rows if r["rule"] == rule}
        print(f"{rule}: peak(T=1000) / peak(T=100) = {peaks[1000] / peaks[100]:.2f}")


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for rule, style in zip(RULES, ("o-", "s-", "^-")):
        pts = sorted((r["T"], r["peak_bytes"] / 2**20) for r in rows if r["rule"] == rule)
        ax.plot(*zip(*pts), style, label={"bptt": "BPTT", "eprop": "e-prop", "ostl": "OSTL"}[rule])
    ax.set_xlabel("sequence length T (steps)")
    ax.set_ylabel("peak memory of one training step (MiB)")
    ax.set_title("ECG SRNN, batch 64: memory against T")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


if __name__ == "__main__":
    main()
