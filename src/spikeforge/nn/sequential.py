"""A sequential container that threads each spiking layer's state."""

from __future__ import annotations

from typing import Any, Sequence

from torch import Tensor, nn

from .._validation import check_input
from .base import StatefulModule
from .time_distributed import TimeDistributed


class Sequential(nn.Sequential, StatefulModule):
    """Like ``torch.nn.Sequential``, for spiking networks.

    Spiking layers (anything derived from ``StatefulModule``: ``LIF``,
    ``RecurrentALIF``, ``LI``, another ``Sequential`` ...) receive their own state
    and return a new one; plain layers (``nn.Conv2d``, ``nn.Linear``, ``nn.Flatten``
    ...) are stateless. The container runs in one of two modes, set by its spiking
    layers, which must agree:

    - **sequence** (all spiking layers are sequence modules such as ``LIF``): input
      ``[T, B, ...]``; plain layers see time folded into batch (as
      :class:`TimeDistributed`), so a ``Conv2d`` or ``Flatten`` just works;
    - **step** (all are cells such as ``LIFCell``): input ``[B, ...]``, plain layers
      are called as they are.

    ``forward(x, state=None)`` returns ``(output, state)`` where ``state`` is a tuple
    with one entry per layer (``None`` for plain layers).

    Examples:
        >>> net = Sequential(
        ...     nn.Conv2d(1, 8, 5), nn.MaxPool2d(2), LIF(),
        ...     nn.Flatten(), nn.Linear(8 * 12 * 12, 10), LIF(),
        ... )
        >>> spikes, state = net(torch.rand(25, 4, 1, 28, 28))
        >>> spikes.shape
        torch.Size([25, 4, 10])
    """

    @property
    def time_major(self) -> bool:  # type: ignore[override]
        modes = {m.time_major for m in self if isinstance(m, StatefulModule)}
        if not modes:
            raise ValueError("spikeforge.nn.Sequential holds no spiking layer; use torch.nn.Sequential")
        if len(modes) > 1:
            kinds = ", ".join(f"{type(m).__name__} ({'sequence' if m.time_major else 'step'})"
                              for m in self if isinstance(m, StatefulModule))
            raise ValueError(
                "spikeforge.nn.Sequential mixes one-step cells and sequence modules: "
                f"{kinds}; use all cells (e.g. LIFCell) or all sequence modules (e.g. LIF)"
            )
        return modes.pop()

    def forward(self, x: Tensor, state: Sequence[Any] | None = None) -> tuple[Tensor, tuple]:  # type: ignore[override]
        outputs, new_state = self.forward_layers(x, state)
        return outputs[-1], new_state

    def forward_layers(self, x: Tensor, state: Sequence[Any] | None = None) -> tuple[list[Tensor], tuple]:
        """Like ``forward``, but returns the output of every layer (for rasters and counts)."""
        time_major = self.time_major
        if time_major:
            check_input(x, 3, "input", "[T, B, ...] (time, batch, features)")
        else:
            check_input(x, 2, "input", "[B, ...] for one time step")
        if state is None:
            state = (None,) * len(self)
        elif len(state) != len(self):
            raise ValueError(f"state has {len(state)} entries but the container has {len(self)} layers")
        outputs, new_state = [], []
        for module, s in zip(self, state):
            if isinstance(module, StatefulModule):
                x, s = module(x, s)
            elif time_major and not isinstance(module, TimeDistributed):
                x = module(x.flatten(0, 1)).unflatten(0, x.shape[:2])
            else:
                x = module(x)
            outputs.append(x)
            new_state.append(s)
        return outputs, tuple(new_state)
