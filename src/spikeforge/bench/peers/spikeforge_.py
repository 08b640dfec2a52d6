r"""spikeforge itself: ``spikeforge.nn.LIF`` / ``RecurrentLIF``.

The neuron matches the others: ``tau_mem = 2 ms`` at ``dt = 1 ms`` with
``method="euler"`` gives the decay :math:`d = 1 - \Delta t/\tau = 0.5` and the input
scale :math:`(1 - d) R = 0.5`, threshold 1, the default reset (by subtraction, outside
the gradient), surrogate ``ATan(alpha=2)``.

Variants name the kernel backend, passed on as ``backend=...``: ``"torch"`` (the
plain-torch reference path), ``"cpu"``, ``"triton"``, ``"auto"``; ``"compiled"`` is the
reference path under ``torch.compile``. A module without a ``backend`` argument runs
``"torch"``/``"compiled"`` as it is and reports the others as unavailable; a named
backend that the module rejects (a missing extra) is reported with its message.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable

from ..workloads import SRNN, LIFOnly, LinearLIF, Workload
from ._common import (
    PeerUnavailable,
    check_device,
    check_variant,
    closure,
    make_linear,
    make_srnn_weights,
    maybe_compile,
    unsupported,
)

NAME = "spikeforge"
VARIANTS = ("torch", "cpu", "cpu-recompute", "triton", "triton-recompute", "auto", "compiled")
"""Backends (``-recompute``: with ``recompute=True``), plus ``"compiled"``: the reference
path under ``torch.compile``."""

TAU_MEM = 2e-3
DT = 1e-3


def _has_backend_argument(cls: Any = None) -> bool:
    """Whether ``cls`` (default ``spikeforge.nn.LIF``) takes ``backend=`` by name."""
    if cls is None:
        from spikeforge.nn import LIF as cls

    return "backend" in inspect.signature(cls.__init__).parameters


def default_variants(device: Any = "cpu") -> tuple[str, ...]:
    if not available() or not _has_backend_argument():
        return ("torch",)
    # the CPU kernels always recompute (``cpu-recompute`` runs the same code as ``cpu``)
    return ("torch", "triton", "triton-recompute") if str(device).startswith("cuda") else ("torch", "cpu")


def available() -> bool:
    try:
        import spikeforge.nn  # noqa: F401
    except Exception:
        return False
    return True


def _neuron_kwargs(cls: Any, variant: str) -> dict[str, Any]:
    from spikeforge import ATan

    kwargs: dict[str, Any] = dict(tau_mem=TAU_MEM, dt=DT, method="euler", surrogate=ATan(alpha=2.0))
    has_backend = _has_backend_argument(cls)
    if variant in ("torch", "compiled"):
        if has_backend:
            kwargs["backend"] = "torch"
        return kwargs
    if not has_backend:
        raise PeerUnavailable(f"spikeforge.nn.{cls.__name__} has no backend argument yet (asked for {variant!r})")
    backend, _, mode = variant.partition("-")
    kwargs["backend"] = backend
    if mode == "recompute":
        kwargs["recompute"] = True
    return kwargs


def _module(cls: Any, *args: Any, device: Any, variant: str) -> Any:
    kwargs = _neuron_kwargs(cls, variant)
    try:
        return cls(*args, device=device, **kwargs)
    except (ImportError, RuntimeError, ValueError) as exc:  # a named backend that is missing here
        raise PeerUnavailable(f"backend {variant!r}: {exc}") from None


def build(workload: Workload, device: Any = "cpu", variant: str = "torch") -> Callable[[], None]:
    check_variant(NAME, variant, VARIANTS)
    device = check_device(device)
    from spikeforge.nn import LIF, RecurrentLIF

    compiled = variant == "compiled"
    if isinstance(workload, (LIFOnly, LinearLIF)):
        lif = _module(LIF, workload.N, device=device, variant=variant)
        if isinstance(workload, LIFOnly):
            fwd = maybe_compile(lambda x: lif(x)[0], compiled, workload)
            return closure(fwd, workload, device)
        linear = make_linear(workload, device)
        fwd = maybe_compile(lambda x: lif(linear(x))[0], compiled, workload)
        return closure(fwd, workload, device, linear.parameters())
    if isinstance(workload, SRNN):
        layer = _module(RecurrentLIF, workload.input_size, workload.N, device=device, variant=variant)
        w_in, w_rec = make_srnn_weights(workload, device)
        with _no_grad():
            layer.input.weight.copy_(w_in.weight)
            layer.input.bias.copy_(w_in.bias)
            layer.recurrent.weight.copy_(w_rec.weight)
        fwd = maybe_compile(lambda x: layer(x)[0], compiled, workload)
        return closure(fwd, workload, device, layer.parameters())
    raise unsupported(NAME, workload)


def _no_grad() -> Any:
    import torch

    return torch.no_grad()
