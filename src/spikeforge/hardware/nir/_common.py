"""What the NIR exporter and importer share: the ``nir`` import, errors, metadata keys."""

from __future__ import annotations

from typing import Any

from .._layers import HardwareError

__all__ = ["NIRExportError", "NIRImportError", "require_nir", "META_DT", "META_METHOD", "META_RESET",
           "META_POOL", "META_MODULE", "META_FORMAT", "FORMAT"]

_MISSING = "spikeforge.hardware.nir needs the nir package; install it with: pip install 'spikeforge[nir]'"

# metadata keys spikeforge writes on NIR nodes (flat keys: NIR's HDF5 writer stores each as one dataset)
FORMAT = "spikeforge"
META_FORMAT = "spikeforge_format"       # on the graph: "spikeforge" and the version
META_DT = "spikeforge_dt"               # on neuron nodes: the step the network was trained with (s)
META_METHOD = "spikeforge_method"       # on neuron nodes: "exp" or "euler"
META_MODULE = "spikeforge_module"       # on every node: the path of the module it came from
META_RESET = "spikeforge_reset"         # extension: "subtract" (NIR nodes reset to v_reset)
META_POOL = "spikeforge_pool"           # extension: "max" on a SumPool2d node (NIR has no max pooling)


class NIRExportError(HardwareError):
    """A module NIR cannot express as it is; the message names the module and the missing feature."""


class NIRImportError(HardwareError):
    """A NIR graph or file spikeforge cannot import (malformed, or a node or structure it does not support)."""


def require_nir() -> Any:
    """Import and return the ``nir`` package, or raise ``ImportError`` naming the extra."""
    try:
        import nir
    except ImportError as exc:
        raise ImportError(_MISSING) from exc
    return nir
