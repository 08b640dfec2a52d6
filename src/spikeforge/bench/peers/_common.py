"""What every adapter shares: the closure, the layers around the neuron, lazy imports.

The closure is the unit of timing: ``out = forward(x)``, ``loss = (out * g).sum()``,
``loss.backward()``, then the gradients are dropped (set to ``None``) so the next call
starts the same way. The layers around the neuron are plain ``torch.nn`` layers built
from one seed, so every library gets the same weights:

- Linear+LIF: ``nn.Linear(N, N)`` applied to ``x [T, B, N]`` in one call (time folded
  into batch), then the library's multi-step neuron on ``[T, B, N]``;
- SRNN: ``W_in`` (``nn.Linear(I, N)``, Xavier-uniform, zero bias) over all steps at
  once, then a loop over time of ``cur_t = W_in x_t + W_rec s_{t-1}`` (``W_rec``
  orthogonal, no bias) into the library's *single-step* neuron — the layer
  ``spikeforge.nn.RecurrentLIF`` computes. Not every peer ships a recurrent LIF layer,
  and those that do compute other things (Norse's ``LIFRecurrent`` has a synaptic
  current and applies its input weights step by step; snnTorch's ``RLeaky`` feeds the
  recurrence through the membrane update), so the same loop with each library's own
  neuron step is the comparison that measures the neuron implementations.
"""

from __future__ import annotations

import contextlib
import importlib
import warnings
from types import ModuleType
from typing import Any, Callable, Iterable, Iterator

from ..workloads import SRNN, LIFOnly, LinearLIF, Workload, make_inputs

COMPILE_MAX_T_SRNN = 200
"""``torch.compile`` unrolls the recurrent loop; longer SRNN sequences are not compiled."""


class PeerUnavailable(Exception):
    """This library, or this variant of it, cannot run here; the message says why."""


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence warnings raised by a peer's import or set-up (e.g. its use of deprecated
    torch APIs), so that a ``-W error`` test run does not fail on someone else's code."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def import_peer(module: str) -> ModuleType:
    """Import ``module`` quietly; a failed import becomes :class:`PeerUnavailable`."""
    try:
        with quiet():
            return importlib.import_module(module)
    except Exception as exc:  # ImportError, or a peer that breaks on this torch
        raise PeerUnavailable(f"cannot import {module}: {type(exc).__name__}: {exc}") from None


def can_import(module: str) -> bool:
    """``True`` if ``module`` imports; never raises."""
    try:
        import_peer(module)
    except PeerUnavailable:
        return False
    return True


def check_variant(name: str, variant: str, variants: Iterable[str]) -> None:
    variants = tuple(variants)
    if variant not in variants:
        raise PeerUnavailable(f"{name} has no variant {variant!r} (it has {', '.join(variants)})")


def check_device(device: Any) -> Any:
    import torch

    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise PeerUnavailable("CUDA is not available")
    return dev


def maybe_compile(fn: Callable, compiled: bool, workload: Workload) -> Callable:
    """``torch.compile(fn)`` when ``compiled``; long SRNN loops are refused (see above)."""
    if not compiled:
        return fn
    if isinstance(workload, SRNN) and workload.T > COMPILE_MAX_T_SRNN:
        raise PeerUnavailable(
            f"not compiled: torch.compile unrolls the {workload.T}-step recurrent loop "
            f"(limit {COMPILE_MAX_T_SRNN} steps)"
        )
    import torch

    return torch.compile(fn)


def make_linear(w: LinearLIF, device: Any) -> Any:
    """The seeded ``nn.Linear(N, N)`` of a Linear+LIF workload."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        layer = nn.Linear(w.N, w.N)
    return layer.to(device)


def make_srnn_weights(w: SRNN, device: Any) -> tuple[Any, Any]:
    """The seeded ``(W_in, W_rec)`` of an SRNN workload, initialised as ``RecurrentLIF`` does."""
    import torch
    from torch import nn

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)
        w_in = nn.Linear(w.input_size, w.N)
        w_rec = nn.Linear(w.N, w.N, bias=False)
        nn.init.xavier_uniform_(w_in.weight)
        nn.init.zeros_(w_in.bias)
        nn.init.orthogonal_(w_rec.weight)
    return w_in.to(device), w_rec.to(device)


def srnn_loop(x: Any, w_in: Any, w_rec: Any, step: Callable[[Any, Any], tuple[Any, Any]], state: Any) -> Any:
    """The recurrent loop: ``s_t, state = step(W_in x_t + W_rec s_{t-1}, state)``; returns ``[T, B, N]``."""
    import torch

    cur = w_in(x)  # [T, B, N], all steps in one product
    s = cur.new_zeros(cur.shape[1:])
    outs = []
    for cur_t in cur.unbind(0):  # unbind: T selects would make the backward quadratic in T
        s, state = step(cur_t + w_rec(s), state)
        outs.append(s)
    return torch.stack(outs)


def closure(
    forward: Callable[[Any], Any],
    workload: Workload,
    device: Any,
    params: Iterable[Any] = (),
    before: Callable[[], None] | None = None,
) -> Callable[[], None]:
    """Forward+backward of ``forward`` on the workload's inputs; gradients dropped after.

    The backward pass starts from the fixed output gradient ``g`` (``out.backward(g)``,
    the gradient of ``(out * g).sum()`` without materialising that loss), so the common
    part of every library's measurement is as small as it can be.
    """
    inputs = make_inputs(workload, device)
    x, g = inputs.x, inputs.g
    leaves = [p for p in params if p.requires_grad]
    if isinstance(workload, LIFOnly):
        leaves.append(x)

    def run() -> None:
        if before is not None:
            before()
        out = forward(x)
        out.backward(g)
        for leaf in leaves:
            leaf.grad = None

    return run


def unsupported(name: str, workload: Workload) -> PeerUnavailable:
    return PeerUnavailable(f"{name} has no adapter for workload kind {type(workload).__name__}")
