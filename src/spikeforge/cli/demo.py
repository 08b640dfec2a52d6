"""Run a small spiking network on Poisson spikes and report what it does.

The network, untrained, with weights scaled so that every layer fires at a few to a
few tens of Hz:

  64 Poisson inputs (2 to 100 Hz) -> Linear(64, 128) -> LIF(128)
    -> RecurrentALIF(128, 32) -> Linear(32, 10) -> LI(10) readout

It prints, for each layer, the spikes, the mean firing rate, the share of neurons
that fired and the synaptic operations (SynOps) the spikes trigger, then the wall
time. With matplotlib (pip install 'spikeforge[viz]') it also writes raster.png
(input and hidden spikes of one sample) and membrane.png (one adaptive neuron's
membrane, threshold and spikes) into --out. Needs no network access and no data.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import Tensor, nn

from ..encoding import poisson
from ..functional import alif_threshold
from ..nn import LI, LIF, RecurrentALIF, RecurrentALIFCell, Sequential
from ._activity import format_activity, network_activity
from ._args import positive_int, seed

NAME = "demo"
HELP = "run a small spiking network on Poisson input and report its activity (the default)"

DT = 1e-3  # seconds per step
RATES_HZ = (2.0, 100.0)  # the input channels' rates, a linear ramp
SIZES = (64, 128, 32, 10)  # inputs, LIF, ALIF, readout
ALIF_KWARGS = dict(tau_mem=20e-3, tau_adp=200e-3, beta=8.0, dt=DT)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", type=Path, default=Path("spikeforge-demo"), metavar="DIR",
                        help="folder for raster.png and membrane.png (default: ./spikeforge-demo)")
    parser.add_argument("--steps", type=positive_int, default=300, metavar="T",
                        help="time steps of 1 ms to simulate (default: 300)")
    parser.add_argument("--batch", type=positive_int, default=4, metavar="B",
                        help="independent input samples run in parallel (default: 4)")
    parser.add_argument("--seed", type=seed, default=0, metavar="S",
                        help="seed of the weights and the input spikes (default: 0)")
    parser.add_argument("--threads", type=positive_int, default=1, metavar="N",
                        help="torch CPU threads (default: 1; tensors this small only lose from more)")
    parser.add_argument("--no-plots", action="store_true", help="do not write the figures")


def build_network(seed: int) -> Sequential:
    """The demo network, its weights drawn from ``seed`` (torch's global generator is left as it was)."""
    n_in, n_lif, n_alif, n_out = SIZES
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        net = Sequential(
            nn.Linear(n_in, n_lif, bias=False),
            LIF(n_lif, tau_mem=20e-3, dt=DT),
            RecurrentALIF(n_lif, n_alif, **ALIF_KWARGS),
            nn.Linear(n_alif, n_out),
            LI(n_out, tau_mem=20e-3, dt=DT),
        )
        # A constant input x settles the membrane at r*x = x (threshold 1). The 64 inputs
        # deliver ~3 spikes per step (mean rate ~50 Hz), so weights ~ N(0.3, 0.8) give a
        # mean drive near threshold and a wide spread across neurons: some fire regularly,
        # some on fluctuations only (a small spread would make them share their input and
        # fire in synchrony). The ~2.5 LIF spikes per step into the ALIF layer get the same
        # treatment. Both layers then fire at ~10-20 Hz on average.
        nn.init.normal_(net[0].weight, 0.3, 0.8)
        nn.init.normal_(net[2].input.weight, 0.3, 1.5)
    return net


def input_spikes(steps: int, batch: int, seed: int) -> Tensor:
    """Poisson spikes ``[steps, batch, 64]``; channel ``i`` fires at a rate ramping over ``RATES_HZ``."""
    rates = torch.linspace(*RATES_HZ, SIZES[0]).repeat(batch, 1)
    return poisson(rates, steps, dt=DT, generator=torch.Generator().manual_seed(seed))


def alif_traces(layer: RecurrentALIF, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Spikes, membrane before reset and threshold of ``layer`` over ``x``, each ``[T, B, hidden]``.

    Runs a ``RecurrentALIFCell`` holding the layer's weights step by step (the same
    math as the layer), reads the threshold in force at each step,
    :math:`V_\\text{th} + \\beta b_{t-1}`, and adds back the subtractive reset so the
    trace shows the membrane that crossed it.
    """
    cell = RecurrentALIFCell(layer.input_size, layer.hidden_size, **ALIF_KWARGS)
    cell.load_state_dict(layer.state_dict())
    p = cell.neuron.neuron_parameters()
    state, spikes, membrane, threshold = None, [], [], []
    with torch.no_grad():
        for x_t in x:
            th = p.v_threshold.expand(x.shape[1], -1) if state is None else alif_threshold(state.neuron, p)
            z, state = cell(x_t, state)
            spikes.append(z)
            membrane.append(state.neuron.v + z * (th - p.v_reset))
            threshold.append(th)
    return torch.stack(spikes), torch.stack(membrane), torch.stack(threshold)


def run(args: argparse.Namespace) -> int:
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return _run(args)
    finally:
        torch.set_num_threads(threads)


def _run(args: argparse.Namespace) -> int:
    net = build_network(args.seed)
    x = input_spikes(args.steps, args.batch, args.seed)
    start = time.perf_counter()
    with torch.no_grad():
        outputs, _ = net.forward_layers(x)
    wall = time.perf_counter() - start

    print(f"spikeforge demo: {args.steps} steps of {DT * 1e3:g} ms, batch {args.batch}, seed {args.seed}")
    print(f"network: {SIZES[0]} Poisson inputs ({RATES_HZ[0]:g}-{RATES_HZ[1]:g} Hz) -> "
          f"Linear -> LIF({SIZES[1]}) -> RecurrentALIF({SIZES[2]}) -> Linear -> LI({SIZES[3]})\n")
    print(format_activity(network_activity(net, x, outputs, DT, input_kind="Poisson")))
    print("\nrate: mean firing rate per neuron; active: share of neurons that fired at least once\n"
          "(mean over the batch); SynOps: spikes x the synapses each spike drives (the next\n"
          "layer's fan-out, plus the recurrent ones).")
    print(f"wall time: {wall * 1e3:.1f} ms, {args.steps / wall:,.0f} steps/s "
          f"({args.steps * args.batch / wall:,.0f} sample-steps/s) on {args.threads} CPU thread(s)")
    winners = outputs[-1].mean(0).argmax(-1).tolist()
    print(f"readout: class with the highest mean LI potential per sample: {winners} (untrained)")
    if not args.no_plots:
        _plots(args, net, x, outputs)
    return 0


def _plots(args: argparse.Namespace, net: Sequential, x: Tensor, outputs: list[Tensor]) -> None:
    try:
        from ..viz._figure import require_matplotlib

        require_matplotlib()
    except ImportError:
        print("plots: skipped, matplotlib is missing; pip install 'spikeforge[viz]' to get "
              "raster.png and membrane.png")
        return
    from ._demo_plots import membrane_figure, raster_figure

    spikes, membrane, threshold = alif_traces(net[2], outputs[1])
    paths = [
        raster_figure(x, outputs[1], outputs[2], DT, args.out / "raster.png", seed=args.seed),
        membrane_figure(spikes, membrane, threshold, DT, args.out / "membrane.png"),
    ]
    for path in paths:
        print(f"wrote {path}")
