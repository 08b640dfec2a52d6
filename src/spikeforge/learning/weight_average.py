r"""An exponential moving average of a model's weights (Polyak averaging), for evaluation.

After optimizer step :math:`n` the average :math:`a` of every trained parameter
:math:`\theta` moves towards it,

.. math::
    a_n = \delta_n\, a_{n-1} + (1 - \delta_n)\, \theta_n, \qquad
    \delta_n = \min\!\Big(\delta, \frac{1 + n}{10 + n}\Big), \qquad a_0 = \theta_0,

so early averages are not held back by the initial weights (the warm-up of
TensorFlow's ``ExponentialMovingAverage``) and later ones span about
:math:`1/(1-\delta)` steps. Evaluating with :math:`a` instead of the last weights
smooths the step-to-step noise of the final epochs (Polyak & Juditsky 1992; e.g.
Izmailov et al. 2018). Buffers (BatchNorm statistics) are not averaged: the model's own
are used.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator, Mapping

import torch
from torch import Tensor, nn

__all__ = ["WeightAverage", "check_decay"]


def check_decay(decay: Any) -> None:
    """Raise ``ValueError`` unless ``0 < decay < 1``."""
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not math.isfinite(decay) \
            or not 0.0 < decay < 1.0:
        raise ValueError(f"weight_average (the decay of the weight average) must be a number in (0, 1), got {decay!r}")


class WeightAverage:
    """The moving average of ``model``'s trained parameters; call :meth:`update` after each step.

    Example:
        >>> net = nn.Linear(3, 2)
        >>> average = WeightAverage(net, decay=0.99)
        >>> with torch.no_grad():
        ...     _ = net.weight.add_(1.0)
        >>> average.update(net)
        >>> with average.applied(net):   # net holds the averaged weights here
        ...     pass
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        check_decay(decay)
        self.decay = float(decay)
        self.updates = 0
        self.shadow: dict[str, Tensor] = {
            name: p.detach().clone() for name, p in model.named_parameters() if p.requires_grad
        }

    def _pairs(self, model: nn.Module) -> Iterator[tuple[Tensor, Tensor]]:
        params = dict(model.named_parameters())
        for name, average in self.shadow.items():
            if name not in params:
                raise KeyError(f"the model has no parameter {name!r} that the weight average holds")
            yield params[name], average

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        """Move the average towards the model's current parameters (one optimizer step)."""
        self.updates += 1
        delta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for param, average in self._pairs(model):
            average.lerp_(param.detach().to(average.dtype), 1.0 - delta)

    @contextlib.contextmanager
    def applied(self, model: nn.Module) -> Iterator[nn.Module]:
        """Inside the block ``model`` holds the averaged parameters; its own come back after it."""
        saved = []
        with torch.no_grad():
            for param, average in self._pairs(model):
                saved.append((param, param.detach().clone()))
                param.copy_(average)
        try:
            yield model
        finally:
            with torch.no_grad():
                for param, own in saved:
                    param.copy_(own)

    def averaged_state_dict(self, model: nn.Module) -> dict[str, Tensor]:
        """``model.state_dict()`` with the averaged parameters in place of the current ones."""
        state = dict(model.state_dict())
        for name, average in self.shadow.items():
            state[name] = average.detach().clone()
        return state

    def state_dict(self) -> dict[str, Any]:
        return {"decay": self.decay, "updates": self.updates, "shadow": dict(self.shadow)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        missing = set(self.shadow) ^ set(state["shadow"])
        if missing:
            raise KeyError(f"the stored weight average does not fit the model (parameters {sorted(missing)})")
        self.updates = int(state["updates"])
        with torch.no_grad():
            for name, value in state["shadow"].items():
                self.shadow[name].copy_(value)
