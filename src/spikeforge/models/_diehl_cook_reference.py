"""The Diehl & Cook network step by step in plain torch: the specification of the fused kernel.

Slow (a dozen tensor operations per 0.5 ms step) and exact: the kernel of
:mod:`spikeforge.kernels.cpu.stdp_diehl_cook` is tested against :func:`reference_train`
(given input spikes, with plasticity, normalization, rests) and :func:`simulate` (frozen).
The plasticity is :func:`spikeforge.functional.plasticity.triplet_stdp_step` itself.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import torch
from torch import Tensor

from ..functional.plasticity import TripletParameters, TripletTraces, triplet_stdp_step

__all__ = ["NeuronState", "simulate", "reference_train", "triplet_parameters"]


class NeuronState(NamedTuple):
    """Neuron variables ``[B, n]``: excitatory ``v, g_e, g_i, refractory``, inhibitory ``v, g_e, refractory``."""

    v: Tensor
    ge: Tensor
    gi: Tensor
    ref: Tensor
    vi: Tensor
    gei: Tensor
    refi: Tensor


def triplet_parameters(model: Any) -> TripletParameters:
    """The model's learning rule as functional parameters."""
    c = model.config
    return TripletParameters(c["a2_plus"], c["a3_plus"], c["a2_minus"], c["a3_minus"], c["tau_plus"], c["tau_x"],
                             c["tau_minus"], c["tau_y"], c["pairing"], c["weight_dependence"], c["w_min"], c["w_max"],
                             c["mu"], c["x_tar"], True, "sum", c["dt"])


def _rest_state(model: Any, batch: int) -> NeuronState:
    c, n = model.config, model.n_neurons
    z = torch.zeros(batch, n)
    zi = torch.zeros(batch, n, dtype=torch.int32)
    return NeuronState(z + c["v_rest"], z.clone(), z.clone(), zi, z + c["inh_v_rest"], z.clone(), zi.clone())


def _neuron_step(model: Any, pre: Tensor, w_in: Tensor, s: NeuronState, theta: Tensor, prm: Any
                 ) -> tuple[Tensor, NeuronState, Tensor]:
    """Steps 1-3 of the kernel: returns (excitatory spikes [B, n] float, state, inhibitory spikes).
    ``pre`` ``[B, n_input]`` are the input spikes, ``w_in`` the input-major weights; the rows of
    the inputs that fire are added one by one in increasing input order, as the kernel does."""
    from ..kernels.cpu import stdp_diehl_cook as K

    c = model.config
    f = lambda k: torch.tensor(prm[k], dtype=torch.float32)  # noqa: E731
    cond = c["synapse"] == "conductance"
    ge = s.ge * f(K.D_GE)
    for b, i in zip(*torch.nonzero(pre, as_tuple=True)):
        ge[b] = ge[b] + w_in[i]
    gei = s.gei * f(K.D_GEI)
    active = s.ref <= 0
    v_rest = f(K.V_REST)
    if cond:
        u = s.v + f(K.DV) * ((v_rest - s.v) + ge * (f(K.E_EXC) - s.v) + s.gi * (f(K.E_INH) - s.v))
        u = torch.where(active, u, s.v)
    else:
        u = v_rest + (s.v - v_rest) * f(K.DV)
        u = torch.where(active, u + (ge - s.gi), u)
    spk = active & (u >= f(K.V_THRESH) + theta)
    v = torch.where(spk, f(K.V_RESET), u)
    ref = torch.where(spk, torch.full_like(s.ref, model.steps(c["t_refrac"])), (s.ref - 1).clamp_min(0))
    gi = s.gi * f(K.D_GI)
    spikes = spk.to(torch.float32)
    mode = c["inhibition"]
    spk_i = torch.zeros_like(spikes)
    vi, refi = s.vi, s.refi
    if mode == "layer":
        gei = gei + f(K.W_EI) * spikes
        activei = s.refi <= 0
        vr = f(K.VI_REST)
        if cond:
            ui = s.vi + f(K.DVI) * ((vr - s.vi) + gei * (f(K.EI_EXC) - s.vi))
            ui = torch.where(activei, ui, s.vi)
        else:
            ui = vr + (s.vi - vr) * f(K.DVI)
            ui = torch.where(activei, ui + gei, ui)
        si = activei & (ui >= f(K.VI_THRESH))
        vi = torch.where(si, f(K.VI_RESET), ui)
        refi = torch.where(si, torch.full_like(s.refi, model.steps(c["inh_t_refrac"])), (s.refi - 1).clamp_min(0))
        spk_i = si.to(torch.float32)
        gi = gi + f(K.W_IE) * (spk_i.sum(-1, keepdim=True) - spk_i)
    elif mode == "direct":
        gi = gi + f(K.W_IE) * (spikes.sum(-1, keepdim=True) - spikes)
    return spikes, NeuronState(v, ge, gi, ref, vi, gei, refi), spk_i


