"""Call a kernel op's implementation directly when nothing needs the custom op.

The kernels are ``torch.library`` custom ops so that ``torch.compile``, ``torch.export``
and fake tensors see through them. In plain eager mode that machinery is pure cost:
binding the arguments to the schema, the dispatcher and the compile-disable wrapper
took about 0.15 ms per call of the forward op in Python (and as much again for the
backward op), four times the kernel launch itself for a small layer, and a tenth of
the whole forward and backward pass at (T, B, N) = (100, 16, 4096). :func:`call` runs
the same implementation through a ``torch.autograd.Function`` instead whenever the
call is plain eager (:func:`eager_ok`); the numbers are the same either way (the same
functions compute them).
"""

from __future__ import annotations

from typing import Any, Callable

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable


def eager_ok(tensors: tuple) -> bool:
    """Whether a call may bypass the custom op: not being compiled or traced, no
    ``TorchDispatchMode`` (fake tensors, export, functionalisation) or
    ``TorchFunctionMode`` active, no functorch transform (``vmap``, ``grad``), and only
    plain tensors."""
    if torch.compiler.is_compiling() or torch.jit.is_tracing():
        return False
    if torch._C._len_torch_dispatch_stack() or torch._C._is_torch_function_mode_enabled():
        return False
    if torch._C._functorch.peek_interpreter_stack() is not None:
        return False
    return all(type(t) is Tensor for t in tensors if isinstance(t, Tensor))


def autograd_function(name: str, forward: Callable[..., tuple], setup_context: Callable[..., None],
                      backward: Callable[..., tuple]) -> type[torch.autograd.Function]:
    """A ``torch.autograd.Function`` running ``forward(*inputs)`` with the op's own
    ``setup_context`` and ``backward`` (as given to ``torch.library.register_autograd``).
    ``ctx.eager`` is set so that ``backward`` can call the backward implementation
    directly too. Gradients are not materialised (``None`` for unused outputs, as the
    custom op passes them)."""

    def forward_(ctx: Any, *inputs: Any) -> tuple:
        output = forward(*inputs)
        ctx.set_materialize_grads(False)
        setup_context(ctx, inputs, output)
        ctx.eager = True
        return output

    def backward_(ctx: Any, *grads: Any) -> tuple:
        return backward(ctx, *grads)

    return type(name, (torch.autograd.Function,), {
        "forward": staticmethod(forward_),
        "backward": staticmethod(once_differentiable(backward_)),
    })


def call(op: Callable[..., Any], function: type[torch.autograd.Function], *args: Any) -> Any:
    """``op(*args)``, through ``function`` where :func:`eager_ok` allows."""
    if eager_ok(args):
        return function.apply(*args)
    return op(*args)
