"""NIR export and import: carry a spikeforge network to neuromorphic hardware and other simulators.

NIR (the Neuromorphic Intermediate Representation, Pedersen et al. 2024, *Nature
Communications* 15, 8122; package ``nir``, extra ``[nir]``) describes a spiking network as
a graph of continuous-time nodes. :func:`to_nir` / :func:`save_nir` write a spikeforge
network as such a graph, :func:`from_nir` / :func:`load_nir` build a spikeforge network from
one (graphs written by spikeforge, snnTorch or Norse). What NIR cannot express raises
:class:`NIRExportError` naming the module and the feature; what spikeforge cannot import
raises :class:`NIRImportError` naming the node. See docs/hardware.md.

Examples:
    >>> from spikeforge.hardware.nir import save_nir, load_nir
    >>> save_nir(net, "net.nir")                  # net: a spikeforge.nn.Sequential
    >>> twin = load_nir("net.nir")                # the same outputs, bit for bit
"""

from ._common import NIRExportError, NIRImportError
from .export import save_nir, to_nir
from .importer import SumPool2d, from_nir, load_nir

__all__ = ["to_nir", "save_nir", "from_nir", "load_nir", "NIRExportError", "NIRImportError", "SumPool2d"]
