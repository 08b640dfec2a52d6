"""Spiking ``nn.Module``s: one-step cells, sequence modules, recurrent layers, containers.

Every spiking module takes ``forward(x, state=None)`` and returns ``(out, state)``;
``state=None`` is the resting state and nothing is kept between calls. ``XCell`` runs
one ``[B, ...]`` step, ``X`` a time-major ``[T, B, ...]`` sequence; looping ``XCell``
over time gives exactly what ``X`` gives.
"""

from .alif import ALIF, ALIFCell
from .base import NeuronCell, NeuronModule, NeuronSequence, StatefulModule
from .cuba import CubaLIF, CubaLIFCell
from .if_ import IF, IFCell
from .li import LI, LICell
from .lif import LIF, LIFCell
from .recurrent import RecurrentALIF, RecurrentALIFCell, RecurrentLIF, RecurrentLIFCell, RecurrentState
from .sequential import Sequential
from .time_distributed import TimeDistributed

__all__ = [
    "ALIF", "ALIFCell", "CubaLIF", "CubaLIFCell", "IF", "IFCell", "LI", "LICell", "LIF", "LIFCell",
    "RecurrentALIF", "RecurrentALIFCell", "RecurrentLIF", "RecurrentLIFCell", "RecurrentState",
    "Sequential", "TimeDistributed", "NeuronCell", "NeuronModule", "NeuronSequence", "StatefulModule",
]