@torch.no_grad()
def simulate(model: Any, x: Tensor, state: NeuronState | None = None) -> tuple[Tensor, NeuronState]:
    """The frozen network (no plasticity, fixed θ) on input spikes ``[T, B, n_input]``."""
    if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != model.n_input:
        shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
        raise ValueError(f"DiehlCook.forward expects input spikes [T, B, {model.n_input}], got {shape}")
    prm, _ = model.kernel_parameters(learn=False)
    s = _rest_state(model, x.shape[1]) if state is None else state
    w = model.weight.t()
    out = []
    for t in range(x.shape[0]):
        spikes, s, _ = _neuron_step(model, x[t], w, s, model.theta, prm)
        out.append(spikes)
    return torch.stack(out), s


def _dense_traces(model: Any, state: Any) -> tuple[Tensor, Tensor]:
    """The lazily stored pre traces of a kernel state, decayed to its current step."""
    c = model.config
    gap = (state.step - state.last).to(torch.float64)
    r1 = state.r1.double() * torch.exp(-gap * c["dt"] / c["tau_plus"])
    r2 = state.r2.double() * torch.exp(-gap * c["dt"] / c["tau_x"])
    return r1.float(), r2.float()


@torch.no_grad()
def reference_train(model: Any, trains: list[Tensor], state: Any = None) -> tuple[Tensor, Any]:
    """Present the given input spike trains (each ``[T_present, n_input]``) with plasticity,
    exactly as the kernel does (normalization, θ, rest, reset), updating ``model`` in place.
    Returns ``(counts [len(trains), n] int32, DiehlCookState)``."""
    from ..kernels.cpu import stdp_diehl_cook as K
    from ..functional.plasticity import normalize_weights
    from .diehl_cook import DiehlCookState

    c = model.config
    prm, iprm = model.kernel_parameters(learn=True)
    p = triplet_parameters(model)
    state = model.init_state() if state is None else state
    nrn = state.neurons
    s = NeuronState(nrn[0:1].clone(), nrn[1:2].clone(), nrn[2:3].clone(), state.refractory[0:1].clone(),
                    nrn[3:4].clone(), nrn[4:5].clone(), state.refractory[1:2].clone())
    r1, r2 = _dense_traces(model, state)
    traces = TripletTraces(r1[None], r2[None], nrn[5:6].clone(), nrn[6:7].clone())
    last = state.last.clone()
    step = int(state.step)
    w = model.weight.clone()          # [n, n_input]
    theta = model.theta.clone()
    counts = []
    f32 = lambda k: torch.tensor(prm[k], dtype=torch.float32)  # noqa: E731
    no_input = torch.zeros(1, model.n_input)

    def one_step(pre: Tensor) -> Tensor:
        nonlocal s, traces, w, theta, step
        step += 1
        spikes, s, _ = _neuron_step(model, pre, w.t(), s, theta, prm)
        theta = theta + f32(K.THETA_PLUS) * spikes[0]
        dw, traces = triplet_stdp_step(pre, spikes, traces, w, p)
        w = w + dw
        last[pre[0] > 0] = step
        return spikes[0]

    for train in trains:
        if c["norm"] > 0:
            w = normalize_weights(w.double(), c["norm"]).float()
        theta = theta * f32(K.THETA_DECAY)
        count = torch.zeros(model.n_neurons, dtype=torch.int32)
        for t in range(train.shape[0]):
            count += one_step(train[t][None].to(torch.float32)).to(torch.int32)
        n_settle = min(iprm[K.N_SETTLE], iprm[K.N_REST])
        for _ in range(n_settle):
            one_step(no_input)
        rem = int(iprm[K.N_REST] - n_settle)
        if rem > 0:
            step += rem
            pw = lambda k: torch.tensor(prm[k] ** rem, dtype=torch.float32)  # noqa: E731
            s = NeuronState(f32(K.V_REST) + (s.v - f32(K.V_REST)) * pw(K.DV_REST), s.ge * pw(K.D_GE),
                            s.gi * pw(K.D_GI), (s.ref - rem).clamp_min(0),
                            f32(K.VI_REST) + (s.vi - f32(K.VI_REST)) * pw(K.DVI_REST), s.gei * pw(K.D_GEI),
                            (s.refi - rem).clamp_min(0))
            d1 = math.exp(-rem * c["dt"] / c["tau_plus"])
            d2 = math.exp(-rem * c["dt"] / c["tau_x"])
            traces = TripletTraces(traces.r1 * d1, traces.r2 * d2, traces.o1 * pw(K.D_O1), traces.o2 * pw(K.D_O2))
        if c["reset_between"]:
            s = _rest_state(model, 1)
            traces = TripletTraces(*(torch.zeros_like(x) for x in traces))
        counts.append(count)
    model.weight.copy_(w)
    model.theta.copy_(theta)
    neurons = torch.cat([s.v, s.ge, s.gi, s.vi, s.gei, traces.o1, traces.o2])
    new = DiehlCookState(neurons, torch.cat([s.ref, s.refi]), traces.r1[0], traces.r2[0],
                         torch.full_like(last, step), step)
    return torch.stack(counts), new
