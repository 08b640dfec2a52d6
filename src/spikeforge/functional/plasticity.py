r"""Spike-timing-dependent plasticity: traces, pair and triplet windows, eligibility, bounds.

**Traces.** Every spike train :math:`s_t \in \{0, 1\}` leaves a trace that decays with its
time constant :math:`\tau` (:math:`d = e^{-\Delta t/\tau}`); the trace at step :math:`t`
includes the spike at :math:`t`:

.. math::
    x_t = d\,x_{t-1} + s_t \quad\text{(all-to-all)}, \qquad
    x_t = s_t + (1 - s_t)\,d\,x_{t-1} \quad\text{(nearest spike)}.

All-to-all traces add up every earlier spike, so a post spike pairs with every earlier
pre spike; nearest-spike traces are reset to 1, so it pairs with the latest one only.

**Pair STDP** (the seed's form; Bi & Poo 1998, Song, Miller & Abbott 2000). For a pre
spike at :math:`t_\text{pre}` and a post spike at :math:`t_\text{post}`,
:math:`\Delta t = t_\text{post} - t_\text{pre}`:

.. math::
    \Delta w = \begin{cases}
        +A_\text{pre}\, e^{-\Delta t/\tau_+} & \Delta t > 0 \text{ (pre before post)} \\
        -A_\text{post}\, e^{\Delta t/\tau_-} & \Delta t < 0 \text{ (post before pre)}
    \end{cases}

computed online from the traces (:math:`x^\text{pre}` with :math:`\tau_+` = ``tau_pre``,
:math:`x^\text{post}` with :math:`\tau_-` = ``tau_post``), for the synapse from pre
neuron :math:`j` to post neuron :math:`i`:

.. math::
    \Delta w_{ij,t} = A_\text{pre}\, f_+(w_{ij})\, s^\text{post}_{i,t}\,(x^\text{pre}_{j,t} - x_\text{tar})
                    - A_\text{post}\, f_-(w_{ij})\, x^\text{post}_{i,t}\, s^\text{pre}_{j,t}.

A pre and a post spike in the same step (:math:`\Delta t = 0`) count as both orders
(:math:`A_\text{pre} - A_\text{post}`), as in BindsNET's ``PostPre``.

**Weight dependence** (``weight_dependence``):

- ``"additive"``: :math:`f_\pm = 1`, with hard bounds (the weight is clipped to
  ``[w_min, w_max]`` after every step when ``clip=True``);
- ``"multiplicative"`` (soft bounds; van Rossum, Bi & Turrigiano 2000, Gütig et al.
  2003): :math:`f_+ = (w_\max - w)^\mu`, :math:`f_- = (w - w_\min)^\mu`;
- ``"offset"`` (Diehl & Cook 2015, eq. 4): :math:`f_+ = (w_\max - w)^\mu`,
  :math:`f_- = 1`, and the pre trace is compared with a target :math:`x_\text{tar}`
  at each post spike, so inputs that rarely fire before the neuron are depressed.
  Diehl & Cook's rule has no pre-triggered term (``a_post = 0``). :math:`x_\text{tar}`
  enters only through this option.

**Triplet STDP** (Pfister & Gerstner 2006): two traces per side, :math:`r_1` (:math:`\tau_+`)
and :math:`r_2` (:math:`\tau_x`) of the pre neuron, :math:`o_1` (:math:`\tau_-`) and
:math:`o_2` (:math:`\tau_y`) of the post neuron;

.. math::
    \Delta w_t = f_+(w)\, s^\text{post}_t\,(r_{1,t} - x_\text{tar})\,[A_2^+ + A_3^+ o_2(t-\epsilon)]
               - f_-(w)\, o_{1,t}\, s^\text{pre}_t\,[A_2^- + A_3^- r_2(t-\epsilon)],

where :math:`o_2(t-\epsilon)`, :math:`r_2(t-\epsilon)` are the traces just before the
current step's spikes (:math:`d\,o_{2,t-1}`). With :math:`A_3^\pm = 0` it is the pair rule.

**Reward-modulated STDP** (Izhikevich 2007; Florian 2007): the pair rule's change
:math:`\xi_t` (per sample, without weight dependence) feeds an eligibility trace that a
reward (neuromodulator) :math:`R_t` turns into a weight change:

.. math::
    e_t = d_e\, e_{t-1} + \xi_t, \qquad \Delta w_t = \eta\,\sum_b R_{b,t}\, e_{b,t},

with :math:`d_e = e^{-\Delta t/\tau_e}`, then the weight dependence (on the sign of the
change) and the bounds.

Every ``*_step`` function returns the weight change of one step for the weight it is
given (``dw``; the rules of :mod:`spikeforge.learning.stdp` write ``-dw`` into ``.grad``)
and the new state; every ``*_sequence`` function runs the same step over a time-major
``[T, B, ...]`` input, moving a working copy of the weight after every step (so the
weight dependence and the bounds see each step's weight), and returns the total change.
A loop of steps and the sequence give the same weights.

Units: times in seconds, ``dt`` = 1 ms by default. Batches are summed
(``reduction="sum"``) or averaged (``"mean"``).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import torch
from torch import Tensor

__all__ = [
    "PAIRINGS", "WEIGHT_DEPENDENCES", "STDPParameters", "TripletParameters", "RewardParameters",
    "PairTraces", "TripletTraces", "RewardState", "trace_step", "decay",
    "linear_correlation", "conv2d_correlation", "bound_change", "weight_factors", "normalize_weights",
    "pair_stdp_step", "pair_stdp_sequence", "triplet_stdp_step", "triplet_stdp_sequence",
    "reward_stdp_step", "reward_stdp_sequence", "pair_window", "triplet_pairing_change",
    "validate_parameters",
]

PAIRINGS = ("all_to_all", "nearest")
WEIGHT_DEPENDENCES = ("additive", "multiplicative", "offset")

Correlate = Callable[[Tensor, Tensor, bool], Tensor]
"""``correlate(post_like [B, *post], pre_like [B, *pre], per_sample)`` -> the weight-shaped sum
over the batch (``[*weight]``) or the per-sample terms (``[B, *weight]``)."""


class STDPParameters(NamedTuple):
    """Pair STDP (see the module docstring); times in seconds."""

    a_pre: float = 1e-2
    a_post: float = 1e-2
    tau_pre: float = 20e-3
    tau_post: float = 20e-3
    pairing: str = "all_to_all"
    weight_dependence: str = "additive"
    w_min: float = 0.0
    w_max: float = 1.0
    mu: float = 1.0
    x_tar: float = 0.0
    clip: bool = True
    reduction: str = "sum"
    dt: float = 1e-3


class TripletParameters(NamedTuple):
    """Triplet STDP (Pfister & Gerstner 2006). The defaults are the visual-cortex all-to-all
    fit as NESTML's ``stdp_triplet`` model ships it (τ+ 16.8 ms, τx 101 ms, τ− 33.7 ms,
    τy 125 ms, A2+ 7.5e-10, A3+ 9.3e-3, A2− 7e-3, A3− 2.3e-4)."""

    a2_plus: float = 7.5e-10
    a3_plus: float = 9.3e-3
    a2_minus: float = 7e-3
    a3_minus: float = 2.3e-4
    tau_plus: float = 16.8e-3
    tau_x: float = 101e-3
    tau_minus: float = 33.7e-3
    tau_y: float = 125e-3
    pairing: str = "all_to_all"
    weight_dependence: str = "additive"
    w_min: float = 0.0
    w_max: float = 1.0
    mu: float = 1.0
    x_tar: float = 0.0
    clip: bool = True
    reduction: str = "sum"
    dt: float = 1e-3


class RewardParameters(NamedTuple):
    """Reward-modulated pair STDP: ``stdp`` gives the eligibility's input, ``tau_e`` its decay,
    ``lr`` the scale of reward times eligibility."""

    stdp: STDPParameters = STDPParameters()
    tau_e: float = 0.5
    lr: float = 1.0


class PairTraces(NamedTuple):
    """``pre`` ``[B, *pre_shape]``, ``post`` ``[B, *post_shape]``."""

    pre: Tensor
    post: Tensor


class TripletTraces(NamedTuple):
    """``r1``, ``r2`` of the pre neurons, ``o1``, ``o2`` of the post neurons."""

    r1: Tensor
    r2: Tensor
    o1: Tensor
    o2: Tensor


class RewardState(NamedTuple):
    """The pair traces and the per-sample eligibility ``[B, *weight.shape]``."""

    traces: PairTraces
    eligibility: Tensor


def decay(tau: float, dt: float) -> float:
    """The trace decay per step, ``exp(-dt / tau)``."""
    return math.exp(-dt / tau)


def trace_step(trace: Tensor, spikes: Tensor, d: float, pairing: str) -> Tensor:
    """One step of a spike trace (the equation in the module docstring)."""
    if pairing == "all_to_all":
        return trace * d + spikes
    return spikes + (1 - spikes) * (trace * d)


# --- correlations: the batch sum of post_like (x) pre_like, shaped like the weight ---------------

def linear_correlation(post_like: Tensor, pre_like: Tensor, per_sample: bool = False) -> Tensor:
    """``sum_b post[b, i] pre[b, j]`` as ``[out, in]`` (``nn.Linear``'s weight layout)."""
    if per_sample:
        return torch.einsum("bi,bj->bij", post_like, pre_like)
    return post_like.transpose(0, 1) @ pre_like


def conv2d_correlation(weight_shape: tuple[int, ...], *, stride=1, padding=0, dilation=1,
                       groups: int = 1) -> Correlate:
    """The correlation of a ``Conv2d`` connection: for every kernel position, the sum over
    output positions (and the batch) of ``post_like[o, y, x] * pre_like[i, y*s + ky, x*s + kx]``.
    """
    from torch.nn.grad import conv2d_weight

    def correlate(post_like: Tensor, pre_like: Tensor, per_sample: bool = False) -> Tensor:
        if not per_sample:
            return conv2d_weight(pre_like, weight_shape, post_like, stride=stride, padding=padding,
                                 dilation=dilation, groups=groups)
        if groups != 1:
            raise ValueError("per-sample correlations (reward-modulated STDP) of grouped convolutions "
                             "are not supported; use groups=1")
        k = weight_shape[2:]
        patches = torch.nn.functional.unfold(pre_like, k, dilation=dilation, padding=padding, stride=stride)
        post = post_like.flatten(2)                                  # [B, C_out, L]
        return torch.einsum("bol,bkl->bok", post, patches).reshape(post_like.shape[0], *weight_shape)

    return correlate


# --- weight dependence, bounds, normalization ----------------------------------------------------

def weight_factors(w: Tensor, p: STDPParameters | TripletParameters) -> tuple[Tensor | float, Tensor | float]:
    """``(f_plus, f_minus)`` of the weight dependence at the weights ``w``."""
    if p.weight_dependence == "additive":
        return 1.0, 1.0
    up = (p.w_max - w).clamp_min(0)
    f_plus = up if p.mu == 1 else up.pow(p.mu)
    if p.weight_dependence == "offset":
        return f_plus, 1.0
    down = (w - p.w_min).clamp_min(0)
    return f_plus, (down if p.mu == 1 else down.pow(p.mu))


def bound_change(w: Tensor, dw: Tensor, p: STDPParameters | TripletParameters) -> Tensor:
    """``dw`` trimmed so that ``w + dw`` stays within ``[w_min, w_max]`` (when ``p.clip``)."""
    if not p.clip:
        return dw
    return (w + dw).clamp(p.w_min, p.w_max) - w


def normalize_weights(w: Tensor, total: float, *, dim: int | tuple[int, ...] = -1) -> Tensor:
    """``w`` scaled so that the weights into each post neuron sum to ``total`` (Diehl & Cook's
    normalization; ``dim`` are the input dimensions: ``-1`` for ``[out, in]``, ``(1, 2, 3)`` for
    a conv kernel). A neuron whose weights sum to zero is left as it is."""
    sums = w.sum(dim=dim, keepdim=True)
    scale = torch.where(sums != 0, total / torch.where(sums != 0, sums, torch.ones_like(sums)),
                        torch.ones_like(sums))
    return w * scale


def _reduce(x: Tensor, batch: int, p) -> Tensor:
    return x / batch if p.reduction == "mean" else x


def _pair_change(pre: Tensor, post: Tensor, x_pre: Tensor, x_post: Tensor, w: Tensor, p: STDPParameters,
                 correlate: Correlate) -> Tensor:
    f_plus, f_minus = weight_factors(w, p)
    pre_term = x_pre - p.x_tar if p.weight_dependence == "offset" else x_pre
    dw = p.a_pre * f_plus * correlate(post, pre_term, False) - p.a_post * f_minus * correlate(x_post, pre, False)
    return bound_change(w, _reduce(dw, pre.shape[0], p), p)


def pair_stdp_step(pre: Tensor, post: Tensor, state: PairTraces | None, weight: Tensor,
                   p: STDPParameters = STDPParameters(), correlate: Correlate = linear_correlation
                   ) -> tuple[Tensor, PairTraces]:
    """One step of pair STDP: ``(dw, traces)``. ``pre [B, *pre]``, ``post [B, *post]`` are this
    step's spikes; ``weight`` is the weight the change applies to (for the weight dependence
    and the bounds)."""
    if state is None:
        state = PairTraces(torch.zeros_like(pre), torch.zeros_like(post))
    x_pre = trace_step(state.pre, pre, decay(p.tau_pre, p.dt), p.pairing)
    x_post = trace_step(state.post, post, decay(p.tau_post, p.dt), p.pairing)
    return _pair_change(pre, post, x_pre, x_post, weight, p, correlate), PairTraces(x_pre, x_post)


def _moves_weight(p) -> bool:
    """Whether a step's change depends on the weight (then a sequence must move it every step)."""
    return p.clip or p.weight_dependence != "additive"


def pair_stdp_sequence(pre: Tensor, post: Tensor, state: PairTraces | None, weight: Tensor,
                       p: STDPParameters = STDPParameters(), correlate: Correlate = linear_correlation
                       ) -> tuple[Tensor, PairTraces]:
    """Pair STDP over ``pre [T, B, *pre]``, ``post [T, B, *post]``: the total change and the
    final traces. Equal to a loop of :func:`pair_stdp_step` that adds each change to the weight."""
    if not _moves_weight(p):  # additive, unbounded: the changes add up, one product over all steps
        d_pre, d_post = decay(p.tau_pre, p.dt), decay(p.tau_post, p.dt)
        s = state if state is not None else PairTraces(torch.zeros_like(pre[0]), torch.zeros_like(post[0]))
        x_pre, x_post = [], []
        for t in range(pre.shape[0]):
            s = PairTraces(trace_step(s.pre, pre[t], d_pre, p.pairing), trace_step(s.post, post[t], d_post, p.pairing))
            x_pre.append(s.pre)
            x_post.append(s.post)
        fold = lambda x: x.reshape(-1, *x.shape[2:])  # noqa: E731  [T, B, ...] -> [T*B, ...]
        pre_term = torch.stack(x_pre) - p.x_tar if p.weight_dependence == "offset" else torch.stack(x_pre)
        dw = p.a_pre * correlate(fold(post), fold(pre_term), False) \
            - p.a_post * correlate(fold(torch.stack(x_post)), fold(pre), False)
        return _reduce(dw, pre.shape[1], p), s
    w = weight.detach().clone()
    for t in range(pre.shape[0]):
        dw, state = pair_stdp_step(pre[t], post[t], state, w, p, correlate)
        w = w + dw
    return w - weight.detach(), state


def triplet_stdp_step(pre: Tensor, post: Tensor, state: TripletTraces | None, weight: Tensor,
                      p: TripletParameters = TripletParameters(), correlate: Correlate = linear_correlation
                      ) -> tuple[Tensor, TripletTraces]:
    """One step of triplet STDP: ``(dw, traces)`` (see the module docstring)."""
    if state is None:
        zp, zq = torch.zeros_like(pre), torch.zeros_like(post)
        state = TripletTraces(zp, zp, zq, zq)
    d_x, d_y = decay(p.tau_x, p.dt), decay(p.tau_y, p.dt)
    r2_before, o2_before = state.r2 * d_x, state.o2 * d_y
    r1 = trace_step(state.r1, pre, decay(p.tau_plus, p.dt), p.pairing)
    r2 = trace_step(state.r2, pre, d_x, p.pairing)
    o1 = trace_step(state.o1, post, decay(p.tau_minus, p.dt), p.pairing)
    o2 = trace_step(state.o2, post, d_y, p.pairing)
    f_plus, f_minus = weight_factors(weight, p)
    pre_term = r1 - p.x_tar if p.weight_dependence == "offset" else r1
    dw = f_plus * correlate(post * (p.a2_plus + p.a3_plus * o2_before), pre_term, False) \
        - f_minus * correlate(o1, pre * (p.a2_minus + p.a3_minus * r2_before), False)
    dw = bound_change(weight, _reduce(dw, pre.shape[0], p), p)
    return dw, TripletTraces(r1, r2, o1, o2)


def triplet_stdp_sequence(pre: Tensor, post: Tensor, state: TripletTraces | None, weight: Tensor,
                          p: TripletParameters = TripletParameters(), correlate: Correlate = linear_correlation
                          ) -> tuple[Tensor, TripletTraces]:
    """Triplet STDP over ``[T, B, ...]`` spikes: the total change and the final traces."""
    w = weight.detach().clone()
    total = torch.zeros_like(w)
    for t in range(pre.shape[0]):
        dw, state = triplet_stdp_step(pre[t], post[t], state, w, p, correlate)
        if _moves_weight(p):
            w = w + dw
        else:
            total = total + dw
    return (w - weight.detach()) if _moves_weight(p) else total, state


def _reward_of(reward: Tensor | float, batch: int, like: Tensor) -> Tensor:
    r = torch.as_tensor(reward, dtype=like.dtype, device=like.device)
    if r.dim() == 0:
        r = r.expand(batch)
    if r.shape != (batch,):
        raise ValueError(f"reward must be a number or a tensor of shape [B] = [{batch}], got shape {tuple(r.shape)}")
    return r


def reward_stdp_step(pre: Tensor, post: Tensor, state: RewardState | None, weight: Tensor,
                     reward: Tensor | float = 0.0, p: RewardParameters = RewardParameters(),
                     correlate: Correlate = linear_correlation) -> tuple[Tensor, RewardState]:
    """One step of reward-modulated STDP: ``(dw, state)``; ``reward`` is a number or ``[B]``."""
    q = p.stdp
    batch = pre.shape[0]
    if state is None:
        state = RewardState(PairTraces(torch.zeros_like(pre), torch.zeros_like(post)),
                            torch.zeros(batch, *weight.shape, dtype=weight.dtype, device=weight.device))
    x_pre = trace_step(state.traces.pre, pre, decay(q.tau_pre, q.dt), q.pairing)
    x_post = trace_step(state.traces.post, post, decay(q.tau_post, q.dt), q.pairing)
    xi = q.a_pre * correlate(post, x_pre, True) - q.a_post * correlate(x_post, pre, True)
    e = state.eligibility * decay(p.tau_e, q.dt) + xi
    r = _reward_of(reward, batch, weight).reshape(batch, *([1] * weight.dim()))
    raw = _reduce(p.lr * (r * e).sum(0), batch, q)
    f_plus, f_minus = weight_factors(weight, q)
    dw = raw.clamp_min(0) * f_plus + raw.clamp_max(0) * f_minus
    return bound_change(weight, dw, q), RewardState(PairTraces(x_pre, x_post), e)


def reward_stdp_sequence(pre: Tensor, post: Tensor, state: RewardState | None, weight: Tensor,
                         reward: Tensor | float = 0.0, p: RewardParameters = RewardParameters(),
                         correlate: Correlate = linear_correlation) -> tuple[Tensor, RewardState]:
    """Reward-modulated STDP over ``[T, B, ...]``; ``reward`` is a number, ``[T]`` or ``[T, B]``."""
    steps = pre.shape[0]
    r = torch.as_tensor(reward, dtype=weight.dtype, device=weight.device)
    if r.dim() not in (0, 1, 2) or (r.dim() >= 1 and r.shape[0] != steps):
        raise ValueError(f"reward must be a number, [T] or [T, B] with T = {steps}, got shape {tuple(r.shape)}")
    w = weight.detach().clone()
    for t in range(steps):
        rt = r if r.dim() == 0 else r[t]
        dw, state = reward_stdp_step(pre[t], post[t], state, w, rt, p, correlate)
        w = w + dw
    return w - weight.detach(), state


# --- closed forms ---------------------------------------------------------------------------------

def pair_window(delta_t: Tensor, p: STDPParameters = STDPParameters()) -> Tensor:
    """The pair rule's change for one pre and one post spike ``delta_t = t_post - t_pre``
    seconds apart (additive, unbounded): ``A_pre exp(-Δt/τ+)`` for ``Δt > 0``,
    ``-A_post exp(Δt/τ-)`` for ``Δt < 0``, ``A_pre - A_post`` at 0."""
    dt = torch.as_tensor(delta_t, dtype=torch.float64)
    ltp = p.a_pre * torch.exp(-dt.clamp_min(0) / p.tau_pre)
    ltd = p.a_post * torch.exp(dt.clamp_max(0) / p.tau_post)
    return torch.where(dt > 0, ltp, torch.where(dt < 0, -ltd, ltp - ltd))


def triplet_pairing_change(delta_t: float, rho: float, n_pairs: int, p: TripletParameters = TripletParameters()
                           ) -> float:
    """Closed-form total change of the pairing protocol with all-to-all triplet STDP
    (additive, unbounded): ``n_pairs`` pre-post pairs ``delta_t`` seconds apart (post after
    pre when positive), repeated at ``rho`` Hz (Pfister & Gerstner 2006, Figs. 4-5).

    Pair ``k`` (0-based) sees the geometric sums of the ``k`` earlier pairs in its traces:
    for ``Δt > 0`` the post spike of pair ``k`` potentiates by
    ``e^{-Δt/τ+} S_k(τ+) [A2+ + A3+ q_y S_{k-1}(τy)]`` and the pre spike of pair ``k`` depresses
    by ``e^{-(T-Δt)/τ-} S_{k-1}(τ-) [A2- + A3- q_x S_{k-1}(τx)]``, with ``T = 1/ρ``,
    ``q = e^{-T/τ}`` and ``S_k(τ) = Σ_{i≤k} q^i``; mirrored for ``Δt < 0``. As ``k`` grows each
    pair's change tends to the paper's steady state.
    """
    period = 1.0 / rho
    lag = abs(delta_t)
    if not 0 < lag < period:
        raise ValueError(f"|delta_t| must lie in (0, 1/rho) = (0, {period:g}) s, got {delta_t!r}")

    def geo(tau: float, k: int) -> float:  # sum_{i=0..k} q^i, 0 for k < 0
        q = math.exp(-period / tau)
        return 0.0 if k < 0 else (1 - q ** (k + 1)) / (1 - q)

    qx, qy = math.exp(-period / p.tau_x), math.exp(-period / p.tau_y)
    total = 0.0
    for k in range(n_pairs):
        if delta_t > 0:  # pre at kT, post at kT + lag
            ltp = math.exp(-lag / p.tau_plus) * geo(p.tau_plus, k) * (p.a2_plus + p.a3_plus * qy * geo(p.tau_y, k - 1))
            ltd = math.exp(-(period - lag) / p.tau_minus) * geo(p.tau_minus, k - 1) \
                * (p.a2_minus + p.a3_minus * qx * geo(p.tau_x, k - 1))
        else:  # post at kT, pre at kT + lag
            ltd = math.exp(-lag / p.tau_minus) * geo(p.tau_minus, k) \
                * (p.a2_minus + p.a3_minus * qx * geo(p.tau_x, k - 1))
            ltp = math.exp(-(period - lag) / p.tau_plus) * geo(p.tau_plus, k - 1) \
                * (p.a2_plus + p.a3_plus * qy * geo(p.tau_y, k - 1))
        total += ltp - ltd
    return total


def validate_parameters(p: STDPParameters | TripletParameters) -> None:
    """Raise ``ValueError`` for impossible settings (names the setting and what is expected)."""
    if p.pairing not in PAIRINGS:
        raise ValueError(f"pairing must be one of {', '.join(map(repr, PAIRINGS))}; got {p.pairing!r}")
    if p.weight_dependence not in WEIGHT_DEPENDENCES:
        raise ValueError(f"weight_dependence must be one of {', '.join(map(repr, WEIGHT_DEPENDENCES))}; "
                         f"got {p.weight_dependence!r}")
    if p.reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean'; got {p.reduction!r}")
    taus = [n for n in p._fields if n.startswith("tau")] + ["dt"]
    for name in taus:
        value = getattr(p, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive time in seconds, got {value!r}")
    amps = [n for n in p._fields if n.startswith("a")]
    for name in amps + ["mu", "x_tar", "w_min", "w_max"]:
        value = getattr(p, name)
        if not isinstance(value, (int, float)) or isinstance(value, bool) or math.isnan(value):
            raise ValueError(f"{name} must be a number, got {value!r}")
    for name in amps:
        if getattr(p, name) < 0:
            raise ValueError(f"{name} must be >= 0 (the sign of each term is fixed by the rule), "
                             f"got {getattr(p, name)!r}")
    if not p.w_min < p.w_max:
        raise ValueError(f"w_min must be below w_max, got w_min={p.w_min!r}, w_max={p.w_max!r}")
    needs = {"additive": (), "multiplicative": ("w_min", "w_max"), "offset": ("w_max",)}[p.weight_dependence]
    for name in needs:
        if not math.isfinite(getattr(p, name)):
            raise ValueError(f"weight_dependence={p.weight_dependence!r} needs a finite {name}, "
                             f"got {getattr(p, name)!r}")
    if p.mu <= 0:
        raise ValueError(f"mu must be positive, got {p.mu!r}")
