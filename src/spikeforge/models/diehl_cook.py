r"""Diehl & Cook (2015): unsupervised digit recognition with STDP.

P. U. Diehl, M. Cook, "Unsupervised learning of digit recognition using spike-timing-dependent
plasticity", *Frontiers in Computational Neuroscience* 9:99 (2015); their Brian code:
github.com/peter-u-diehl/stdp-mnist (``Diehl&Cook_spiking_MNIST.py``), whose settings are the
defaults here.

**Network.** 784 Poisson inputs (pixel byte ``b`` fires at ``b / 255 * max_rate`` Hz, at most
63.75 Hz) connect all-to-all to ``n_neurons`` excitatory neurons; each excitatory neuron drives
one inhibitory neuron, which inhibits every other excitatory neuron (``inhibition="layer"``;
``"direct"`` lets each excitatory spike inhibit the others itself, skipping the inhibitory
layer; ``"none"`` has no competition). Excitatory membranes, conductance-based
(``synapse="conductance"``):

.. math::
    \tau_\text{mem} \frac{dv}{dt} = (v_\text{rest} - v) + g_e (E_\text{exc} - v) + g_i (E_\text{inh} - v),
    \qquad \tau_{ge} \frac{dg_e}{dt} = -g_e, \quad \tau_{gi} \frac{dg_i}{dt} = -g_i,

each input spike adding its weight to :math:`g_e`; a neuron fires when
:math:`v \ge v_\text{th} + \theta`, resets to ``v_reset``, stays refractory ``t_refrac`` and
raises its adaptive threshold by ``theta_plus`` (0.05 mV); :math:`\theta` decays with
``tau_theta`` (:math:`10^7` ms) and is frozen outside training. With
``synapse="current"`` (BindsNET's ``DiehlAndCookNodes``) the input is a current:
:math:`v_t = v_\text{rest} + d (v_{t-1} - v_\text{rest}) + \sum w s - \text{inhibition}`.
Inhibitory neurons are the same with their own constants and only excitatory input.

**Discrete time** (``dt`` = 0.5 ms as in the Brian code): conductances decay by
:math:`e^{-dt/\tau}`, the membrane takes a forward-Euler step (conductance-based) or decays by
:math:`e^{-dt/\tau_\text{mem}}` (current-based); an input spike at step :math:`t` acts at
step :math:`t`; inhibition triggered at :math:`t` acts from :math:`t+1`. The order of one step
is in :mod:`spikeforge.kernels.cpu.stdp_diehl_cook`.

**Learning** of the input weights (clipped to ``[w_min, w_max]``) is
:func:`spikeforge.functional.plasticity.triplet_stdp_step` applied to the input and
excitatory spikes. The defaults are the rule of the published code: nearest-spike traces, a
pre spike depresses by ``a2_minus * o1`` (``nu_pre`` = 1e-4, post trace 20 ms), a post spike
potentiates by ``a3_plus * r1 * o2`` (``nu_post`` = 0.01, pre trace 20 ms, second post
trace 40 ms taken before the spike). ``weight_dependence="offset"`` with ``a2_plus = η``,
``a3_plus = a2_minus = 0`` and all-to-all traces is the paper's eq. (4),
:math:`\Delta w = \eta (x_\text{pre} - x_\text{tar})(w_\max - w)^\mu`; ``a2_plus``,
``a2_minus`` with ``a3 = 0`` is pair STDP (BindsNET's ``PostPre``). Before every
presentation the weights into each neuron are scaled to sum to ``norm`` (78).

**Protocol.** Each image is shown for ``t_present`` (350 ms) and followed by ``t_rest``
(150 ms) without input; when fewer than ``min_spikes`` (5) excitatory spikes came out, the
image is shown again with the rates raised by ``rate_step`` (one step of the paper's input
intensity, 31.875 Hz). Of the rest, ``t_settle`` is simulated step by step and the remainder,
where nothing can fire any more, in closed form. Training is sequential over images and
keeps the network state from one image to the next; inference (:meth:`DiehlCook.respond`,
plasticity and :math:`\theta` frozen) runs images in parallel, each from the resting state.
Labels: each neuron is assigned the class for which its mean response is highest
(:func:`assign_labels`); an image is classified by the class whose assigned neurons have the
highest mean spike count (all-activity voting, :func:`vote`).

**Deviations from the Brian code**: no random synaptic delays (0-10 ms there); :math:`\theta`
decays once per presentation by :math:`e^{-(t_\text{present} + t_\text{rest})/\tau_\theta}`
instead of every step (the same to 5e-5 of :math:`\theta` per image); ``v >= threshold``
fires (Brian: ``>``); Brian's initial :math:`\theta` of 20 mV with a 20 mV offset is
:math:`\theta = 0` here.

Examples:
    >>> model = DiehlCook(n_neurons=100)
    >>> counts, state = model.train_images(train.data[:1000])         # [1000, 100] spikes
    >>> model.assign(model.respond(train.data[:10000]), train.targets[:10000])
    >>> accuracy = (model.predict(model.respond(test.data)) == test.targets).float().mean()
"""

