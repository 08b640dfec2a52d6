"""spikeforge: spiking neural networks for neuromorphic hardware.

Layers (see the README and ``DESIGN.md``):

- :mod:`spikeforge.functional`: pure math, one step of each neuron model, surrogates;
- :mod:`spikeforge.nn`: ``nn.Module`` wrappers (``LIFCell``/``LIF``, ``ALIF``,
  ``RecurrentALIF``, ``Sequential``, ...);
- :mod:`spikeforge.encoding`: spike encoders, decoders and spike losses;
- :mod:`spikeforge.viz`: raster and membrane plots (needs the ``viz`` extra).

Conventions: time-major tensors ``[T, B, ...]``; explicit state
(``forward(x, state=None) -> (out, state)``); times in seconds, ``dt = 1 ms`` by
default.
"""

from ._allocator import request_huge_pages

request_huge_pages()  # before torch allocates: see spikeforge._allocator

from . import functional, nn  # noqa: E402
from .functional.surrogate import (
    ATan,
    Exponential,
    FastSigmoid,
    Gaussian,
    MultiGaussian,
    Rectangular,
    Sigmoid,
    StraightThrough,
    SuperSpike,
    Triangle,
)

__version__ = "0.1.0"

__all__ = [
    "functional", "nn", "__version__",
    "ATan", "Exponential", "FastSigmoid", "Gaussian", "MultiGaussian", "Rectangular",
    "Sigmoid", "StraightThrough", "SuperSpike", "Triangle",
]
