r"""Training throughput of snnTorch's tutorial SCNN in spikeforge, snnTorch and SpikingJelly (issue 4).

The network is the one of snnTorch's convolutional tutorial (tutorial 6):
``Conv2d(1, 12, 5) - MaxPool(2) - LIF - Conv2d(12, 64, 5) - MaxPool(2) - LIF -
Flatten - Linear(1024, 10) - LIF``, 25 time steps of *direct* input (the analog image
at every step), batch 128, on real MNIST images. Every library runs the same training
step, one library after another in one process:

.. math::
    \text{loss} = \mathrm{CE}\Big(\sum_{t=1}^{T} s^{\text{out}}_t,\ y\Big),\qquad
    \text{then}\ \texttt{loss.backward()}\ \text{and one Adam step (lr } 10^{-3}).

The neuron everywhere: :math:`U_t = \beta U_{t-1} + I_t - \vartheta S_{t-1}` with
:math:`\beta = 0.5`, threshold 1, reset by subtraction, the fast-sigmoid surrogate of
slope 25 (snnTorch's tutorial settings). spikeforge's LIF reaches that update with
``tau_mem = dt / ln 2`` (decay 0.5) and ``r = 2`` (its input is scaled by ``(1 - d) r``);
SpikingJelly's ``LIFNode(tau=2, decay_input=False, v_reset=None)`` (soft reset) with its
``SoftSign(alpha=25)`` surrogate (the fast sigmoid) is the same update up to its reset timing.

Variants:

- ``spikeforge`` — the same layers written the way spikeforge is meant to be used with
  direct input: the first convolution and pooling see the same image at every step, so
  they run once on ``[B, ...]`` and their output is broadcast over time
  (:func:`spikeforge.encoding.direct`); every layer after the first LIF runs on all
  ``T * B`` rows at once (:class:`spikeforge.nn.TimeDistributed`) and the LIF layers are
  fused sequence kernels. The result and the gradients are the same as repeating the
  input first (``tests/bench/test_training.py`` checks it).
  The convolutions keep the ``[N, H, W, C]`` layout (``torch.channels_last``), which
  oneDNN's CPU convolutions run about twice as fast; the fused LIF kernels walk the
  neurons in that order, so nothing is copied between layouts.
- ``spikeforge:nchw`` — the same in the default ``[N, C, H, W]`` layout (isolates what
  the layout buys).
- ``spikeforge:repeat`` — the input repeated over time first, as the peers do, then the
  same layers (isolates what the hoisting buys).
- ``snntorch`` — the tutorial's own loop: ``nn.Sequential`` with ``snn.Leaky(init_hidden=True)``
  called once per step after ``utils.reset``.
- ``spikingjelly`` / ``spikingjelly:compiled`` — multi-step layers (``step_mode="m"``) on
  ``[T, B, ...]``, ``functional.reset_net`` before each batch; the second under ``torch.compile``.

Run ``spikeforge bench train`` (or ``python -m spikeforge.bench.training``); MNIST comes
from ``--data-dir`` (the IDX files), so no network is needed.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch
from torch import Tensor, nn

NAME = "train"
HELP = "training throughput of snnTorch's tutorial SCNN (images/s) against the peers"

BETA = 0.5
THRESHOLD = 1.0
SLOPE = 25.0
LR = 1e-3
LIBRARIES = ("spikeforge", "spikeforge:nchw", "spikeforge:repeat", "snntorch", "spikingjelly")
ALL_LIBRARIES = LIBRARIES + ("spikingjelly:compiled",)

Step = Callable[[Tensor, Tensor], float]
"""One training step on ``(images [B, 1, 28, 28], labels [B])``; returns the loss."""


# --- the network in each library -------------------------------------------------------------------
def _spikeforge_lif(backend: str) -> nn.Module:
    from ..functional.surrogate import FastSigmoid
    from ..nn import LIF

    dt = 1e-3
    return LIF(tau_mem=dt / math.log(1.0 / BETA), dt=dt, r=1.0 / (1.0 - BETA), v_threshold=THRESHOLD,
               reset="subtract", surrogate=FastSigmoid(SLOPE), backend=backend)


class TutorialSCNN(nn.Module):
    """snnTorch's tutorial SCNN in spikeforge layers; ``forward(images) -> output spikes [T, B, 10]``.

    ``hoist=True`` runs the first convolution and pooling once per image (the input is
    the same at every step) and broadcasts the result over time; ``hoist=False``
    repeats the image first and runs them on all ``T * B`` rows. ``channels_last``
    keeps the convolutions in the ``[N, H, W, C]`` layout (as :class:`spikeforge.models.SCNN`).
    """

    def __init__(self, num_steps: int = 25, *, hoist: bool = True, backend: str = "auto",
                 channels_last: bool = True) -> None:
        super().__init__()
        from ..nn import Sequential

        self.num_steps = num_steps
        self.hoist = hoist
        self.stem = nn.Sequential(nn.Conv2d(1, 12, 5), nn.MaxPool2d(2))
        self.body = Sequential(_spikeforge_lif(backend), nn.Conv2d(12, 64, 5), nn.MaxPool2d(2),
                               _spikeforge_lif(backend), nn.Flatten(), nn.Linear(64 * 4 * 4, 10),
                               _spikeforge_lif(backend))
        if channels_last:  # see spikeforge.models.SCNN: oneDNN's convolutions prefer [N, H, W, C]
            self.to(memory_format=torch.channels_last)

    def forward(self, images: Tensor) -> Tensor:
        from ..encoding import direct

        if self.hoist:
            current = direct(self.stem(images), self.num_steps)
        else:
            current = self.stem(direct(images, self.num_steps).flatten(0, 1)).unflatten(0, (self.num_steps, -1))
        return self.body(current)[0]


def _train_step(forward: Callable[[Tensor], Tensor], params: Any, before: Callable[[], None] | None = None) -> Step:
    opt = torch.optim.Adam(list(params), lr=LR)

    def step(images: Tensor, labels: Tensor) -> float:
        if before is not None:
            before()
        spikes = forward(images)
        loss = nn.functional.cross_entropy(spikes.sum(0), labels)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.detach().item()

    return step


def spikeforge_step(num_steps: int, *, hoist: bool = True, backend: str = "auto", channels_last: bool = True) -> Step:
    net = TutorialSCNN(num_steps, hoist=hoist, backend=backend, channels_last=channels_last)
    return _train_step(net, net.parameters())


def snntorch_step(num_steps: int) -> Step:
    import snntorch as snn
    from snntorch import surrogate, utils

    grad = surrogate.fast_sigmoid(slope=SLOPE)
    net = nn.Sequential(nn.Conv2d(1, 12, 5), nn.MaxPool2d(2),
                        snn.Leaky(beta=BETA, spike_grad=grad, init_hidden=True),
                        nn.Conv2d(12, 64, 5), nn.MaxPool2d(2),
                        snn.Leaky(beta=BETA, spike_grad=grad, init_hidden=True),
                        nn.Flatten(), nn.Linear(64 * 4 * 4, 10),
                        snn.Leaky(beta=BETA, spike_grad=grad, init_hidden=True, output=True))

    def forward(images: Tensor) -> Tensor:  # the tutorial's forward_pass
        utils.reset(net)
        return torch.stack([net(images)[0] for _ in range(num_steps)])

    return _train_step(forward, net.parameters())


def spikingjelly_step(num_steps: int, *, compiled: bool = False) -> Step:
    from spikingjelly.activation_based import functional, layer, neuron, surrogate

    def lif() -> nn.Module:
        # SoftSign(alpha) is the fast sigmoid: derivative alpha / (2 (1 + alpha |x|)^2)
        return neuron.LIFNode(tau=1.0 / (1.0 - BETA), decay_input=False, v_threshold=THRESHOLD, v_reset=None,
                              surrogate_function=surrogate.SoftSign(alpha=SLOPE), detach_reset=True,
                              step_mode="m")

    net = nn.Sequential(layer.Conv2d(1, 12, 5, step_mode="m"), layer.MaxPool2d(2, step_mode="m"), lif(),
                        layer.Conv2d(12, 64, 5, step_mode="m"), layer.MaxPool2d(2, step_mode="m"), lif(),
                        layer.Flatten(step_mode="m"), layer.Linear(64 * 4 * 4, 10, step_mode="m"), lif())
    run = torch.compile(net) if compiled else net

    def forward(images: Tensor) -> Tensor:
        return run(images.unsqueeze(0).repeat(num_steps, 1, 1, 1, 1))

    return _train_step(forward, net.parameters(), before=lambda: functional.reset_net(net))


def build_step(library: str, num_steps: int) -> Step:
    """The training step of ``library`` (one of :data:`ALL_LIBRARIES`)."""
    if library == "spikeforge":
        return spikeforge_step(num_steps, hoist=True)
    if library == "spikeforge:nchw":
        return spikeforge_step(num_steps, hoist=True, channels_last=False)
    if library == "spikeforge:repeat":
        return spikeforge_step(num_steps, hoist=False)
    if library == "snntorch":
        return snntorch_step(num_steps)
    if library == "spikingjelly":
        return spikingjelly_step(num_steps)
    if library == "spikingjelly:compiled":
        return spikingjelly_step(num_steps, compiled=True)
    raise ValueError(f"unknown library {library!r}; choose from {', '.join(ALL_LIBRARIES)}")


# --- timing ----------------------------------------------------------------------------------------
@dataclass
class Row:
    library: str
    images_per_s: float | None
    median_batch_s: float | None
    first_batch_s: float | None
    loss_first: float | None
    loss_last: float | None
    other_load: float | None
    note: str = ""


def mnist_batches(data_dir: str | None, batch_size: int, count: int) -> list[tuple[Tensor, Tensor]]:
    """The first ``count`` training batches of MNIST (the same images for every library)."""
    from ..data import MNIST

    data = MNIST(data_dir, train=True)
    if count * batch_size > len(data):
        raise ValueError(f"{count} batches of {batch_size} need more than MNIST's {len(data)} images")
    batches = []
    for k in range(count):
        items = [data[i] for i in range(k * batch_size, (k + 1) * batch_size)]
        batches.append((torch.stack([x for x, _ in items]), torch.stack([y for _, y in items])))
    return batches


def measure(library: str, batches: list[tuple[Tensor, Tensor]], *, num_steps: int, warmup: int) -> Row:
    """Train ``library``'s network on ``batches`` (the first ``warmup`` untimed, after the first call)."""
    from .load import OtherLoad

    torch.manual_seed(0)
    try:
        step = build_step(library, num_steps)
    except ImportError as exc:
        return Row(library, None, None, None, None, None, None, f"skipped: {exc}")
    start = time.perf_counter()
    loss_first = step(*batches[0])
    first = time.perf_counter() - start
    for images, labels in batches[1:1 + warmup]:
        step(images, labels)
    times, loss = [], loss_first
    with OtherLoad() as load:
        for images, labels in batches[1 + warmup:]:
            start = time.perf_counter()
            loss = step(images, labels)
            times.append(time.perf_counter() - start)
    median = statistics.median(times)
    return Row(library, batches[0][0].shape[0] / median, median, first, loss_first, loss, load.cores)