from __future__ import annotations

import math
import time
from typing import Any, Callable, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ._config import ZooModel, check_positive_int

__all__ = ["DiehlCook", "DiehlCookState", "DIEHL_COOK_PRESETS", "assign_labels", "vote", "as_pixels"]

SYNAPSES = ("conductance", "current")
INHIBITIONS = ("layer", "direct", "none")
DEPENDENCES = ("additive", "multiplicative", "offset")

DIEHL_COOK_PRESETS: dict[str, dict[str, Any]] = {
    # the published Brian code (the defaults)
    "paper": {},
    # BindsNET 0.3.4's DiehlAndCook2015 with its MNIST example's settings: current-based neurons,
    # 250 steps of 1 ms, rates up to 128 Hz, state reset between images, pair STDP (PostPre)
    "bindsnet": {"synapse": "current", "dt": 1e-3, "t_present": 0.25, "t_rest": 0.0, "t_settle": 0.0,
                 "reset_between": True, "max_rate": 128.0, "min_spikes": 0, "v_reset": -60.0,
                 "w_ei": 22.5, "w_ie": 120.0, "a2_plus": 1e-2, "a3_plus": 0.0, "a2_minus": 1e-4,
                 "tau_plus": 20e-3, "tau_minus": 20e-3, "norm": 78.4, "init_weight": 0.3, "theta_init": 0.0,
                 "theta_offset": 0.0},
    # the paper's eq. (4): post-triggered, offset x_tar, soft upper bound, accumulating traces
    "offset": {"a2_plus": 1e-2, "a3_plus": 0.0, "a2_minus": 0.0, "pairing": "all_to_all",
               "weight_dependence": "offset", "x_tar": 0.4, "mu": 1.0},
}


class DiehlCookState(NamedTuple):
    """The network between presentations (training keeps it from image to image).

    ``neurons`` float32 ``[7, n]``: excitatory ``v``, ``g_e``, ``g_i``, inhibitory ``v``, its
    ``g_e``, post traces ``o1``, ``o2``; ``refractory`` int32 ``[2, n]`` (steps left,
    excitatory and inhibitory); ``r1``, ``r2`` float32 ``[n_input]``: pre traces at their
    input's last spike, step ``last`` (int64 ``[n_input]``); ``step``: the absolute step."""

    neurons: Tensor
    refractory: Tensor
    r1: Tensor
    r2: Tensor
    last: Tensor
    step: int


