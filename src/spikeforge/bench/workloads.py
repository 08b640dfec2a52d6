r"""The work every library runs in the speed benchmark (issue 3): what, at which shapes.

Three kinds, each one forward+backward per call, float32, time-major ``[T, B, ...]``:

- :class:`LIFOnly` — the neuron alone. The input current ``x [T, B, N]`` is given and
  requires grad; ``out = LIF(x)``; ``loss = (out * g).sum()`` with a fixed random
  ``g`` (so every spike gets its own upstream gradient); ``loss.backward()``.
- :class:`LinearLIF` — one layer as in the Open Neuromorphic library benchmark:
  ``x [T, B, N]`` (no grad) through a learnable ``Linear(N, N)`` applied to all steps
  at once, then LIF; the same loss; backward gives the weight gradients.
- :class:`SRNN` — the recurrent LIF layer (``W_in x_t + W_rec s_{t-1}`` into LIF neurons),
  learnable weights, the same loss. Input sizes: 4 for ``(1301, 64, 36)`` (the ECG
  QTDB task of Yin et al. 2021: two leads, each level-crossing encoded into an up and
  a down channel) and 1 for ``(784, 64, 256)`` (sequential MNIST, one pixel per step;
  the row-by-row variant would be 28).

The neuron is the same everywhere as far as each library allows: a LIF with a decay of
0.5 per step (``tau = 2`` steps), threshold 1, starting from rest; see each adapter in
:mod:`spikeforge.bench.peers` for the exact mapping and its default reset.

Each workload also states the fewest float32 tensor passes over ``T*B*N`` values a fused
implementation must make (``passes``, a field, so a report can use another count; see
:mod:`spikeforge.bench.bandwidth`): 5 for LIF-only, 9 for Linear+LIF, 3 for the SRNN.
That gives the bandwidth floor printed beside the timings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Union

from .bandwidth import FLOAT32_BYTES, LIF_PASSES

DECAY = 0.5
"""Membrane decay per step in every library (tau = 2 steps)."""
THRESHOLD = 1.0
INPUT_SCALE = 2.0
"""Inputs are ``INPUT_SCALE * U(0, 1)`` currents: mean 1, so neurons fire at a moderate rate."""
SEED = 0


@dataclass(frozen=True)
class LIFOnly:
    """LIF neurons driven by a given current ``x [T, B, N]`` (``x.requires_grad``)."""

    T: int
    B: int
    N: int
    passes: int = LIF_PASSES
    kind: ClassVar[str] = "lif"

    @property
    def name(self) -> str:
        return f"lif T={self.T} B={self.B} N={self.N}"

    def floor_bytes(self) -> int:
        """Read x, write s | read grad, re-read x, write grad_x: ``passes`` x T*B*N floats."""
        return self.passes * self.T * self.B * self.N * FLOAT32_BYTES


@dataclass(frozen=True)
class LinearLIF:
    """``Linear(N, N)`` (learnable, applied to all ``T*B`` rows at once) then LIF."""

    T: int
    B: int
    N: int
    passes: int = 9
    kind: ClassVar[str] = "linear_lif"

    @property
    def name(self) -> str:
        return f"linear+lif T={self.T} B={self.B} N={self.N}"

    def floor_bytes(self) -> int:
        """Memory floor only (the matrix products are compute-bound and not counted).

        ``passes`` T*B*N passes, default 9: the product reads x and writes y = xW^T
        (2); the fused LIF reads y, writes s | reads grad, re-reads y, writes grad_y
        (5); the weight gradient grad_W = grad_y^T x reads grad_y and x (2). Plus
        reading W and writing grad_W (2 N*N).
        """
        return (self.passes * self.T * self.B * self.N + 2 * self.N * self.N) * FLOAT32_BYTES


@dataclass(frozen=True)
class SRNN:
    """A recurrent LIF layer ``RecurrentLIF(input_size, N)`` over ``x [T, B, input_size]``."""

    T: int
    B: int
    N: int
    input_size: int = 1
    passes: int = 3
    kind: ClassVar[str] = "srnn"

    @property
    def name(self) -> str:
        return f"srnn T={self.T} B={self.B} N={self.N} in={self.input_size}"

    def floor_bytes(self) -> int:
        """``passes`` T*B*N passes, default 3: write s | read grad, re-read s (the
        recurrent input of each step, for the recurrent weight gradient and to rebuild
        the currents). The input ``[T, B, input_size]`` is read once more; the weights
        and the weight-gradient sums are small. At these sizes the layer is bound by the
        sequential per-step work, not by memory, so this floor is a weak bound.
        """
        return (self.passes * self.T * self.B * self.N + self.T * self.B * self.input_size) * FLOAT32_BYTES


Workload = Union[LIFOnly, LinearLIF, SRNN]

LIF_SHAPES: tuple[tuple[int, int, int], ...] = ((100, 16, 4096), (500, 16, 1024), (100, 64, 16384))
LINEAR_N_CPU: tuple[int, ...] = (1024, 4096)
LINEAR_N_GPU: tuple[int, ...] = (4096, 8192, 16384)
LINEAR_TB: tuple[int, int] = (500, 16)
SRNN_SHAPES: tuple[tuple[int, int, int, int], ...] = ((1301, 64, 36, 4), (784, 64, 256, 1))


def standard_workloads(device: str = "cpu", kinds: tuple[str, ...] = ("lif", "linear_lif", "srnn")) -> list[Workload]:
    """The issue's shape lists (the Linear+LIF sizes depend on the device)."""
    out: list[Workload] = []
    if "lif" in kinds:
        out += [LIFOnly(*s) for s in LIF_SHAPES]
    if "linear_lif" in kinds:
        ns = LINEAR_N_GPU if str(device).startswith("cuda") else LINEAR_N_CPU
        out += [LinearLIF(*LINEAR_TB, n) for n in ns]
    if "srnn" in kinds:
        out += [SRNN(*s) for s in SRNN_SHAPES]
    return out


def quick_workloads(kinds: tuple[str, ...] = ("lif", "linear_lif", "srnn")) -> list[Workload]:
    """Small shapes for a smoke run (seconds, not minutes)."""
    out: list[Workload] = []
    if "lif" in kinds:
        out.append(LIFOnly(20, 4, 256))
    if "linear_lif" in kinds:
        out.append(LinearLIF(20, 4, 128))
    if "srnn" in kinds:
        out.append(SRNN(30, 4, 16, input_size=4))
    return out


@dataclass
class Inputs:
    """Pre-built tensors of one workload: ``x`` (input), ``g`` (loss weights)."""

    x: "object"
    g: "object"
    extra: dict = field(default_factory=dict)


def make_inputs(w: Workload, device: str = "cpu") -> Inputs:
    """The same inputs for every library: a seeded ``x`` and ``g`` on ``device``.

    ``x`` requires grad for :class:`LIFOnly` only.
    """
    import torch

    gen = torch.Generator().manual_seed(SEED)
    in_features = w.input_size if isinstance(w, SRNN) else w.N
    x = (INPUT_SCALE * torch.rand(w.T, w.B, in_features, generator=gen)).to(device)
    g = torch.randn(w.T, w.B, w.N, generator=gen).to(device)
    if isinstance(w, LIFOnly):
        x.requires_grad_(True)
    return Inputs(x=x, g=g)
