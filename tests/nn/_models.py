"""Every neuron module pair (cell, sequence) with the names of its continuous parameters."""

import spikeforge.nn as snn

PAIRS = {
    "lif": (snn.LIFCell, snn.LIF),
    "if": (snn.IFCell, snn.IF),
    "cuba_lif": (snn.CubaLIFCell, snn.CubaLIF),
    "alif": (snn.ALIFCell, snn.ALIF),
    "li": (snn.LICell, snn.LI),
}
SPIKING = [k for k in PAIRS if k != "li"]


def learn_all(cls):
    """Keyword arguments that make every continuous parameter of ``cls`` learnable."""
    return {f"learn_{name}": True for name in cls.model.continuous}
