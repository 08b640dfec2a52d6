"""BP-STDP (Tavanaei & Maida 2019): supervised, STDP-like local learning in IF networks.

:class:`BPSTDP` is bound to the ``nn.Linear`` connections of a feed-forward network of
non-leaky IF neurons (input -> hidden ... -> output). Given each layer's spikes at a step
(the input and every layer's output) and the desired output spikes, it writes ``-Δw`` into
every connection's ``.grad``: at a desired spike time of the label's neuron, a target
output that stayed silent in the last ``epsilon + 1`` steps is potentiated from the inputs
active in that window, a wrong output that fired is depressed, and hidden neurons that fired
in the window take their share through the weights above (equations in
:mod:`spikeforge.functional.bp_stdp`). Plain SGD with ``lr=1`` after every step is the
paper's online rule; :meth:`BPSTDP.target` makes the desired spike trains.

:class:`spikeforge.models.BPSTDPNet` is the same network with the whole training loop fused
in a numba kernel (``spikeforge train bpstdp-mnist``).

Examples:
    >>> layers = [nn.Linear(784, 500, bias=False), nn.Linear(500, 10, bias=False)]
    >>> rule = BPSTDP(layers, lr=5e-4, epsilon=4)
    >>> opt = torch.optim.SGD([p for l in layers for p in l.parameters()], lr=1.0)
    >>> z = rule.target(labels, num_steps=50)                       # [50, B, 10]
    >>> state = None
    >>> for t in range(50):
    ...     s0 = x[t]; s1, v1 = if_step(layers[0](s0), v1); s2, v2 = if_step(layers[1](s1), v2)
    ...     state = rule.step([s0, s1, s2], z[t], state); opt.step(); opt.zero_grad()
"""

from __future__ import annotations

from typing import NamedTuple, Sequence

import torch
from torch import Tensor, nn

from .._validation import check_finite, check_floating
from ..functional.bp_stdp import bp_stdp_changes, target_train

__all__ = ["BPSTDP", "BPSTDPState"]


class BPSTDPState(NamedTuple):
    """The spikes of the last ``epsilon + 1`` steps of every layer, ``[window, B, n_k]`` each."""

    history: tuple[Tensor, ...]


class BPSTDP:
    """BP-STDP on a stack of ``nn.Linear`` connections.

    Args:
        layers: the connections from the input to the output, in order (``in_features`` of
            each equal to the ``out_features`` of the one before).
        lr: the learning rate :math:`\\mu` (5e-4 to 1e-3 for MNIST in the paper).
        epsilon: the window is the last ``epsilon + 1`` steps (4 in the paper).
        target_rate: desired rate of the label's output neuron, Hz (250 in the paper).
        dt: seconds per step.
    """

    name = "bp_stdp"

    def __init__(self, layers: Sequence[nn.Linear], *, lr: float = 5e-4, epsilon: int = 4,
                 target_rate: float = 250.0, dt: float = 1e-3) -> None:
        layers = list(layers)
        if not layers or not all(isinstance(l, nn.Linear) for l in layers):
            raise TypeError("BPSTDP needs a non-empty sequence of nn.Linear connections, input first")
        for a, b in zip(layers[:-1], layers[1:]):
            if a.out_features != b.in_features:
                raise ValueError(f"layers do not chain: {a} feeds {b}")
        if not (isinstance(lr, (int, float)) and lr > 0):
            raise ValueError(f"lr must be positive, got {lr!r}")
        if isinstance(epsilon, bool) or not isinstance(epsilon, int) or epsilon < 0:
            raise ValueError(f"epsilon must be a non-negative number of steps, got {epsilon!r}")
        if not (target_rate > 0 and dt > 0 and round(1.0 / (target_rate * dt)) >= 1):
            raise ValueError(f"target_rate * dt must lie in (0, 1], got {target_rate * dt!r}")
        self.layers, self.lr, self.epsilon = layers, float(lr), epsilon
        self.period = int(round(1.0 / (target_rate * dt)))

    def target(self, labels: Tensor, num_steps: int) -> Tensor:
        """Desired output spikes ``[T, B, C]`` for ``labels`` ``[B]`` (a spike every ``period`` steps)."""
        return target_train(labels, self.layers[-1].out_features, num_steps, self.period)

    def step(self, spikes: Sequence[Tensor], target: Tensor, state: BPSTDPState | None = None) -> BPSTDPState:
        """One step: ``spikes`` = [input, layer 1, ..., output] spikes ``[B, n_k]`` of this step,
        ``target`` the desired output spikes ``[B, C]``. Accumulates ``-Δw``; returns the state."""
        self._check(spikes, target)
        spikes = [s.detach().to(self.layers[0].weight.dtype) for s in spikes]
        window = self.epsilon + 1
        if state is None:
            history = tuple(s.new_zeros(window, *s.shape) for s in spikes)
        else:
            history = state.history
        history = tuple(torch.cat([h[1:], s[None]]) for h, s in zip(history, spikes))
        if bool((target > 0).any()):
            weights = [self._effective(l) for l in self.layers]
            changes = bp_stdp_changes(target.to(spikes[0].dtype), [h.sum(0) for h in history], weights, self.lr)
            for layer, dw in zip(self.layers, changes):
                with torch.no_grad():
                    if layer.weight.grad is None:
                        layer.weight.grad = -dw
                    else:
                        layer.weight.grad.sub_(dw)
        return BPSTDPState(history)

    def sequence(self, spikes: Sequence[Tensor], target: Tensor, state: BPSTDPState | None = None) -> BPSTDPState:
        """The steps of ``[T, B, n_k]`` spikes and ``[T, B, C]`` targets (given spikes: the same as
        a loop of :meth:`step`, whose changes accumulate in ``.grad``)."""
        if target.dim() != 3 or any(s.dim() != 3 or s.shape[0] != target.shape[0] for s in spikes):
            raise ValueError("sequence expects spikes [T, B, n_k] per layer and target [T, B, C] with the same T")
        for t in range(target.shape[0]):
            state = self.step([s[t] for s in spikes], target[t], state)
        return state

    @staticmethod
    def _effective(layer: nn.Linear) -> Tensor:
        w, g = layer.weight.detach(), layer.weight.grad
        return w if g is None else w - g

    def _check(self, spikes: Sequence[Tensor], target: Tensor) -> None:
        if len(spikes) != len(self.layers) + 1:
            raise ValueError(f"need the spikes of the input and of each of the {len(self.layers)} layers "
                             f"({len(self.layers) + 1} tensors), got {len(spikes)}")
        sizes = [self.layers[0].in_features] + [l.out_features for l in self.layers]
        for k, (s, n) in enumerate(zip(spikes, sizes)):
            check_floating(s, f"spikes[{k}]")
            check_finite(s, f"spikes[{k}]")
            if s.dim() != 2 or s.shape[1] != n:
                raise ValueError(f"spikes[{k}] must be [B, {n}], got shape {tuple(s.shape)}")
        check_floating(target, "target")
        if target.shape != spikes[-1].shape:
            raise ValueError(f"target must be [B, C] like the output spikes {tuple(spikes[-1].shape)}, "
                             f"got {tuple(target.shape)}")

    def __repr__(self) -> str:
        sizes = [self.layers[0].in_features] + [l.out_features for l in self.layers]
        return f"BPSTDP({'-'.join(map(str, sizes))}, lr={self.lr:g}, epsilon={self.epsilon}, period={self.period})"
