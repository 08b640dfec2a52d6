"""The hardware path: carry a spiking network to neuromorphic hardware and say what it would cost.

- :mod:`spikeforge.hardware.nir`: export to and import from NIR (extra ``[nir]``), with a clear
  error for what NIR cannot express;
- :mod:`spikeforge.hardware.energy`: spikes, synaptic operations, dense MACs, neuron updates and
  memory per layer (NeuroBench's definitions), energy per hardware profile;
- :mod:`spikeforge.hardware.quantize`: int8 / int4 weights and fixed-point neurons simulated in
  integer arithmetic, post-training and quantization-aware;
- :mod:`spikeforge.hardware.events`: event-driven inference that processes only the spikes that occur.

The submodules are imported on use, so ``import spikeforge.hardware`` needs no extra. See
docs/hardware.md.
"""

from ._layers import HardwareError, Layer, network_layers

__all__ = ["HardwareError", "Layer", "network_layers", "nir", "energy", "quantize", "events"]


def __getattr__(name: str):
    if name in ("nir", "energy", "quantize", "events"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