def as_pixels(images: Tensor, n_input: int) -> Tensor:
    """Images as contiguous uint8 ``[N, n_input]`` (uint8 kept; floats in ``[0, 1]`` scaled by 255)."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.dim() < 2:
        raise ValueError(f"images must be [N, ...] with {n_input} pixels each, got shape {tuple(images.shape)}")
    flat = images.reshape(images.shape[0], -1)
    if flat.shape[1] != n_input:
        raise ValueError(f"images must have {n_input} pixels each, got shape {tuple(images.shape)}")
    if flat.dtype == torch.uint8:
        return flat.contiguous()
    if not flat.is_floating_point():
        raise TypeError(f"images must be uint8 (0-255) or floating point in [0, 1], got {flat.dtype}")
    if flat.numel() and (not bool(torch.isfinite(flat).all()) or flat.min() < 0 or flat.max() > 1):
        raise ValueError("floating-point images must be finite and within [0, 1]")
    return (flat * 255).round().to(torch.uint8).contiguous()


def assign_labels(counts: Tensor, labels: Tensor, num_classes: int = 10) -> tuple[Tensor, Tensor]:
    """Each neuron's class: the one for which its mean response is highest.

    Args:
        counts: spikes per image and neuron ``[N, n]``.
        labels: ``[N]`` class of each image.

    Returns:
        ``(assignments [n], rates [num_classes, n])``: ``-1`` for a neuron that never fired;
        ``rates[c, j]`` is neuron ``j``'s mean count over the images of class ``c``.
    """
    counts = counts.to(torch.float64)
    labels = labels.reshape(-1).long()
    if counts.dim() != 2 or counts.shape[0] != labels.shape[0]:
        raise ValueError(f"counts must be [N, n] with one row per label, got {tuple(counts.shape)} and "
                         f"{labels.shape[0]} labels")
    sums = torch.zeros(num_classes, counts.shape[1], dtype=torch.float64).index_add_(0, labels, counts)
    per_class = torch.bincount(labels, minlength=num_classes).to(torch.float64).clamp_min(1)
    rates = sums / per_class[:, None]
    best, assignments = rates.max(0)
    assignments = torch.where(best > 0, assignments, torch.full_like(assignments, -1))
    return assignments, rates


def vote(counts: Tensor, assignments: Tensor, num_classes: int = 10) -> Tensor:
    """All-activity voting: the class whose assigned neurons fired most on average, per image."""
    counts = counts.to(torch.float64)
    scores = torch.zeros(counts.shape[0], num_classes, dtype=torch.float64)
    for c in range(num_classes):
        mask = assignments == c
        if bool(mask.any()):
            scores[:, c] = counts[:, mask].mean(1)
    return scores.argmax(1)


def _check_choice(value: Any, choices: tuple[str, ...], name: str) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; got {value!r}")
    return value


class DiehlCook(ZooModel):
    """The Diehl & Cook (2015) network (see the module docstring for the equations).

    Times in seconds, potentials in mV, rates in Hz. Buffers: ``weight`` ``[n_neurons,
    n_input]`` (row ``j`` is neuron ``j``'s receptive field), ``theta`` ``[n_neurons]`` (mV),
    ``assignments`` ``[n_neurons]`` (class, ``-1`` unassigned) and ``class_rates``
    ``[num_classes, n_neurons]``.

    ``forward(x, state=None)`` runs the frozen network on given input spikes
    ``[T, B, n_input]`` step by step in plain torch (the reference of the fused kernel) and
    returns ``(excitatory spikes [T, B, n_neurons], state)``.
    """

    model_name = "diehl_cook"
    PRESETS = DIEHL_COOK_PRESETS
    self_training = True  # trained by its own phases (train, assign, test), not by a gradient rule

    def __init__(self, n_neurons: int = 100, n_input: int = 784, num_classes: int = 10, *,
                 synapse: str = "conductance", inhibition: str = "layer", method: str = "exp", dt: float = 0.5e-3,
                 t_present: float = 0.35, t_rest: float = 0.15, t_settle: float = 0.025, reset_between: bool = False,
                 max_rate: float = 63.75, rate_step: float = 31.875, min_spikes: int = 5, max_retries: int = 20,
                 v_rest: float = -65.0, v_reset: float = -65.0, v_threshold: float = -52.0, tau_mem: float = 0.1,
                 e_exc: float = 0.0, e_inh: float = -100.0, tau_ge: float = 1e-3, tau_gi: float = 2e-3,
                 t_refrac: float = 5e-3, theta_plus: float = 0.05, tau_theta: float = 1e4, theta_init: float = 20.0,
                 theta_offset: float = 20.0,
                 inh_v_rest: float = -60.0, inh_v_reset: float = -45.0, inh_v_threshold: float = -40.0,
                 inh_tau_mem: float = 10e-3, inh_e_exc: float = 0.0, inh_tau_ge: float = 1e-3,
                 inh_t_refrac: float = 2e-3, w_ei: float = 10.4, w_ie: float = 17.0,
                 a2_plus: float = 0.0, a3_plus: float = 1e-2, a2_minus: float = 1e-4, a3_minus: float = 0.0,
                 tau_plus: float = 20e-3, tau_x: float = 20e-3, tau_minus: float = 20e-3, tau_y: float = 40e-3,
                 pairing: str = "nearest", weight_dependence: str = "additive", x_tar: float = 0.4, mu: float = 1.0,
                 w_min: float = 0.0, w_max: float = 1.0, norm: float = 78.0, init_weight: float = 0.3,
                 seed: int = 0) -> None:
        super().__init__()
        self._record_config(locals())
        check_positive_int(n_neurons, "n_neurons")
        check_positive_int(n_input, "n_input")
        check_positive_int(num_classes, "num_classes")
        _check_choice(synapse, SYNAPSES, "synapse")
        _check_choice(inhibition, INHIBITIONS, "inhibition")
        _check_choice(method, ("euler", "exp"), "method")
        _check_choice(pairing, ("all_to_all", "nearest"), "pairing")
        _check_choice(weight_dependence, DEPENDENCES, "weight_dependence")
        for name in ("dt", "t_present", "tau_mem", "tau_ge", "tau_gi", "tau_theta", "inh_tau_mem", "inh_tau_ge",
                     "tau_plus", "tau_x", "tau_minus", "tau_y", "max_rate", "mu"):
            value = self.config[name]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for name in ("t_rest", "t_settle", "t_refrac", "inh_t_refrac", "rate_step", "theta_plus", "theta_init",
                     "theta_offset", "a2_plus",
                     "a3_plus", "a2_minus", "a3_minus", "norm", "init_weight", "w_ei", "w_ie"):
            value = self.config[name]
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {value!r}")
        if not w_min < w_max:
            raise ValueError(f"w_min must be below w_max, got {w_min!r}, {w_max!r}")
        if not v_threshold > v_reset or not inh_v_threshold > inh_v_reset:
            raise ValueError("v_threshold must be above v_reset (excitatory and inhibitory)")
        fastest = min(tau_ge, tau_gi, inh_tau_ge, tau_mem, inh_tau_mem)
        if method == "euler" and synapse == "conductance" and dt >= fastest:
            raise ValueError(f"method='euler' needs dt below every time constant, got dt={dt:g}")
        if dt * max(max_rate, 1.0) > 1.0:
            raise ValueError(f"max_rate * dt must be at most 1 (one spike per step), got {max_rate * dt:g}")
        for name in ("min_spikes", "max_retries", "seed"):
            value = self.config[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        self.n_neurons, self.n_input, self.num_classes = n_neurons, n_input, num_classes
        g = torch.Generator().manual_seed(seed)
        # Diehl & Cook's initial weights: (U[0, 1) + 0.01) * 0.3 (normalized before the first image)
        w = (torch.rand(n_neurons, n_input, generator=g) + 0.01) * init_weight
        self.register_buffer("weight", w.to(torch.float32))
        self.register_buffer("theta", torch.full((n_neurons,), float(theta_init)))
        self.register_buffer("assignments", torch.full((n_neurons,), -1, dtype=torch.int64))
        self.register_buffer("class_rates", torch.zeros(num_classes, n_neurons, dtype=torch.float64))
        self.images_seen = 0

    # --- discrete-time constants --------------------------------------------------------------
    def steps(self, seconds: float) -> int:
        """``seconds`` in whole time steps."""
        return int(round(seconds / self.config["dt"]))

    def kernel_parameters(self, *, learn: bool) -> tuple[np.ndarray, np.ndarray]:
        """The float and integer parameter vectors of the fused kernel."""
        from ..kernels.cpu import stdp_diehl_cook as K

        c = self.config
        dt = c["dt"]
        cond = c["synapse"] == "conductance"
        prm = np.zeros(K.N_PRM, np.float64)
        exp = lambda tau: math.exp(-dt / tau)  # noqa: E731
        # conductance decay per step: forward Euler (what Brian 1 integrates these equations with) or exact
        g_decay = (lambda tau: 1.0 - dt / tau) if c["method"] == "euler" else exp  # noqa: E731
        prm[K.DT] = dt
        prm[K.V_REST], prm[K.V_RESET] = c["v_rest"], c["v_reset"]
        prm[K.V_THRESH] = c["v_threshold"] - c["theta_offset"]  # the threshold is v_threshold + θ - theta_offset
        prm[K.E_EXC], prm[K.E_INH] = c["e_exc"], c["e_inh"]
        prm[K.DV] = dt / c["tau_mem"] if cond else exp(c["tau_mem"])
        prm[K.DV_REST] = 1 - dt / c["tau_mem"] if cond else exp(c["tau_mem"])
        prm[K.D_GE] = g_decay(c["tau_ge"]) if cond else 0.0
        prm[K.D_GI] = g_decay(c["tau_gi"]) if cond else 0.0
        prm[K.VI_REST], prm[K.VI_RESET], prm[K.VI_THRESH] = c["inh_v_rest"], c["inh_v_reset"], c["inh_v_threshold"]
        prm[K.EI_EXC] = c["inh_e_exc"]
        prm[K.DVI] = dt / c["inh_tau_mem"] if cond else exp(c["inh_tau_mem"])
        prm[K.DVI_REST] = 1 - dt / c["inh_tau_mem"] if cond else exp(c["inh_tau_mem"])
        prm[K.D_GEI] = g_decay(c["inh_tau_ge"]) if cond else 0.0
        prm[K.W_EI], prm[K.W_IE] = c["w_ei"], c["w_ie"]
        prm[K.THETA_PLUS] = c["theta_plus"]
        prm[K.THETA_DECAY] = math.exp(-(c["t_present"] + c["t_rest"]) / c["tau_theta"])
        prm[K.A2P], prm[K.A3P], prm[K.A2M], prm[K.A3M] = c["a2_plus"], c["a3_plus"], c["a2_minus"], c["a3_minus"]
        prm[K.X_TAR] = c["x_tar"] if c["weight_dependence"] == "offset" else 0.0
        prm[K.W_MIN], prm[K.W_MAX], prm[K.MU] = c["w_min"], c["w_max"], c["mu"]
        prm[K.D_O1], prm[K.D_O2] = exp(c["tau_minus"]), exp(c["tau_y"])
        prm[K.NORM] = c["norm"]
        prm[K.MAX_RATE], prm[K.RATE_STEP] = c["max_rate"], c["rate_step"]
        iprm = np.zeros(K.N_IPRM, np.int64)
        iprm[K.N_PRESENT], iprm[K.N_REST] = self.steps(c["t_present"]), self.steps(c["t_rest"])
        iprm[K.N_SETTLE] = self.steps(c["t_settle"])
        iprm[K.CONDUCTANCE] = int(cond)
        iprm[K.INHIBITION] = INHIBITIONS.index(c["inhibition"])
        iprm[K.RESET_BETWEEN] = int(c["reset_between"])
        iprm[K.N_REF_E], iprm[K.N_REF_I] = self.steps(c["t_refrac"]), self.steps(c["inh_t_refrac"])
        iprm[K.DEPENDENCE] = DEPENDENCES.index(c["weight_dependence"])
        iprm[K.NEAREST] = int(c["pairing"] == "nearest")
        iprm[K.MIN_SPIKES], iprm[K.MAX_RETRIES] = c["min_spikes"], c["max_retries"]
        iprm[K.LEARN] = int(learn)
        iprm[K.SEED] = c["seed"]
        return prm, iprm

    def trace_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Powers ``d^k`` of the pre traces' decays (``r1``: ``tau_plus``, ``r2``: ``tau_x``), down to 1e-12."""
        out = []
        for tau in (self.config["tau_plus"], self.config["tau_x"]):
            steps = int(math.ceil(math.log(1e12) * tau / self.config["dt"])) + 1
            out.append(np.exp(-np.arange(steps) * self.config["dt"] / tau).astype(np.float32))
        return out[0], out[1]

    def init_state(self) -> DiehlCookState:
        """The resting state (no input ever seen)."""
        c = self.config
        neurons = torch.zeros(7, self.n_neurons)
        neurons[0] = c["v_rest"]
        neurons[3] = c["inh_v_rest"]
        return DiehlCookState(neurons, torch.zeros(2, self.n_neurons, dtype=torch.int32),
                              torch.zeros(self.n_input), torch.zeros(self.n_input),
                              torch.full((self.n_input,), -(1 << 40), dtype=torch.int64), 0)

    # --- training -------------------------------------------------------------------------------
    def train_images(self, images: Tensor, *, state: DiehlCookState | None = None, epoch: int = 0,
                     indices: Tensor | None = None, chunk: int = 500,
                     callback: Callable[[int, Tensor], None] | None = None,
                     events: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, DiehlCookState]:
        """Present ``images`` one after the other with STDP (the fused kernel).

        Args:
            images: uint8 ``[N, 28, 28]``/``[N, 784]`` or floats in ``[0, 1]``.
            state: the network state to continue from (``None``: rest).
            epoch: part of the seed of each image's Poisson input (with the image's index).
            indices: the index of each image in its data set (for the seed); default ``0..N-1``.
            chunk: images per kernel call (``callback(done, counts_of_chunk)`` after each).
            events: for tests, given input spikes instead of Poisson draws, as CSR
                ``(ptr [N, T + 1], idx)``: image ``k`` step ``s`` fires ``idx[ptr[k, s]:ptr[k, s+1]]``.

        Returns:
            ``(counts [N, n_neurons] int32, state)``: spikes of each neuron in each image's
            (last) presentation, and the state after the last image.
        """
        from ..kernels.cpu import available
        from ..kernels.cpu import stdp_diehl_cook as K

        if not available():
            raise ImportError("DiehlCook training needs numba: pip install 'spikeforge[cpu-kernels]'")
        pixels = as_pixels(images, self.n_input).numpy()
        n = pixels.shape[0]
        idx_all = torch.arange(n) if indices is None else indices.reshape(-1).long()
        if idx_all.shape[0] != n:
            raise ValueError(f"indices must give one index per image ({n}), got {idx_all.shape[0]}")
        state = self.init_state() if state is None else state
        prm, iprm = self.kernel_parameters(learn=True)
        tab1, tab2 = self.trace_tables()
        W = self.weight.t().contiguous().numpy()  # [n_input, n], input-major
        theta = self.theta.clone().numpy()
        st, ist = state.neurons.clone().numpy(), state.refractory.clone().numpy()
        r1, r2, last = state.r1.clone().numpy(), state.r2.clone().numpy(), state.last.clone().numpy()
        t = int(state.step)
        counts = np.zeros((n, self.n_neurons), np.int32)
        tries = np.zeros(n, np.int32)
        if events is not None:
            ptr_all, ev_idx = events[0].numpy().astype(np.int64), events[1].numpy().astype(np.int64)
            if ptr_all.shape[0] != n or ptr_all.shape[1] != iprm[K.N_PRESENT] + 1:
                raise ValueError(f"events ptr must be [{n}, {iprm[K.N_PRESENT] + 1}], got {tuple(ptr_all.shape)}")
        empty = np.zeros((0, 0), np.int64)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            seed_index = idx_all[lo:hi].numpy().astype(np.int64)
            given_ptr = ptr_all[lo:hi] if events is not None else empty
            given_idx = ev_idx if events is not None else np.zeros(0, np.int64)
            t = K.run(pixels[lo:hi], W, theta, st, ist, r1, r2, last, t, tab1, tab2, prm, iprm, epoch,
                      given_ptr, given_idx, counts[lo:hi], tries[lo:hi], seed_index)
            if callback is not None:
                callback(hi, torch.from_numpy(counts[lo:hi]))
        self.weight.copy_(torch.from_numpy(W).t())
        self.theta.copy_(torch.from_numpy(theta))
        self.images_seen += n
        self.last_tries = torch.from_numpy(tries)
        new_state = DiehlCookState(torch.from_numpy(st), torch.from_numpy(ist), torch.from_numpy(r1),
                                   torch.from_numpy(r2), torch.from_numpy(last), t)
        return torch.from_numpy(counts), new_state

    # --- inference ------------------------------------------------------------------------------
    @torch.no_grad()
    def respond(self, images: Tensor, *, epoch: int = 0, offset: int = 0, threads: int | None = None) -> Tensor:
        """Spike counts ``[N, n_neurons]`` of the frozen network (no plasticity, fixed ``θ``),
        images in parallel, each from the resting state. ``offset`` is added to the image
        index in the seed of the Poisson input (so different sets get different draws)."""
        from ..kernels.cpu import available
        from ..kernels.cpu import stdp_diehl_cook as K
        from ..kernels.cpu.threads import numba_parallel

        if not available():
            raise ImportError("DiehlCook inference needs numba: pip install 'spikeforge[cpu-kernels]'")
        pixels = as_pixels(images, self.n_input).numpy()
        prm, iprm = self.kernel_parameters(learn=False)
        W = self.weight.t().contiguous().numpy()
        counts = np.zeros((pixels.shape[0], self.n_neurons), np.int32)
        tries = np.zeros(pixels.shape[0], np.int32)
        with numba_parallel(threads) as n_threads:
            n_chunks = max(1, min(pixels.shape[0], 4 * n_threads))
            K.infer(pixels, W, self.theta.numpy(), prm, iprm, epoch, offset, counts, tries, n_chunks)
        self.last_tries = torch.from_numpy(tries)
        return torch.from_numpy(counts)

    def assign(self, counts: Tensor, labels: Tensor) -> Tensor:
        """Assign each neuron the class of its highest mean response (stored in ``assignments``)."""
        assignments, rates = assign_labels(counts, labels, self.num_classes)
        self.assignments.copy_(assignments)
        self.class_rates.copy_(rates)
        return assignments

    def predict(self, counts: Tensor) -> Tensor:
        """Classes of images from their spike counts (all-activity voting with ``assignments``)."""
        if bool((self.assignments < 0).all()):
            raise RuntimeError("no neuron is assigned a class yet; call assign(counts, labels) first")
        return vote(counts, self.assignments, self.num_classes)

    # --- plain-torch reference ------------------------------------------------------------------
    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Frozen network on given input spikes ``[T, B, n_input]``: ``(spikes [T, B, n], state)``."""
        from ._diehl_cook_reference import simulate

        return simulate(self, x, state)

    def extra_repr(self) -> str:
        c = self.config
        return (f"n_neurons={self.n_neurons}, synapse={c['synapse']!r}, inhibition={c['inhibition']!r}, "
                f"dt={c['dt']:g}, t_present={c['t_present']:g}, t_rest={c['t_rest']:g}")


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``(fn(), seconds)``."""
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start
