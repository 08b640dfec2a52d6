"""What a neuron model is, for the rest of the package.

A :class:`NeuronModel` bundles the pure functions of one model (its parameter and
state tuples, how to build the resting state, the per-step update) so that the
sequence runner, the ``nn`` modules, the tests and later the kernels and exporters
handle every model the same way. Adding a model means writing one functional file
that defines one ``NeuronModel`` and one ``nn`` file that wraps it.

The update is split into ``coefficients(p)`` (per-sequence constants such as decay
factors, computed once) and ``update(x, state, p, coefficients)`` (one time step), so
that looping the one-step function over time is *exactly* the sequence function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, NamedTuple

import torch
from torch import Tensor

from .._validation import check_input

StepOutput = tuple[Tensor, Any]


@dataclass(frozen=True)
class NeuronModel:
    """The functional definition of one neuron model.

    Attributes:
        name: short name (``"lif"``), also the stem of its files.
        parameters: the ``NamedTuple`` class of its parameters.
        state: the ``NamedTuple`` class of its state.
        continuous: names of the tensor-valued parameters (time constants,
            thresholds, ...) that may be per-neuron and learnable.
        init_state: ``(x_step, p) -> state``, the resting state for an input step.
        coefficients: ``p -> c``, constants of a whole sequence.
        update: ``(x_step, state, p, c) -> (out, state)``, one time step.
        validate: ``p -> None``, raises ``ValueError`` for impossible parameters.
        spiking: ``False`` for non-spiking models (the leaky readout).
    """

    name: str
    parameters: type
    state: type
    continuous: tuple[str, ...]
    init_state: Callable[[Tensor, Any], Any]
    coefficients: Callable[[Any], Any]
    update: Callable[[Tensor, Any, Any, Any], StepOutput]
    validate: Callable[[Any], None]
    spiking: bool = True

    def step(self, x: Tensor, state: Any, p: Any) -> StepOutput:
        """One time step: ``x`` is ``[B, ...]``; ``state=None`` means rest."""
        if state is None:
            state = self.init_state(x, p)
        return self.update(x, state, p, self.coefficients(p))

    def sequence(self, x: Tensor, state: Any, p: Any, *, record: bool = False) -> StepOutput:
        """Run the time-major sequence ``x`` (``[T, B, ...]``).

        Returns ``(out, state)``: ``out`` is ``[T, B, ...]``; ``state`` is the
        final state, or with ``record=True`` the state after every step,
        stacked along a leading time axis.
        """
        check_input(x, 3, "input", "[T, B, ...] (time, batch, features)")
        if state is None:
            state = self.init_state(x[0] if x.shape[0] else x.new_zeros(x.shape[1:]), p)
        c = self.coefficients(p)
        outs, trace = [], []
        # unbind, not x[t]: the backward of T separate selects builds T full-size zero tensors
        for x_t in x.unbind(0):
            out, state = self.update(x_t, state, p, c)
            outs.append(out)
            if record:
                trace.append(state)
        if not outs:
            out_seq = x.new_zeros(x.shape)
        else:
            out_seq = torch.stack(outs)
        if record:
            state = stack_states(trace, state)
        return out_seq, state


def stack_states(trace: list[NamedTuple], like: NamedTuple) -> NamedTuple:
    """Stack a list of state tuples field by field along a new leading axis."""
    if not trace:
        return type(like)(*(f.new_zeros((0, *f.shape)) for f in like))
    return type(like)(*(torch.stack(fs) for fs in zip(*trace)))
