"""Spike-timing-dependent plasticity rules for ``nn.Linear`` and ``nn.Conv2d`` connections.

A rule is bound to one connection, like an optimizer to its parameters. Given the spikes
on both sides of the connection it computes the weight change the rule prescribes and
writes ``-Δw`` into ``connection.weight.grad`` (adding to what is there), so any torch
optimizer applies it: plain SGD with ``lr=1`` gives the textbook rule exactly.

- :class:`PairSTDP`: pair-based STDP with pre/post traces (all-to-all or nearest-spike
  pairing), additive with hard bounds, multiplicative (soft bounds) or Diehl & Cook's
  pre-trace rule with an offset;
- :class:`TripletSTDP`: Pfister & Gerstner's (2006) triplet rule;
- :class:`RewardSTDP`: reward-modulated STDP with an eligibility trace.

Each has ``step(pre, post, state=None)`` for one time step (``[B, ...]`` spikes) and
``sequence(pre, post, state=None)`` for a whole time-major sequence (``[T, B, ...]``);
both return the rule's state (its traces) to continue from. A loop of ``step`` calls and
one ``sequence`` call give the same weights. The equations are in
:mod:`spikeforge.functional.plasticity`.

Between optimizer steps the rule sees the weights as the next SGD step (``lr=1``) will
leave them, ``weight - weight.grad``: the weight dependence, the bounds and the
normalization of several ``step`` calls accumulated in ``.grad`` are those of applying
each step at once. ``clip=True`` keeps the weights within ``[w_min, w_max]``;
``normalize=total`` rescales the weights into every post neuron to sum to ``total``
after each call (Diehl & Cook 2015 normalize once per image: call ``sequence`` once per
image).

Examples:
    >>> fc = nn.Linear(784, 100, bias=False)
    >>> stdp = PairSTDP(fc, a_pre=1e-2, a_post=1e-2, tau_pre=20e-3, tau_post=20e-3)
    >>> opt = torch.optim.SGD(fc.parameters(), lr=1.0)
    >>> pre = poisson(images.flatten(1) * 63.75, 350)       # [T, B, 784]
    >>> with torch.no_grad():
    ...     post, _ = lif(fc(pre))                          # [T, B, 100]
    >>> opt.zero_grad(); stdp.sequence(pre, post); opt.step()
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from .._validation import check_finite, check_floating
from ..functional.plasticity import (
    PairTraces,
    RewardParameters,
    RewardState,
    STDPParameters,
    TripletParameters,
    TripletTraces,
    conv2d_correlation,
    linear_correlation,
    normalize_weights,
    pair_stdp_sequence,
    pair_stdp_step,
    reward_stdp_sequence,
    reward_stdp_step,
    triplet_stdp_sequence,
    triplet_stdp_step,
    validate_parameters,
)

__all__ = ["PairSTDP", "TripletSTDP", "RewardSTDP", "PairTraces", "TripletTraces", "RewardState"]


class _Rule:
    """What every rule shares: the connection, its correlation, ``.grad`` bookkeeping, checks."""

    name = "stdp"

    def __init__(self, connection: nn.Module, normalize: float | None) -> None:
        if isinstance(connection, nn.Linear):
            self.correlate = linear_correlation
            self._layout, self._norm_dims = ("[B, in_features]", "[B, out_features]"), -1
        elif isinstance(connection, nn.Conv2d):
            c = connection
            if not isinstance(c.padding, tuple) or c.padding_mode != "zeros":
                raise ValueError("STDP on Conv2d needs numeric zero padding (padding='same'/'valid' strings and "
                                 f"padding_mode={c.padding_mode!r} are not supported); give padding as numbers")
            self.correlate = conv2d_correlation(tuple(c.weight.shape), stride=c.stride, padding=c.padding,
                                                dilation=c.dilation, groups=c.groups)
            self._layout, self._norm_dims = ("[B, C_in, H, W]", "[B, C_out, H_out, W_out]"), (1, 2, 3)
        else:
            raise TypeError(f"STDP rules apply to nn.Linear or nn.Conv2d connections, got {type(connection).__name__}")
        if normalize is not None and not (isinstance(normalize, (int, float)) and normalize > 0):
            raise ValueError(f"normalize must be a positive total weight per post neuron or None, got {normalize!r}")
        self.connection = connection
        self.normalize = None if normalize is None else float(normalize)

    @property
    def weight(self) -> Tensor:
        return self.connection.weight

    def effective_weight(self) -> Tensor:
        """The weight the next optimizer step (SGD, ``lr=1``) leaves: ``weight - weight.grad``."""
        w = self.weight.detach()
        g = self.weight.grad
        return w if g is None else w - g

    def _apply(self, w_before: Tensor, dw: Tensor) -> None:
        """Add ``-dw`` (normalized if asked) into ``weight.grad``."""
        if self.normalize is not None:
            dw = normalize_weights(w_before + dw, self.normalize, dim=self._norm_dims) - w_before
        w = self.weight
        with torch.no_grad():
            if w.grad is None:
                w.grad = (-dw).to(w.dtype).clone()
            else:
                w.grad.sub_(dw.to(w.grad.dtype))

    def _check(self, pre: Tensor, post: Tensor, sequence: bool) -> None:
        check_floating(pre, "pre")
        check_floating(post, "post")
        check_finite(pre, "pre spikes")
        check_finite(post, "post spikes")
        rank = self.weight.dim() + (1 if sequence else 0)
        lead = "[T, " if sequence else "["
        pre_layout, post_layout = (lead + s[1:] for s in self._layout)
        if pre.dim() != rank:
            raise ValueError(f"pre spikes must be {pre_layout}, got shape {tuple(pre.shape)}")
        if post.dim() != rank:
            raise ValueError(f"post spikes must be {post_layout}, got shape {tuple(post.shape)}")
        batch_dim = 1 if sequence else 0
        if pre.shape[batch_dim] != post.shape[batch_dim] or (sequence and pre.shape[0] != post.shape[0]):
            raise ValueError(f"pre {tuple(pre.shape)} and post {tuple(post.shape)} spikes must have the same "
                             f"{'steps and ' if sequence else ''}batch size")
        feat = pre.shape[rank - self.weight.dim() + 1:]
        if isinstance(self.connection, nn.Linear):
            expected_pre, expected_post = self.connection.in_features, self.connection.out_features
            if feat[0] != expected_pre or post.shape[-1] != expected_post:
                raise ValueError(f"spikes do not fit {self.connection}: pre has {feat[0]} features "
                                 f"(expected {expected_pre}), post {post.shape[-1]} (expected {expected_post})")
        elif pre.shape[batch_dim + 1] != self.connection.in_channels or \
                post.shape[batch_dim + 1] != self.connection.out_channels:
            raise ValueError(f"spikes do not fit {self.connection}: pre has {pre.shape[batch_dim + 1]} channels, "
                             f"post {post.shape[batch_dim + 1]}")

    def _cast(self, *spikes: Tensor) -> tuple[Tensor, ...]:
        dtype = self.weight.dtype
        return tuple(s.detach().to(dtype) for s in spikes)


class PairSTDP(_Rule):
    r"""Pair-based STDP on a connection (the seed's rule; equations in
    :mod:`spikeforge.functional.plasticity`).

    A pre spike followed ``Δt`` later by a post spike changes the weight by
    ``+a_pre * exp(-Δt / tau_pre)``; a post spike followed by a pre spike by
    ``-a_post * exp(-Δt / tau_post)``.

    Args:
        connection: the ``nn.Linear`` or ``nn.Conv2d`` whose ``weight`` learns.
        a_pre, a_post: potentiation and depression amplitudes (``A_pre``, ``A_post``).
        tau_pre, tau_post: time constants of the pre and post traces (``τ+``, ``τ-``), seconds.
        pairing: ``"all_to_all"`` or ``"nearest"`` (nearest-spike pairs).
        weight_dependence: ``"additive"``, ``"multiplicative"`` (soft bounds) or ``"offset"``
            (Diehl & Cook 2015: potentiation ``a_pre (x_pre - x_tar)(w_max - w)^mu``).
        w_min, w_max: weight bounds; mu: exponent of the soft bounds; x_tar: offset target.
        clip: keep the weights within ``[w_min, w_max]`` after every step.
        normalize: rescale each post neuron's incoming weights to sum to this after each call.
        reduction: ``"sum"`` or ``"mean"`` over the batch.
        dt: time step, seconds.

    Shape:
        ``step``: ``pre [B, in]``, ``post [B, out]`` (``[B, C, H, W]`` for ``Conv2d``);
        ``sequence``: the same with a leading ``T``.
    """

    def __init__(self, connection: nn.Module, *, a_pre: float = 1e-2, a_post: float = 1e-2,
                 tau_pre: float = 20e-3, tau_post: float = 20e-3, pairing: str = "all_to_all",
                 weight_dependence: str = "additive", w_min: float = 0.0, w_max: float = 1.0, mu: float = 1.0,
                 x_tar: float = 0.0, clip: bool = True, normalize: float | None = None, reduction: str = "sum",
                 dt: float = 1e-3) -> None:
        super().__init__(connection, normalize)
        self.params = STDPParameters(float(a_pre), float(a_post), float(tau_pre), float(tau_post), pairing,
                                     weight_dependence, float(w_min), float(w_max), float(mu), float(x_tar),
                                     bool(clip), reduction, float(dt))
        validate_parameters(self.params)

    def step(self, pre: Tensor, post: Tensor, state: PairTraces | None = None) -> PairTraces:
        """One time step: accumulate ``-Δw`` into ``weight.grad``; return the traces."""
        self._check(pre, post, sequence=False)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = pair_stdp_step(pre, post, state, w, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def sequence(self, pre: Tensor, post: Tensor, state: PairTraces | None = None) -> PairTraces:
        """A whole ``[T, B, ...]`` sequence: accumulate its ``-Δw``; return the final traces."""
        self._check(pre, post, sequence=True)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = pair_stdp_sequence(pre, post, state, w, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def __repr__(self) -> str:
        p = self.params
        return (f"PairSTDP(a_pre={p.a_pre:g}, a_post={p.a_post:g}, tau_pre={p.tau_pre:g}, tau_post={p.tau_post:g}, "
                f"pairing={p.pairing!r}, weight_dependence={p.weight_dependence!r})")


class TripletSTDP(_Rule):
    r"""Triplet STDP (Pfister & Gerstner 2006) on a connection.

    Pre traces ``r1`` (``tau_plus``) and ``r2`` (``tau_x``), post traces ``o1``
    (``tau_minus``) and ``o2`` (``tau_y``); a post spike potentiates by
    ``r1 (a2_plus + a3_plus o2)``, a pre spike depresses by ``o1 (a2_minus + a3_minus r2)``
    (``o2``, ``r2`` taken just before the spike). The defaults are the visual-cortex
    all-to-all fit (see :class:`~spikeforge.functional.plasticity.TripletParameters`).
    With ``pairing="nearest"``, ``a2_plus = a3_minus = 0`` it is the rule of Diehl & Cook's
    published code. Other arguments as :class:`PairSTDP`.
    """

    def __init__(self, connection: nn.Module, *, a2_plus: float = 7.5e-10, a3_plus: float = 9.3e-3,
                 a2_minus: float = 7e-3, a3_minus: float = 2.3e-4, tau_plus: float = 16.8e-3,
                 tau_x: float = 101e-3, tau_minus: float = 33.7e-3, tau_y: float = 125e-3,
                 pairing: str = "all_to_all", weight_dependence: str = "additive", w_min: float = 0.0,
                 w_max: float = 1.0, mu: float = 1.0, x_tar: float = 0.0, clip: bool = True,
                 normalize: float | None = None, reduction: str = "sum", dt: float = 1e-3) -> None:
        super().__init__(connection, normalize)
        self.params = TripletParameters(float(a2_plus), float(a3_plus), float(a2_minus), float(a3_minus),
                                        float(tau_plus), float(tau_x), float(tau_minus), float(tau_y), pairing,
                                        weight_dependence, float(w_min), float(w_max), float(mu), float(x_tar),
                                        bool(clip), reduction, float(dt))
        validate_parameters(self.params)

    def step(self, pre: Tensor, post: Tensor, state: TripletTraces | None = None) -> TripletTraces:
        """One time step: accumulate ``-Δw`` into ``weight.grad``; return the traces."""
        self._check(pre, post, sequence=False)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = triplet_stdp_step(pre, post, state, w, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def sequence(self, pre: Tensor, post: Tensor, state: TripletTraces | None = None) -> TripletTraces:
        """A whole ``[T, B, ...]`` sequence; returns the final traces."""
        self._check(pre, post, sequence=True)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = triplet_stdp_sequence(pre, post, state, w, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def __repr__(self) -> str:
        p = self.params
        return (f"TripletSTDP(a2_plus={p.a2_plus:g}, a3_plus={p.a3_plus:g}, a2_minus={p.a2_minus:g}, "
                f"a3_minus={p.a3_minus:g}, pairing={p.pairing!r})")


class RewardSTDP(_Rule):
    r"""Reward-modulated STDP with an eligibility trace (Izhikevich 2007; Florian 2007).

    The pair rule's change of every sample feeds an eligibility trace
    ``e <- exp(-dt/tau_e) e + ξ``; the weight moves by ``lr * sum_b reward_b e_b`` each
    step. ``reward`` is a number or ``[B]`` in :meth:`step`, a number, ``[T]`` or
    ``[T, B]`` in :meth:`sequence`; 0 (the default) only lets the eligibility build up.
    ``weight_dependence="multiplicative"`` scales increases by ``(w_max - w)^mu`` and
    decreases by ``(w - w_min)^mu``. Other arguments as :class:`PairSTDP`.
    """

    name = "reward_stdp"

    def __init__(self, connection: nn.Module, *, a_pre: float = 1e-2, a_post: float = 1e-2,
                 tau_pre: float = 20e-3, tau_post: float = 20e-3, tau_e: float = 0.5, lr: float = 1.0,
                 pairing: str = "all_to_all", weight_dependence: str = "additive", w_min: float = 0.0,
                 w_max: float = 1.0, mu: float = 1.0, clip: bool = True, normalize: float | None = None,
                 reduction: str = "sum", dt: float = 1e-3) -> None:
        super().__init__(connection, normalize)
        if weight_dependence == "offset":
            raise ValueError("weight_dependence='offset' is a post-triggered rule; use PairSTDP for it")
        stdp = STDPParameters(float(a_pre), float(a_post), float(tau_pre), float(tau_post), pairing,
                              weight_dependence, float(w_min), float(w_max), float(mu), 0.0, bool(clip),
                              reduction, float(dt))
        validate_parameters(stdp)
        if not (isinstance(tau_e, (int, float)) and tau_e > 0):
            raise ValueError(f"tau_e must be a positive time in seconds, got {tau_e!r}")
        self.params = RewardParameters(stdp, float(tau_e), float(lr))

    def step(self, pre: Tensor, post: Tensor, state: RewardState | None = None, *,
             reward: Any = 0.0) -> RewardState:
        """One time step with this step's ``reward``; returns traces and eligibility."""
        self._check(pre, post, sequence=False)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = reward_stdp_step(pre, post, state, w, reward, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def sequence(self, pre: Tensor, post: Tensor, state: RewardState | None = None, *,
                 reward: Any = 0.0) -> RewardState:
        """A whole ``[T, B, ...]`` sequence with rewards per step; returns the final state."""
        self._check(pre, post, sequence=True)
        pre, post = self._cast(pre, post)
        w = self.effective_weight()
        dw, state = reward_stdp_sequence(pre, post, state, w, reward, self.params, self.correlate)
        self._apply(w, dw)
        return state

    def __repr__(self) -> str:
        p = self.params
        return f"RewardSTDP(a_pre={p.stdp.a_pre:g}, a_post={p.stdp.a_post:g}, tau_e={p.tau_e:g}, lr={p.lr:g})"
