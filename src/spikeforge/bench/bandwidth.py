r"""Memory bandwidth, measured on the spot, and the time floor it puts under a workload.

:func:`copy_bandwidth` copies a large float32 tensor into another one (``dst.copy_(src)``,
256 MB by default, far larger than any cache) and divides the bytes moved, one read
plus one write, ``2 * nbytes``, by the median time. That is the rate the machine
actually streams memory with PyTorch's own (multi-threaded) copy; a kernel that moves
``M`` bytes cannot finish in less than :func:`floor_seconds` ``= M / bandwidth``.

The bytes a LIF-only forward+backward must move
-----------------------------------------------

For ``x`` of shape ``(T, B, N)`` in float32, one tensor pass is ``T*B*N*4`` bytes. A
fused kernel keeps the membrane in registers, so the fewest passes are

- forward: read ``x``, write the spikes ``s``;                          (2)
- backward: read ``grad_s``, write ``grad_x``, and get back the membrane
  ``u_t`` that the surrogate derivative needs: either read ``x`` again and
  recompute ``u`` (nothing saved), or read a saved ``u`` (then the forward
  also writes it, one more pass).                                       (3)

so **5 passes** with recomputation (:data:`LIF_PASSES`) and 6 with a saved membrane.
Four passes (read ``x``, write ``s``, read ``grad``, write ``grad_x``) is not
reachable: the backward cannot rebuild ``u_t`` from the spikes alone. The loss
``(s * g).sum()`` that the benchmark uses to drive the backward is left out of the
floor (it is the same for every library). The count is a parameter everywhere
(``passes=``), so a report can quote the floor under another assumption.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

LIF_PASSES = 5
"""Tensor passes of a LIF-only forward+backward with the membrane recomputed (see above)."""

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class Bandwidth:
    """A measured copy bandwidth: ``bytes_per_s`` (read + write) and how it was got."""

    bytes_per_s: float
    nbytes: int
    median_s: float
    device: str

    @property
    def gb_per_s(self) -> float:
        return self.bytes_per_s / 1e9


def copy_bandwidth(device: str = "cpu", *, nbytes: int = 256 * 2**20, repeats: int = 7) -> Bandwidth:
    """Measure ``2 * nbytes / time`` of ``dst.copy_(src)`` (median of ``repeats`` copies)."""
    import torch

    if nbytes < 4 or repeats < 1:
        raise ValueError(f"need nbytes >= 4 and repeats >= 1, got {nbytes} and {repeats}")
    dev = torch.device(device)
    n = nbytes // FLOAT32_BYTES
    src = torch.rand(n, device=dev)
    dst = torch.empty_like(src)
    dst.fill_(0.0)  # fault the pages in before timing

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    dst.copy_(src)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst.copy_(src)
        sync()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    moved = 2 * n * FLOAT32_BYTES
    return Bandwidth(bytes_per_s=moved / median, nbytes=n * FLOAT32_BYTES, median_s=median, device=str(dev))


def lif_bytes(T: int, B: int, N: int, *, passes: int = LIF_PASSES, itemsize: int = FLOAT32_BYTES) -> int:
    """Fewest bytes a fused LIF forward+backward over ``(T, B, N)`` moves (``passes`` tensor passes)."""
    return passes * T * B * N * itemsize


def floor_seconds(bytes_moved: float, bandwidth: Bandwidth | float) -> float:
    """The time floor ``bytes_moved / bandwidth`` (``bandwidth`` in bytes/s or a :class:`Bandwidth`)."""
    rate = bandwidth.bytes_per_s if isinstance(bandwidth, Bandwidth) else float(bandwidth)
    if rate <= 0:
        raise ValueError(f"bandwidth must be positive, got {rate}")
    return bytes_moved / rate
