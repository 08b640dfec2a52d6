"""Base classes shared by the neuron modules.

``NeuronModule`` turns a functional :class:`~spikeforge.functional.model.NeuronModel`
into an ``nn.Module``: it stores each continuous parameter as a buffer, or as an
``nn.Parameter`` when asked to learn it, optionally one value per neuron, and builds
the model's parameter tuple on every call. ``NeuronCell`` runs one step,
``NeuronSequence`` a whole time-major sequence; each concrete model derives one of
each from a shared ``__init__`` (see ``nn/lif.py``).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Mapping, NamedTuple

import torch
from torch import Tensor, nn

from .._validation import check_choice, check_floating, check_input, check_non_negative, check_positive, check_rank
from ..kernels.registry import BACKENDS, resolve
from ..functional.model import NeuronModel
from ..functional.surrogate import FastSigmoid, Surrogate

Size = int | tuple[int, ...] | None


class StatefulModule(nn.Module):
    """A module whose ``forward(x, state=None)`` returns ``(out, state)``.

    ``time_major`` says whether it takes a whole ``[T, B, ...]`` sequence (``True``)
    or one ``[B, ...]`` step (``False``); :class:`spikeforge.nn.Sequential` uses it
    to thread state and to fold time into batch for stateless layers.
    """

    time_major: ClassVar[bool]


def refractory_to_steps(t_refrac: float, refractory_steps: int | None, dt: float) -> int:
    """The refractory period in whole steps, from seconds or from a step count."""
    if refractory_steps is not None:
        if t_refrac:
            raise ValueError("give the refractory period once: t_refrac (seconds) or refractory_steps, not both")
        if isinstance(refractory_steps, bool) or not isinstance(refractory_steps, int) or refractory_steps < 0:
            raise ValueError(f"refractory_steps must be a non-negative integer, got {refractory_steps!r}")
        return refractory_steps
    check_non_negative(t_refrac, "t_refrac")
    check_positive(dt, "dt")
    return int(math.floor(t_refrac / dt + 0.5))


def _as_size(size: Size) -> tuple[int, ...] | None:
    if size is None:
        return None
    shape = (size,) if isinstance(size, int) else tuple(size)
    if not shape or any((not isinstance(n, int)) or n <= 0 for n in shape):
        raise ValueError(f"size must be a positive int or a tuple of positive ints, got {size!r}")
    return shape


class NeuronModule(StatefulModule):
    """Stores a model's parameters and builds its parameter tuple.

    Args:
        size: neuron shape (``int`` or tuple, the trailing input dimensions). When
            given, every continuous parameter is stored per neuron (and a wrong input
            shape is reported clearly); when ``None``, parameters keep the shape they
            are given (a float becomes a single shared value).
        continuous: ``{name: (initial value, learnable)}`` for the tensor-valued
            parameters of the model.
        config: the non-tensor fields of the parameter tuple (``dt``, ``reset``, ...).
        backend: for sequence modules, who runs the time loop: ``"auto"`` (the fastest
            available), ``"torch"`` (the plain-torch reference), ``"cpu"`` (numba
            kernel) or ``"triton"`` (GPU kernel); see :mod:`spikeforge.kernels.registry`.
        recompute: with a fused kernel, recompute the membrane history in the backward
            pass instead of storing it (less memory, a little more time).

    A learnable time constant is stored as ``log_<name>`` (an ``nn.Parameter``) and
    read as ``<name> = exp(log_<name>)``: it stays positive, and an optimizer step
    changes it by a fraction of its value whatever its unit (a step of 0.01 changes
    a 20 ms time constant by about 1 %, not by 10 s).
    """

    model: ClassVar[NeuronModel]

    def __init__(
        self,
        size: Size,
        continuous: Mapping[str, tuple[Any, bool]],
        config: Mapping[str, Any],
        *,
        backend: str = "auto",
        recompute: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.size = _as_size(size)
        check_choice(backend, BACKENDS, "backend")
        self.backend = backend
        self.recompute = bool(recompute)
        dtype = dtype or torch.get_default_dtype()
        for name, (value, learn) in continuous.items():
            t = torch.as_tensor(value, dtype=dtype, device=device).detach().clone()
            if self.size is not None:
                try:
                    t = t.expand(self.size).clone()
                except RuntimeError:
                    raise ValueError(
                        f"{name} of shape {tuple(t.shape)} does not broadcast to the neuron shape {self.size}"
                    ) from None
            if learn and name.startswith("tau_"):
                check_positive(t, name)
                self.register_parameter(f"log_{name}", nn.Parameter(t.log()))
            elif learn:
                self.register_parameter(name, nn.Parameter(t))
            else:
                self.register_buffer(name, t)
        if isinstance(config.get("surrogate"), type):
            raise TypeError("surrogate must be an instance such as FastSigmoid(), not the class")
        self._config = dict(config)
        self._learnable = tuple(n for n, (_, learn) in continuous.items() if learn)
        self.model.validate(self.neuron_parameters())

    def __getattr__(self, name: str) -> Any:
        if name.startswith("tau_") and f"log_{name}" in self._parameters:
            return self._parameters[f"log_{name}"].exp()
        return super().__getattr__(name)

    def neuron_parameters(self) -> NamedTuple:
        """The model's parameter tuple, built from the current buffers and parameters."""
        tensors = {name: getattr(self, name) for name in self.model.continuous}
        return self.model.parameters(**tensors, **self._config)

    @property
    def dt(self) -> float:
        return self._config["dt"]

    def _check_neuron_shape(self, x: Tensor, leading: int) -> None:
        if self.size is not None and tuple(x.shape[leading:]) != self.size:
            raise ValueError(
                f"{type(self).__name__} was built for neuron shape {self.size}, but the input's "
                f"trailing dimensions are {tuple(x.shape[leading:])} (input shape {tuple(x.shape)})"
            )

    def _validated_parameters(self) -> NamedTuple:
        p = self.neuron_parameters()
        if self._learnable:
            self.model.validate(p)
        return p

    def extra_repr(self) -> str:
        parts = [] if self.size is None else [f"size={self.size}"]
        for name in self.model.continuous:
            t = getattr(self, name)
            if t.numel() == 1:
                shown = f"{t.item():g}"
            elif bool((t == t.flatten()[0]).all()):
                shown = f"{t.flatten()[0].item():g} (per neuron)"
            else:
                shown = f"tensor{tuple(t.shape)}"
            parts.append(f"{name}={shown}" + (" (learnable)" if name in self._learnable else ""))
        for key, value in self._config.items():
            parts.append(f"{key}={value!r}")
        if isinstance(self, NeuronSequence) and self.backend != "auto":
            parts.append(f"backend={self.backend!r}")
        return ", ".join(parts)


