r"""Recurrent spiking layers (the SRNN layer): :class:`RecurrentLIF`, :class:`RecurrentALIF`
and their one-step cells.

Each layer is a feed-forward projection plus a recurrent projection of the layer's
own spikes from the previous step, driving a population of spiking neurons:

.. math::
    x^\text{syn}_t = W_\text{in}\,x_t + b + W_\text{rec}\, s_{t-1}, \qquad
    (s_t, \text{state}_t) = \text{neuron step}(x^\text{syn}_t, \text{state}_{t-1}).

The sequence layers apply :math:`W_\text{in}` to all time steps at once (one matrix
product over ``[T*B, I]``); only the recurrent product stays inside the time loop.
That loop runs in one of two ways (``backend=``): ``"torch"``, the plain-torch
reference (a matrix product and the neuron step per time step), or ``"cpu"``, the
numba kernel of :mod:`spikeforge.kernels.cpu.recurrent`, which walks time with the
neuron state of each batch row in local arrays and adds the recurrent product
event-driven (only the columns of neurons that spiked). ``"auto"`` (the default)
takes the kernel for CPU tensors when numba is installed and the call is supported,
and the torch loop otherwise, on the GPU too.

Weights start as in Yin et al. (2021): Xavier-uniform input weights, orthogonal
recurrent weights, zero bias.
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from .._validation import check_choice, check_input
from ..kernels.recurrent import RECURRENT_BACKENDS, resolve_recurrent
from .alif import ALIFCell
from .base import NeuronModule, StatefulModule
from .lif import LIFCell


class RecurrentState(NamedTuple):
    """``neuron``: the neurons' state; ``z``: their spikes at the previous step."""

    neuron: Any
    z: Tensor


class _RecurrentBase(StatefulModule):
    """Shared construction of the recurrent layers; ``neuron_kwargs`` go to the cell."""

    cell_class: ClassVar[type[NeuronModule]]

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **neuron_kwargs: Any,
    ) -> None:
        super().__init__()
        for name, n in (("input_size", input_size), ("hidden_size", hidden_size)):
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise ValueError(f"{name} must be a positive int, got {n!r}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.input = nn.Linear(input_size, hidden_size, bias=bias, device=device, dtype=dtype)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False, device=device, dtype=dtype)
        self.neuron = self.cell_class(hidden_size, device=device, dtype=dtype, **neuron_kwargs)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_uniform_(self.input.weight)
        if self.input.bias is not None:
            nn.init.zeros_(self.input.bias)
        nn.init.orthogonal_(self.recurrent.weight)

    def initial_state(self, batch: Tensor) -> RecurrentState:
        """The resting state for a ``[B, hidden_size]``-shaped step like ``batch``."""
        p = self.neuron.neuron_parameters()
        return RecurrentState(self.neuron.model.init_state(batch, p), torch.zeros_like(batch))

    def _step(self, current: Tensor, state: RecurrentState, p: Any, c: Any) -> tuple[Tensor, RecurrentState]:
        z, neuron_state = self.neuron.model.update(current + self.recurrent(state.z), state.neuron, p, c)
        return z, RecurrentState(neuron_state, z)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class _RecurrentSequence(_RecurrentBase):
    time_major = True

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        bias: bool = True,
        backend: str = "auto",
        recompute: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
        **neuron_kwargs: Any,
    ) -> None:
        check_choice(backend, RECURRENT_BACKENDS, "backend")
        super().__init__(input_size, hidden_size, bias=bias, device=device, dtype=dtype, **neuron_kwargs)
        self.backend = backend
        self.recompute = bool(recompute)

    def forward(self, x: Tensor, state: RecurrentState | None = None) -> tuple[Tensor, RecurrentState]:
        """``x``: ``[T, B, input_size]``; returns spikes ``[T, B, hidden_size]`` and the final state."""
        check_input(x, 3, "input", "[T, B, input_size]")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected input_size {self.input_size} in the last dimension, got shape {tuple(x.shape)}")
        currents = self.input(x)
        p = self.neuron._validated_parameters()
        model = self.neuron.model
        backend = resolve_recurrent(self.backend, model, currents, self.recurrent.weight, p)
        if backend != "torch":
            from ..kernels.recurrent import fused_recurrent_sequence

            neuron_state, z0 = (None, None) if state is None else state
            out, neuron_state, z = fused_recurrent_sequence(
                model, currents, self.recurrent.weight, neuron_state, z0, p, backend, self.recompute
            )
            return out, RecurrentState(neuron_state, z)
        if state is None:
            state = self.initial_state(currents.new_zeros(currents.shape[1:]))
        c = model.coefficients(p)
        outs = []
        # unbind, not currents[t]: the backward of T selects would build T full-size zero tensors
        for current in currents.unbind(0):
            z, state = self._step(current, state, p, c)
            outs.append(z)
        return (torch.stack(outs) if outs else currents.new_zeros(currents.shape)), state

    def extra_repr(self) -> str:
        extra = "" if self.backend == "auto" else f", backend={self.backend!r}"
        return super().extra_repr() + extra + (", recompute=True" if self.recompute else "")


