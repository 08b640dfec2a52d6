"""Training speed of the Diehl & Cook network: spikeforge's fused kernel against BindsNET, same run.

Run in the peer environment (torch 2.14.1 with BindsNET 0.3.4 and spikeforge installed)::

    python benchmarks/stdp/speed.py --bindsnet-images 100 --images 3000 --rounds 2

Both libraries train ``DiehlAndCook2015`` on the same MNIST images with the same settings:
100 excitatory + 100 inhibitory neurons, 250 steps of 1 ms per image, Poisson rates up to
128 Hz (BindsNET's example, ``--intensity 128``), pair STDP (``PostPre``, nu = 1e-4 / 1e-2),
weights normalized to 78.4, exc->inh 22.5, inh->exc 120, theta_plus 0.05, state reset
between images, a spike monitor on the excitatory layer (needed for the label assignment).
spikeforge uses ``DiehlCook.preset("bindsnet")``. Then spikeforge alone with the paper's
protocol (0.5 ms steps, 350 ms + 150 ms rest, conductance-based) for 100, 400 and 1600
neurons, with the time an epoch of 60,000 images takes at that rate.

BindsNET imports OpenCV and gymnasium at top level for its video data sets and Atari
environments; neither is used here, so when they are missing empty stand-ins are put in
``sys.modules`` before the import (``--no-stubs`` to disable).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import types


def _stub_missing(names):
    import importlib.util

    for name in names:
        if importlib.util.find_spec(name) is None:
            sys.modules[name] = types.ModuleType(name)


def bindsnet_speed(images, n_neurons: int, time_steps: int, intensity: float, threads: int,
                   warmup: int = 3) -> dict:
    import torch
    from bindsnet.encoding import PoissonEncoder
    from bindsnet.models import DiehlAndCook2015
    from bindsnet.network.monitors import Monitor

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    net = DiehlAndCook2015(n_inpt=784, n_neurons=n_neurons, exc=22.5, inh=120.0, dt=1.0, norm=78.4,
                           theta_plus=0.05, inpt_shape=(1, 28, 28))
    spikes = Monitor(net.layers["Ae"], state_vars=["s"], time=time_steps)
    net.add_monitor(spikes, name="Ae_spikes")
    encode = PoissonEncoder(time=time_steps, dt=1.0)
    counts = []
    for k, image in enumerate(images):
        if k == warmup:  # the first calls of a fresh torch process are slower
            start = time.perf_counter()
        x = encode(image.float().div(255).mul(intensity).view(1, 28, 28))
        net.run(inputs={"X": x.view(time_steps, 1, 1, 28, 28)}, time=time_steps, input_time_dim=1)
        counts.append(int(spikes.get("s").sum()))
        net.reset_state_variables()
    wall = time.perf_counter() - start
    timed = len(images) - warmup
    return {"images": timed, "seconds": wall, "images_per_s": timed / wall, "torch_threads": threads,
            "mean_spikes": sum(counts) / len(counts), "load_after": os.getloadavg()[0]}


def spikeforge_speed(images, preset: str | None, n_neurons: int, repeat_to: int, **kw) -> dict:
    import torch

    from spikeforge.models import DiehlCook

    model = DiehlCook.preset(preset, n_neurons=n_neurons, **kw) if preset else DiehlCook(n_neurons, **kw)
    torch.set_num_threads(1)
    model.train_images(images[:20])  # compile (or load the numba cache) outside the timing
    model = DiehlCook.preset(preset, n_neurons=n_neurons, **kw) if preset else DiehlCook(n_neurons, **kw)
    reps = -(-repeat_to // len(images))
    data = torch.cat([images] * reps)[:repeat_to]
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    counts, _ = model.train_images(data, chunk=1000)
    wall = time.perf_counter() - start
    return {"images": len(data), "seconds": wall, "images_per_s": len(data) / wall,
            "mean_spikes": float(counts.sum(1).float().mean()),
            "retries_per_image": float(model.last_tries.float().mean()),
            "epoch_s": 60000 / (len(data) / wall), "load_before": load_before, "load_after": os.getloadavg()[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-dir", default="/work/shared/data")
    ap.add_argument("--bindsnet-images", type=int, default=100)
    ap.add_argument("--images", type=int, default=3000, help="spikeforge images per timing")
    ap.add_argument("--sizes", default="100,400,1600")
    ap.add_argument("--no-bindsnet", action="store_true")
    ap.add_argument("--no-stubs", action="store_true")
    ap.add_argument("--bindsnet-threads", default="1",
                    help="torch threads for BindsNET, comma-separated to try several (its best is reported)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="alternate BindsNET and spikeforge this many times (same images), so a change of "
                         "the machine's load hits both; the ratio of each round is reported")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()

    import torch

    from spikeforge.data import MNIST

    images = MNIST(root=args.data_dir, train=True).data
    results = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs",
               "torch": torch.__version__, "torch_threads": torch.get_num_threads()}
    same = images[: args.bindsnet_images]
    if not args.no_bindsnet:
        if not args.no_stubs:
            _stub_missing(["cv2", "gymnasium", "ale_py"])
        import bindsnet

        results["bindsnet_version"] = getattr(bindsnet, "__version__", "0.3.4")
    results["rounds"] = []
    for k in range(args.rounds):
        row = {}
        if not args.no_bindsnet:
            tries = []
            for threads in [int(t) for t in args.bindsnet_threads.split(",")]:
                print(f"[round {k + 1}] BindsNET DiehlAndCook2015, 100 neurons, 250 x 1 ms, {len(same)} images, "
                      f"{threads} torch threads ...", flush=True)
                tries.append(bindsnet_speed(same, 100, 250, 128.0, threads))
                print(f"  {tries[-1]['images_per_s']:.2f} images/s (load {tries[-1]['load_after']:.1f})", flush=True)
            row["bindsnet_all"] = tries
            row["bindsnet"] = max(tries, key=lambda r: r["images_per_s"])
        print(f"[round {k + 1}] spikeforge DiehlCook.preset('bindsnet'), same settings and images ...", flush=True)
        row["spikeforge_same"] = spikeforge_speed(same, "bindsnet", 100, args.images)
        print(f"  {row['spikeforge_same']['images_per_s']:.1f} images/s "
              f"(load {row['spikeforge_same']['load_after']:.1f})", flush=True)
        if "bindsnet" in row:
            row["speedup"] = row["spikeforge_same"]["images_per_s"] / row["bindsnet"]["images_per_s"]
            print(f"  speed-up {row['speedup']:.0f}x", flush=True)
        results["rounds"].append(row)
    results.update({key: value for key, value in results["rounds"][-1].items()})
    if len(results["rounds"]) > 1 and "speedup" in results:
        ratios = sorted(r["speedup"] for r in results["rounds"])
        results["speedup_min"], results["speedup_max"] = ratios[0], ratios[-1]
        print(f"speed-up over {len(ratios)} rounds: {ratios[0]:.0f}x to {ratios[-1]:.0f}x", flush=True)
    results["paper_protocol"] = {}
    for n in [int(s) for s in args.sizes.split(",") if s]:
        count = max(200, args.images * 100 // n)
        r = spikeforge_speed(images[:count], None, n, count)
        results["paper_protocol"][n] = r
        print(f"spikeforge paper protocol (0.5 ms, 350 + 150 ms), {n} neurons: {r['images_per_s']:.1f} images/s, "
              f"epoch {r['epoch_s'] / 60:.1f} min ({r['retries_per_image']:.2f} retries/image)", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
