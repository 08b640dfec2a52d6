"""Learning rules: how the weight changes of one (chunk of a) batch get into ``.grad``.

A learning rule is an object with

    ``step(model, x, y, objective, *, state=None, loss_weight=1.0) -> StepResult``

that runs ``model`` on ``x`` (from ``state``), computes the weight change the rule
prescribes and **adds** it into each parameter's ``.grad`` (as ``-Δw`` for rules that
are not gradients, so that any torch optimizer applies it), and returns the loss, the
model's output and the state to continue from. The trainer owns everything around it:
splitting long sequences into chunks (truncated BPTT) and threading ``state`` between
them, averaging ``.grad`` over processes, clipping, the optimizer and the schedule. A
rule never calls the optimizer, so BPTT, e-prop, OSTL and STDP share one loop.

``loss_weight`` scales this call's contribution to ``.grad`` (the trainer weights the
chunks of a sequence and the shards of a distributed batch so that their sum is the
gradient of the whole batch's mean loss); a weight of 0 computes no gradient at all.

:class:`BPTT` is backpropagation through time with whatever surrogate gradients the
model's neurons carry.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol, runtime_checkable

from torch import Tensor, nn

from .objectives import Objective

__all__ = ["StepResult", "LearningRule", "BPTT", "RULES", "rule_from_name", "run_model", "detach_state"]


class StepResult(NamedTuple):
    """What a rule returns: the (detached) loss and output, and the state to continue from."""

    loss: Tensor
    out: Tensor
    state: Any


@runtime_checkable
class LearningRule(Protocol):
    """The interface of a learning rule (see the module docstring)."""

    name: str

    def step(self, model: nn.Module, x: Tensor, y: Tensor, objective: Objective, *,
             state: Any = None, loss_weight: float = 1.0) -> StepResult: ...


def run_model(model: nn.Module, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
    """``model(x, state)`` for spikeforge models (``(out, state)``); a plain tensor output has state ``None``."""
    result = model(x) if state is None else model(x, state)
    if isinstance(result, tuple) and len(result) == 2:
        return result[0], result[1]
    if isinstance(result, Tensor):
        if state is not None:
            raise TypeError(f"{type(model).__name__} returns no state, so it cannot continue a truncated sequence")
        return result, None
    raise TypeError(
        f"{type(model).__name__}.forward must return (out [T, B, C], state) or a tensor, got {type(result).__name__}"
    )


def detach_state(state: Any) -> Any:
    """``state`` with every tensor detached (NamedTuples, tuples, lists and dicts are walked)."""
    if isinstance(state, Tensor):
        return state.detach()
    if isinstance(state, tuple) and hasattr(state, "_fields"):
        return type(state)(*(detach_state(s) for s in state))
    if isinstance(state, (tuple, list)):
        return type(state)(detach_state(s) for s in state)
    if isinstance(state, dict):
        return {k: detach_state(v) for k, v in state.items()}
    return state


class BPTT:
    """Backpropagation through time: ``(loss_weight * objective.loss(model(x), y)).backward()``.

    Gradients flow through the spikes by each neuron's surrogate (``surrogate=`` of the
    spiking modules). Within one call the whole sequence is differentiated; the trainer
    truncates longer sequences by calling :meth:`step` once per chunk with the previous
    chunk's final state, which this rule detaches (truncated BPTT).
    """

    name = "bptt"

    def step(self, model: nn.Module, x: Tensor, y: Tensor, objective: Objective, *,
             state: Any = None, loss_weight: float = 1.0) -> StepResult:
        out, new_state = run_model(model, x, state)
        loss = objective.loss(out, y)
        if loss_weight != 0:
            (loss * loss_weight).backward()
        return StepResult(loss.detach(), out.detach(), detach_state(new_state))

    def __repr__(self) -> str:
        return "BPTT()"


RULES: dict[str, type] = {"bptt": BPTT}
"""Learning rules by recipe name (``learning.rule``): ``bptt``, ``eprop``, ``ostl``."""


def rule_from_name(name: str, **kwargs: Any) -> LearningRule:
    """Build a learning rule from its recipe name."""
    key = str(name).lower().replace("-", "_")
    if key not in RULES:
        raise ValueError(f"unknown learning rule {name!r}; known: {', '.join(RULES)}")
    try:
        return RULES[key](**kwargs)
    except TypeError as exc:
        raise ValueError(f"bad settings for learning rule {key!r}: {exc}") from None


# the online rules build on StepResult above, so they are registered after it
from .eprop import EProp  # noqa: E402
from .ostl import OSTL  # noqa: E402

RULES.update(eprop=EProp, ostl=OSTL)
