r"""Training objectives: a loss and a prediction read from a model's output ``out [T, B, C]``.

An objective turns the time-major output of a classifier into

- ``loss(out, y)``: a scalar to minimise (the spike losses of :mod:`spikeforge.encoding`
  where they exist);
- ``scores(out)``: per-class scores, ``[B, C]`` (one prediction per sample) or
  ``[T, B, C]`` (one per time step, :class:`PerStepCrossEntropy`);
- ``correct(out, y)``: ``(right, counted)``, the predictions that hit the label and
  how many were scored, so accuracies can be summed over batches and processes;
- ``count(y)``: how many elements the loss averages over (samples, or labelled time
  steps), which the trainer uses to weight chunks of a truncated sequence and the
  shards of a data-parallel batch so that they add up to the loss of the whole.

=====================  =======================================  ==================
name                   loss                                     labels
=====================  =======================================  ==================
``mean_membrane``      CE of the time-mean of ``out``           ``[B]``
``max_membrane``       CE of the time-max of ``out``            ``[B]``
``last_membrane``      CE of the last step of ``out``           ``[B]``
``spike_count``        CE of the spike counts ``out.sum(0)``    ``[B]``
``count_mse``          squared error to target spike counts     ``[B]``
``per_step``           CE at every time step (ECG)              ``[T, B]``
=====================  =======================================  ==================

``per_step`` takes ``burn_in`` (steps at the start that are not scored, as Yin et
al. (2021) skip the first 10 steps of the ECG task) and ``ignore_index`` (label of
unscored steps); its accuracy is per time step.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch.nn.functional as F
from torch import Tensor

from ..encoding import (
    count_mse,
    max_membrane_cross_entropy,
    mean_membrane_cross_entropy,
    spike_count_cross_entropy,
)
from ..encoding._checks import check_tensor

__all__ = [
    "Objective", "MeanMembraneCrossEntropy", "MaxMembraneCrossEntropy", "LastMembraneCrossEntropy",
    "SpikeCountCrossEntropy", "SpikeCountMSE", "PerStepCrossEntropy", "OBJECTIVES", "objective_from_name",
]


class Objective:
    """Base class: a loss on ``out [T, B, C]`` and the predictions it implies.

    Subclasses set ``name`` and implement :meth:`loss` and :meth:`scores`; the default
    :meth:`correct` compares the arg-max of ``scores`` with one label per sample.
    """

    name: ClassVar[str] = ""
    per_step: ClassVar[bool] = False
    """Whether labels are per time step, ``[T, B]``, instead of per sample, ``[B]``."""

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        raise NotImplementedError

    def scores(self, out: Tensor) -> Tensor:
        raise NotImplementedError

    def prepare_target(self, y: Tensor) -> Tensor:
        """Labels as the loss wants them, once per batch before any chunking (a no-op here)."""
        return y

    def count(self, y: Tensor) -> int:
        """Elements the loss averages over: the samples of ``y [B]``."""
        return int(y.shape[0])

    def correct(self, out: Tensor, y: Tensor) -> tuple[int, int]:
        """``(right, counted)``: predictions equal to the label, and how many were scored."""
        pred = self.scores(out).argmax(-1)
        return int((pred == y).sum().item()), int(y.numel())

    def config(self) -> dict[str, Any]:
        """The plain-data description ``{"name": ..., **kwargs}`` that rebuilds this objective."""
        return {"name": self.name, **{k: getattr(self, k) for k in _init_parameters(type(self))}}

    def __repr__(self) -> str:
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "name")
        return f"{type(self).__name__}({kwargs})"


class MeanMembraneCrossEntropy(Objective):
    """Cross-entropy of the readout membrane averaged over time (the usual LI-readout loss)."""

    name = "mean_membrane"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return mean_membrane_cross_entropy(out, y)

    def scores(self, out: Tensor) -> Tensor:
        return out.mean(0)


class MaxMembraneCrossEntropy(Objective):
    """Cross-entropy of the readout membrane's maximum over time."""

    name = "max_membrane"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return max_membrane_cross_entropy(out, y)

    def scores(self, out: Tensor) -> Tensor:
        return out.amax(0)