class NeuronCell(NeuronModule):
    """One time step: ``forward(x [B, ...], state=None) -> (out [B, ...], state)``."""

    time_major = False

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        check_input(x, 2, "input", "[B, ...] (batch, features) for one time step")
        self._check_neuron_shape(x, 1)
        return self.model.step(x, state, self._validated_parameters())


class NeuronSequence(NeuronModule):
    """A whole sequence: ``forward(x [T, B, ...], state=None) -> (out [T, B, ...], state)``."""

    time_major = True

    def forward(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        # type and rank here; finiteness where it is cheapest: the reference checks x, the
        # fused kernels check their final state (a non-finite input leaves it non-finite)
        check_floating(x, "input")
        check_rank(x, 3, "input", "[T, B, ...] (time, batch, features); use the Cell class for one step")
        self._check_neuron_shape(x, 2)
        p = self._validated_parameters()
        backend = resolve(self.backend, self.model, x, p)
        if backend == "torch":
            return self.model.sequence(x, state, p)
        from ..kernels.fused import fused_sequence

        return fused_sequence(self.model, x, state, p, backend, self.recompute)

    def record(self, x: Tensor, state: Any = None) -> tuple[Tensor, Any]:
        """Like ``forward``, but returns the state after every step, stacked over time.

        Useful for membrane traces: ``spikes, trace = lif.record(x); trace.v`` is
        ``[T, B, ...]``.
        """
        check_input(x, 3, "input", "[T, B, ...] (time, batch, features)")
        self._check_neuron_shape(x, 2)
        return self.model.sequence(x, state, self._validated_parameters(), record=True)


def spiking_config(
    *,
    dt: float,
    reset: str,
    detach_reset: bool,
    surrogate: Surrogate | None,
    t_refrac: float,
    refractory_steps: int | None,
    method: str | None = "exp",
) -> dict[str, Any]:
    """The non-tensor fields shared by the spiking models' parameter tuples."""
    config: dict[str, Any] = dict(
        refractory_steps=refractory_to_steps(t_refrac, refractory_steps, dt),
        dt=dt,
        reset=reset,
        detach_reset=detach_reset,
        surrogate=FastSigmoid() if surrogate is None else surrogate,
    )
    if method is not None:
        config["method"] = method
    return config

