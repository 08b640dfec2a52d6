"""Data-parallel training over processes with ``torch.distributed``.

Every process holds a full copy of the model and trains on its share of each global
batch; after the learning rule has filled ``.grad``, the trainer averages ``.grad`` over
the processes (one all-reduce of a flat buffer) and each process takes the same
optimizer step, so the copies stay equal. This is what ``DistributedDataParallel``
does for autograd gradients; it is done after the rule rather than inside
``backward`` because learning rules such as e-prop and STDP write ``.grad`` without
autograd. Parameters and buffers are broadcast from rank 0 when training starts.

Backends: ``gloo`` on the CPU, ``nccl`` on CUDA. Processes come from ``torchrun``
(which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``)
or from :func:`launch`, which spawns them on this machine with the same variables.

BatchNorm statistics are per process on the CPU (``SyncBatchNorm`` needs CUDA): a model
with BatchNorm trained on N processes matches the one-process run in its weights only
approximately; the statistics are taken from rank 0 for evaluation and checkpoints.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import torch
import torch.distributed as dist
from torch import nn

__all__ = ["DistInfo", "dist_info", "init_from_env", "launch", "average_gradients", "broadcast_module",
           "all_reduce_sum", "all_gather_objects"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the group: ``rank`` of ``world_size`` (1 when not distributed)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1


def dist_info() -> DistInfo:
    """The current process group's rank and size (rank 0 of 1 when none is initialised)."""
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))
    return DistInfo()


def init_from_env(device: str | torch.device = "cpu") -> bool:
    """Join the process group described by the ``torchrun`` environment variables.

    Does nothing (and returns ``False``) when ``WORLD_SIZE`` is unset or 1, or a group
    already exists. The backend is ``nccl`` for a CUDA ``device`` (each process then uses
    ``cuda:LOCAL_RANK``), else ``gloo``.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1 or (dist.is_available() and dist.is_initialized()):
        return False
    if not dist.is_available():
        raise RuntimeError("this torch build has no torch.distributed; cannot train on several processes")
    cuda = torch.device(device).type == "cuda"
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend="nccl" if cuda else "gloo", init_method="env://")
    log.info("joined process group: rank %d of %d (%s)", dist.get_rank(), world, dist.get_backend())
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _worker(rank: int, fn: Callable[..., Any], nproc: int, port: int, device: str, threads: int | None,
            args: tuple) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(nproc),
                      LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(nproc))
    if threads is not None:
        torch.set_num_threads(threads)
    init_from_env(device)
    try:
        fn(*args)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def launch(fn: Callable[..., Any], nproc: int, *args: Any, device: str = "cpu", threads: int | None = None,
           start_method: str = "spawn") -> None:
    """Run ``fn(*args)`` in ``nproc`` new local processes that form one process group.

    ``fn`` and ``args`` must be picklable (a module-level function) with the default
    ``spawn`` start method, which starts clean interpreters (the safe choice, and the
    only one for CUDA); ``"fork"`` starts faster on Linux CPUs by copying this process.
    Each process gets ``threads`` torch threads (default: the CPU cores divided by
    ``nproc``). An exception in any process is raised here once all have stopped.
    """
    import torch.multiprocessing as mp

    if nproc < 1:
        raise ValueError(f"nproc must be >= 1, got {nproc}")
    if threads is None:
        threads = max(1, (os.cpu_count() or 1) // nproc)
    mp.start_processes(_worker, args=(fn, nproc, _free_port(), str(device), threads, args), nprocs=nproc,
                       join=True, start_method=start_method)


def broadcast_module(model: nn.Module, src: int = 0) -> None:
    """Copy ``model``'s parameters and buffers from rank ``src`` to every process."""
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            dist.broadcast(tensor.data, src)


def average_gradients(params: Sequence[nn.Parameter], world_size: int) -> None:
    """Average ``.grad`` over the processes, in one all-reduce per dtype and device.

    A parameter without ``.grad`` on every process keeps none; one that has a gradient
    on some process only takes zeros on the others (as if its share of the batch had
    contributed nothing), so every process ends with the same ``.grad``.
    """
    if not params:
        return
    device = params[0].device
    has = torch.tensor([p.grad is not None for p in params], dtype=torch.float32, device=device)
    dist.all_reduce(has)
    live = [p for p, h in zip(params, has.tolist()) if h > 0]
    for p in live:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    buckets: dict[tuple, list[nn.Parameter]] = {}
    for p in live:
        buckets.setdefault((p.grad.dtype, p.grad.device), []).append(p)
    for group in buckets.values():
        flat = torch.cat([p.grad.reshape(-1) for p in group])
        dist.all_reduce(flat)
        flat /= world_size
        offset = 0
        for p in group:
            n = p.grad.numel()
            p.grad.copy_(flat[offset:offset + n].view_as(p.grad))
            offset += n


def all_reduce_sum(values: Iterable[float], device: str | torch.device = "cpu") -> list[float]:
    """Sum a few numbers over the processes (float64)."""
    t = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(t)
    return t.tolist()


def all_gather_objects(obj: Any) -> list[Any]:
    """Every process's ``obj``, in rank order (pickled over the wire, never to disk)."""
    out: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(out, obj)
    return out
