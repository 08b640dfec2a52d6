r"""Norse (tested with 1.1.0): ``norse.torch.LIF`` (and ``LIFBoxCell``).

Norse integrates with forward Euler at ``dt = 1 ms``. Settings: ``tau_mem_inv = 500``
(so ``dt * tau_mem_inv = 0.5``: :math:`v_t = v_{t-1} + 0.5(x_t - v_{t-1})`, the same
decay and input scale as SpikingJelly and spikeforge), ``v_th = 1``, and its defaults
otherwise: hard reset to ``v_reset = 0`` inside the gradient, SuperSpike surrogate
(``method="super"``, a fast sigmoid, ``alpha = 100``; Norse has no ATan).

Norse's ``LIF`` also carries a synaptic current. With ``tau_syn_inv = 1000``
(``dt * tau_syn_inv = 1``) the current is exactly this step's input and then decays to
zero, so the membrane sees the input directly, as in the other libraries, while Norse
still computes its current update every step (that work is part of its cost).

Variants:

- ``"default"``: the sequence module ``norse.torch.LIF`` (a Python loop over
  ``lif_feed_forward_step``);
- ``"compiled"``: the same module under ``torch.compile``;
- ``"box"``: ``LIFBoxCell``, Norse's LIF without a current, looped over time here
  (Norse ships no sequence module for it).

The SRNN workload steps ``LIFCell`` (``"box"``: ``LIFBoxCell``) inside the shared loop.
"""

from __future__ import annotations

from typing import Any, Callable

from ..workloads import DECAY, SRNN, THRESHOLD, LIFOnly, LinearLIF, Workload
from ._common import (
    can_import,
    check_device,
    check_variant,
    closure,
    import_peer,
    make_linear,
    make_srnn_weights,
    maybe_compile,
    quiet,
    srnn_loop,
    unsupported,
)

NAME = "norse"
VARIANTS = ("default", "compiled", "box")
DT = 1e-3
TAU_MEM_INV = DECAY / DT  # 500 /s: dt * tau_mem_inv = 0.5
TAU_SYN_INV = 1.0 / DT  # 1000 /s: the current lasts one step


def default_variants(device: Any = "cpu") -> tuple[str, ...]:
    return VARIANTS


def available() -> bool:
    return can_import("norse.torch")


def _box_loop(cell: Any, x: Any) -> Any:
    import torch

    state = None
    outs = []
    for t in range(x.shape[0]):
        z, state = cell(x[t], state)
        outs.append(z)
    return torch.stack(outs)


def build(workload: Workload, device: Any = "cpu", variant: str = "default") -> Callable[[], None]:
    check_variant(NAME, variant, VARIANTS)
    device = check_device(device)
    nt = import_peer("norse.torch")
    import torch

    with quiet():
        if variant == "box":
            p = nt.LIFBoxParameters(tau_mem_inv=torch.as_tensor(TAU_MEM_INV), v_th=torch.as_tensor(THRESHOLD))
            cell = nt.LIFBoxCell(p, dt=DT).to(device)
            sequence = lambda x: _box_loop(cell, x)  # noqa: E731
        else:
            p = nt.LIFParameters(
                tau_syn_inv=torch.as_tensor(TAU_SYN_INV),
                tau_mem_inv=torch.as_tensor(TAU_MEM_INV),
                v_th=torch.as_tensor(THRESHOLD),
            )
            cell = nt.LIFCell(p, dt=DT).to(device)
            module = nt.LIF(p, dt=DT).to(device)
            sequence = lambda x: module(x)[0]  # noqa: E731

    compiled = variant == "compiled"
    if isinstance(workload, LIFOnly):
        return closure(maybe_compile(sequence, compiled, workload), workload, device)
    if isinstance(workload, LinearLIF):
        linear = make_linear(workload, device)
        fwd = maybe_compile(lambda x: sequence(linear(x)), compiled, workload)
        return closure(fwd, workload, device, linear.parameters())
    if isinstance(workload, SRNN):
        w_in, w_rec = make_srnn_weights(workload, device)
        fwd = maybe_compile(lambda x: srnn_loop(x, w_in, w_rec, cell, None), compiled, workload)
        return closure(fwd, workload, device, [*w_in.parameters(), *w_rec.parameters()])
    raise unsupported(NAME, workload)
