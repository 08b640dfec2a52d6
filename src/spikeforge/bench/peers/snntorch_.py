r"""snnTorch (tested with 1.0.0): ``snntorch.Leaky`` stepped over time in a Python loop.

Settings: ``beta = 0.5``, ``threshold = 1``, its defaults otherwise: reset by
subtraction (``reset_mechanism="subtract"``, detached, and applied one step late,
``reset_delay=True``), ATan surrogate (``alpha = 2``). snnTorch's membrane update is
:math:`U_t = \beta U_{t-1} + I_t - S_{t-1}\vartheta` (the input is not scaled by
``1 - beta``), so at the same input its neurons fire more often than the others';
the work per step is the same.

snnTorch has no multi-step LIF with reset: ``LeakyParallel`` is an ``nn.RNN`` with a
ReLU and no reset, ``StateLeaky`` a causal convolution with no reset, so neither
computes this neuron. The only variant is ``"default"``.
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
    quiet,
    srnn_loop,
    unsupported,
)

NAME = "snntorch"
VARIANTS = ("default",)


def default_variants(device: Any = "cpu") -> tuple[str, ...]:
    return VARIANTS


def available() -> bool:
    return can_import("snntorch")


def _loop(lif: Any, x: Any) -> Any:
    import torch

    mem = torch.zeros_like(x[0])  # explicit: Leaky would otherwise resume from its stored mem
    outs = []
    for t in range(x.shape[0]):
        spk, mem = lif(x[t], mem)
        outs.append(spk)
    return torch.stack(outs)


def build(workload: Workload, device: Any = "cpu", variant: str = "default") -> Callable[[], None]:
    check_variant(NAME, variant, VARIANTS)
    device = check_device(device)
    snn = import_peer("snntorch")
    import torch

    with quiet():
        lif = snn.Leaky(beta=DECAY, threshold=THRESHOLD).to(device)
    if isinstance(workload, LIFOnly):
        return closure(lambda x: _loop(lif, x), workload, device)
    if isinstance(workload, LinearLIF):
        linear = make_linear(workload, device)
        return closure(lambda x: _loop(lif, linear(x)), workload, device, linear.parameters())
    if isinstance(workload, SRNN):
        w_in, w_rec = make_srnn_weights(workload, device)

        def srnn(x: Any) -> Any:
            mem = torch.zeros(x.shape[1], workload.N, device=x.device)
            return srnn_loop(x, w_in, w_rec, lambda cur, m: lif(cur, m), mem)

        return closure(srnn, workload, device, [*w_in.parameters(), *w_rec.parameters()])
    raise unsupported(NAME, workload)