def format_table(rows: list[Row], reference: str = "snntorch") -> str:
    ref = next((r.images_per_s for r in rows if r.library == reference and r.images_per_s), None)
    lines = ["| library | images/s | median s/batch | first batch s | vs snnTorch | loss first -> last | other load |",
             "|---|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        if r.images_per_s is None:
            lines.append(f"| {r.library} | {r.note} | | | | | |")
            continue
        ratio = f"{r.images_per_s / ref:.2f}x" if ref else "-"
        load = "-" if r.other_load is None else f"{r.other_load:.2f}"
        lines.append(f"| {r.library} | {r.images_per_s:.1f} | {r.median_batch_s:.3f} | {r.first_batch_s:.2f} | "
                     f"{ratio} | {r.loss_first:.3f} -> {r.loss_last:.3f} | {load} |")
    return "\n".join(lines)


# --- command line ----------------------------------------------------------------------------------
def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--libraries", default=",".join(LIBRARIES),
                   help=f"comma-separated, from {', '.join(ALL_LIBRARIES)} (default: %(default)s)")
    p.add_argument("--data-dir", default=None, help="folder with the MNIST IDX files (default: spikeforge's data dir)")
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--num-steps", type=int, default=25)
    p.add_argument("--batches", type=int, default=7, help="timed batches per library (default: %(default)s)")
    p.add_argument("--warmup", type=int, default=2, help="untimed batches after the first (default: %(default)s)")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    p.add_argument("--json", default=None, help="also write the rows to this JSON file")


def run(args: argparse.Namespace) -> int:
    if args.threads:
        torch.set_num_threads(args.threads)
    libraries = [name.strip() for name in args.libraries.split(",") if name.strip()]
    for name in libraries:
        if name not in ALL_LIBRARIES:
            raise ValueError(f"unknown library {name!r}; choose from {', '.join(ALL_LIBRARIES)}")
    batches = mnist_batches(args.data_dir, args.batch_size, 1 + args.warmup + args.batches)
    print(f"snnTorch tutorial SCNN, T={args.num_steps}, batch {args.batch_size}, MNIST, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    rows = []
    for name in libraries:
        rows.append(measure(name, batches, num_steps=args.num_steps, warmup=args.warmup))
        print(f"  {name}: " + (f"{rows[-1].images_per_s:.1f} images/s" if rows[-1].images_per_s else rows[-1].note),
              flush=True)
    print(format_table(rows))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m spikeforge.bench.training", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
