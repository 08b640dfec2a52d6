r"""SpikingJelly (tested with 2.0.0): ``activation_based.neuron.LIFNode``.

Settings: ``tau = 2.0`` (decay 0.5, ``decay_input=True``: :math:`H_t = V_{t-1} +
(X_t - V_{t-1})/\tau`), ``v_threshold = 1``, surrogate ``surrogate.ATan(alpha=2)``
(its default is ``Sigmoid``), and its default reset: hard, to ``v_reset = 0``, with
the reset inside the gradient (``detach_reset=False``).

Variants:

- ``"eager"``: the multi-step module (``step_mode="m"``). In 2.0.0 ``LIFNode`` has no
  ``backend`` argument any more: the multi-step path is a registered
  ``torch.ops.sj_lif.forward`` op whose implementation follows the tensor's device. On
  the CPU it is a plain-torch loop differentiated by autograd.
- ``"compiled"``: the same module under ``torch.compile``; the op is a
  ``torch.library.triton_op`` whose decomposition inductor fuses.
- on CUDA only, ``"cuda"`` (SpikingJelly's native CUDA kernel), ``"triton"`` and
  ``"torch"``: the eager module with the implementation forced. 2.0.0 reads the
  choice from ``SJ_LIF_CUDA_IMPLEMENTATION`` once, at import; the adapter sets the
  same private field (``spikingjelly._ops.lif._selection``) before every call, so the
  variants can run one after another in one process. There is no CuPy backend in 2.0.0.

The SRNN workload uses the single-step module (``step_mode="s"``) in the shared loop.
"""

from __future__ import annotations

from typing import Any, Callable

from ..workloads import DECAY, SRNN, THRESHOLD, LIFOnly, LinearLIF, Workload
from ._common import (
    PeerUnavailable,
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

NAME = "spikingjelly"
VARIANTS = ("eager", "compiled", "cuda", "triton", "torch")
CUDA_ONLY = ("cuda", "triton", "torch")
TAU = 1.0 / (1.0 - DECAY)  # 2.0


def default_variants(device: Any = "cpu") -> tuple[str, ...]:
    if str(device).startswith("cuda"):
        return ("eager", "compiled", "cuda", "triton")
    return ("eager", "compiled")


def available() -> bool:
    return can_import("spikingjelly.activation_based.neuron")


def _force_cuda_implementation(name: str) -> Callable[[], None]:
    lif_ops = import_peer("spikingjelly._ops.lif")
    selection = getattr(lif_ops, "_selection", None)
    if selection is None or not hasattr(selection, "_requested") or not hasattr(selection, "_selections"):
        raise PeerUnavailable("this SpikingJelly version has no selectable CUDA implementation (_ops.lif._selection)")

    def force() -> None:
        if selection._requested != name:
            selection._requested = name
            selection._selections.clear()
            getattr(selection, "_compiled_selections", {}).clear()

    return force


def build(workload: Workload, device: Any = "cpu", variant: str = "eager") -> Callable[[], None]:
    check_variant(NAME, variant, VARIANTS)
    device = check_device(device)
    if variant in CUDA_ONLY and device.type != "cuda":
        raise PeerUnavailable(f"variant {variant!r} forces a CUDA implementation")
    neuron = import_peer("spikingjelly.activation_based.neuron")
    surrogate = import_peer("spikingjelly.activation_based.surrogate")

    force = _force_cuda_implementation(variant if variant in CUDA_ONLY else "auto") if device.type == "cuda" else None
    multi = not isinstance(workload, SRNN)
    with quiet():
        node = neuron.LIFNode(
            tau=TAU,
            v_threshold=THRESHOLD,
            surrogate_function=surrogate.ATan(alpha=2.0),
            step_mode="m" if multi else "s",
        ).to(device)

    def before() -> None:
        if force is not None:
            force()
        node.reset()

    compiled = variant == "compiled"
    if isinstance(workload, LIFOnly):
        return closure(maybe_compile(node, compiled, workload), workload, device, before=before)
    if isinstance(workload, LinearLIF):
        linear = make_linear(workload, device)
        fwd = maybe_compile(lambda x: node(linear(x)), compiled, workload)
        return closure(fwd, workload, device, linear.parameters(), before=before)
    if isinstance(workload, SRNN):
        w_in, w_rec = make_srnn_weights(workload, device)
        fwd = maybe_compile(lambda x: srnn_loop(x, w_in, w_rec, lambda cur, _: (node(cur), None), None), compiled, workload)
        return closure(fwd, workload, device, [*w_in.parameters(), *w_rec.parameters()], before=before)
    raise unsupported(NAME, workload)