class _RecurrentCell(_RecurrentBase):
    time_major = False

    def forward(self, x: Tensor, state: RecurrentState | None = None) -> tuple[Tensor, RecurrentState]:
        """``x``: ``[B, input_size]``; returns spikes ``[B, hidden_size]`` and the new state."""
        check_input(x, 2, "input", "[B, input_size] for one time step")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"expected input_size {self.input_size} in the last dimension, got shape {tuple(x.shape)}")
        current = self.input(x)
        if state is None:
            state = self.initial_state(torch.zeros_like(current))
        p = self.neuron._validated_parameters()
        return self._step(current, state, p, self.neuron.model.coefficients(p))


class RecurrentLIF(_RecurrentSequence):
    """A recurrent layer of LIF neurons over a sequence (see the module docstring).

    Args:
        input_size: features per input step.
        hidden_size: number of neurons.
        bias: add a learnable bias to the input projection.
        backend: who runs the time loop: ``"auto"`` (default: the CPU kernel for CPU
            tensors when numba is installed and the call is supported, else the torch
            loop; CUDA tensors always take the torch loop), ``"torch"`` (the plain-torch
            reference) or ``"cpu"`` (the numba kernel; raises ``ImportError`` without
            ``pip install 'spikeforge[cpu-kernels]'``, ``ValueError`` for a call it
            cannot run).
        recompute: with the kernel, recompute the membrane history in the backward
            pass instead of storing it (less memory, one more forward pass of time).
        **neuron_kwargs: passed to :class:`spikeforge.nn.LIFCell` (``tau_mem=...``).

    Shape:
        input ``[T, B, input_size]``, output spikes ``[T, B, hidden_size]``.

    Examples:
        >>> layer = RecurrentLIF(4, 64, tau_mem=20e-3)
        >>> spikes, state = layer(torch.rand(100, 8, 4))
    """

    cell_class = LIFCell


class RecurrentLIFCell(_RecurrentCell):
    """One time step of :class:`RecurrentLIF`: input ``[B, input_size]``."""

    cell_class = LIFCell


class RecurrentALIF(_RecurrentSequence):
    """A recurrent layer of adaptive (ALIF) neurons: the adaptive SRNN layer of Yin et al. 2021.

    Args:
        input_size: features per input step.
        hidden_size: number of neurons.
        bias: add a learnable bias to the input projection.
        backend, recompute: who runs the time loop, as for :class:`RecurrentLIF`.
        **neuron_kwargs: passed to :class:`spikeforge.nn.ALIFCell` (``tau_adp=...``).

    Shape:
        input ``[T, B, input_size]``, output spikes ``[T, B, hidden_size]``.

    Examples:
        >>> layer = RecurrentALIF(4, 36, tau_adp=200e-3, learn_tau_adp=True)
        >>> spikes, state = layer(torch.rand(100, 8, 4))
    """

    cell_class = ALIFCell


class RecurrentALIFCell(_RecurrentCell):
    """One time step of :class:`RecurrentALIF`: input ``[B, input_size]``."""

    cell_class = ALIFCell