class LastMembraneCrossEntropy(Objective):
    """Cross-entropy of the readout at the last time step (sequence classification)."""

    name = "last_membrane"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        check_tensor(out, "out", rank=3, layout="[T, B, C]")
        return F.cross_entropy(out[-1], y)

    def scores(self, out: Tensor) -> Tensor:
        return out[-1]


class SpikeCountCrossEntropy(Objective):
    """Cross-entropy with the output spike counts as logits (spiking readout)."""

    name = "spike_count"

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return spike_count_cross_entropy(out, y)

    def scores(self, out: Tensor) -> Tensor:
        return out.sum(0)


class SpikeCountMSE(Objective):
    """Squared error between output spike counts and ``on_rate``/``off_rate`` times ``T``."""

    name = "count_mse"

    def __init__(self, on_rate: float = 0.8, off_rate: float = 0.2) -> None:
        self.on_rate = float(on_rate)
        self.off_rate = float(off_rate)

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        return count_mse(out, y, on_rate=self.on_rate, off_rate=self.off_rate)

    def scores(self, out: Tensor) -> Tensor:
        return out.sum(0)


class PerStepCrossEntropy(Objective):
    """Cross-entropy at every time step against per-step labels ``y [T, B]`` (the ECG task).

    Args:
        burn_in: the first ``burn_in`` steps of each sequence are not scored.
        ignore_index: label value of steps that are not scored (also in the data).
    """

    name = "per_step"
    per_step = True

    def __init__(self, burn_in: int = 0, ignore_index: int = -100) -> None:
        if isinstance(burn_in, bool) or not isinstance(burn_in, int) or burn_in < 0:
            raise ValueError(f"burn_in must be a non-negative integer (steps), got {burn_in!r}")
        self.burn_in = burn_in
        self.ignore_index = int(ignore_index)

    def prepare_target(self, y: Tensor) -> Tensor:
        if y.dim() != 2:
            raise ValueError(
                f"the per_step objective needs one label per time step, [T, B]; got labels of shape "
                f"{tuple(y.shape)} (use a sequence objective such as mean_membrane for [B] labels)"
            )
        if self.burn_in:
            y = y.clone()
            y[: self.burn_in] = self.ignore_index
        return y

    def loss(self, out: Tensor, y: Tensor) -> Tensor:
        check_tensor(out, "out", rank=3, layout="[T, B, C]")
        if tuple(y.shape) != tuple(out.shape[:2]):
            raise ValueError(f"per-step labels must have shape [T, B] = {tuple(out.shape[:2])}, got {tuple(y.shape)}")
        return F.cross_entropy(out.flatten(0, 1), y.flatten(), ignore_index=self.ignore_index)

    def scores(self, out: Tensor) -> Tensor:
        return out

    def count(self, y: Tensor) -> int:
        return int((y != self.ignore_index).sum().item())

    def correct(self, out: Tensor, y: Tensor) -> tuple[int, int]:
        scored = y != self.ignore_index
        hit = (out.argmax(-1) == y) & scored
        return int(hit.sum().item()), int(scored.sum().item())


OBJECTIVES: dict[str, type[Objective]] = {
    cls.name: cls
    for cls in (MeanMembraneCrossEntropy, MaxMembraneCrossEntropy, LastMembraneCrossEntropy,
                SpikeCountCrossEntropy, SpikeCountMSE, PerStepCrossEntropy)
}
"""The objectives by recipe name."""


def objective_from_name(name: str, **kwargs: Any) -> Objective:
    """Build an objective from its recipe name and keyword arguments."""
    if isinstance(name, Objective):
        return name
    key = str(name).lower().replace("-", "_")
    if key not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")
    cls = OBJECTIVES[key]
    accepted = _init_parameters(cls)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ValueError(
            f"objective {key!r} takes no parameter {', '.join(map(repr, unknown))}; "
            f"valid: {', '.join(accepted) or '(none)'}"
        )
    return cls(**kwargs)


def accepted_parameters(name: str) -> list[str]:
    """The keyword arguments objective ``name`` accepts (for recipe validation)."""
    key = str(name).lower().replace("-", "_")
    if key not in OBJECTIVES:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVES)}")
    return _init_parameters(OBJECTIVES[key])


def _init_parameters(cls: type) -> list[str]:
    if cls.__init__ is object.__init__:
        return []
    return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
