"""Pure functions: one time step of each neuron model, surrogates, spike semantics.

Every step function has the form ``step(x, state, p) -> (out, state)`` with
``x`` of shape ``[B, ...]``, ``state`` a ``NamedTuple`` (``None`` means rest) and
``p`` the model's parameter ``NamedTuple``. Each ``*_sequence`` function runs the
same step over a time-major ``[T, B, ...]`` input.
"""

from .alif import ALIF_MODEL, ALIFParameters, ALIFState, alif_sequence, alif_step, alif_threshold
from .cuba import CUBA_LIF_MODEL, CubaLIFParameters, CubaLIFState, cuba_lif_sequence, cuba_lif_step
from .if_ import IF_MODEL, IFParameters, IFState, if_sequence, if_step
from .li import LI_MODEL, LIParameters, LIState, li_sequence, li_step
from .lif import LIF_MODEL, LIFParameters, LIFState, lif_sequence, lif_step
from .model import NeuronModel
from .surrogate import (
    ATan,
    Exponential,
    FastSigmoid,
    Gaussian,
    MultiGaussian,
    Rectangular,
    Sigmoid,
    StraightThrough,
    SuperSpike,
    Surrogate,
    Triangle,
    heaviside,
    surrogate_from_name,
)
from .threshold import RESET_MODES, decay_factor, spike_and_reset

MODELS = {m.name: m for m in (LIF_MODEL, IF_MODEL, CUBA_LIF_MODEL, ALIF_MODEL, LI_MODEL)}

__all__ = [
    "ALIF_MODEL", "ALIFParameters", "ALIFState", "alif_sequence", "alif_step", "alif_threshold",
    "CUBA_LIF_MODEL", "CubaLIFParameters", "CubaLIFState", "cuba_lif_sequence", "cuba_lif_step",
    "IF_MODEL", "IFParameters", "IFState", "if_sequence", "if_step",
    "LI_MODEL", "LIParameters", "LIState", "li_sequence", "li_step",
    "LIF_MODEL", "LIFParameters", "LIFState", "lif_sequence", "lif_step",
    "NeuronModel", "MODELS", "RESET_MODES", "decay_factor", "spike_and_reset",
    "Surrogate", "FastSigmoid", "SuperSpike", "Sigmoid", "ATan", "Triangle", "Rectangular",
    "Gaussian", "MultiGaussian", "Exponential", "StraightThrough", "heaviside", "surrogate_from_name",
]
