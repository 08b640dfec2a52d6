"""One adapter per library (spikeforge included) that runs a benchmark workload.

Every adapter module has the same small interface:

- ``NAME``: the library's name in the table;
- ``VARIANTS``: every configuration it can run (``"eager"``, ``"compiled"``, ...);
- ``default_variants(device) -> tuple[str, ...]``: those run when only the library is named;
- ``available() -> bool``: whether the library imports (never raises);
- ``build(workload, device, variant) -> Callable[[], None]``: a closure that runs
  forward+backward once on inputs built beforehand. It raises :class:`PeerUnavailable`
  with a reason when the library or that variant cannot run here.

The adapters import their library lazily, so this package imports without any peer
installed.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from ._common import PeerUnavailable

ADAPTERS: tuple[str, ...] = ("spikeforge", "torch_loop", "snntorch", "spikingjelly", "norse")
"""Adapter names in the order the benchmark runs them."""

_MODULES = {
    "spikeforge": "spikeforge_",
    "torch_loop": "torch_loop",
    "snntorch": "snntorch_",
    "spikingjelly": "spikingjelly_",
    "norse": "norse_",
}


def get_adapter(name: str) -> ModuleType:
    """The adapter module for ``name`` (one of :data:`ADAPTERS`)."""
    if name not in _MODULES:
        raise ValueError(f"unknown library {name!r}; choose from {', '.join(ADAPTERS)}")
    return importlib.import_module(f"{__name__}.{_MODULES[name]}")


def parse_spec(spec: str, device: str = "cpu") -> list[tuple[str, str]]:
    """``"norse"`` -> its default variants on ``device``; ``"norse:compiled"`` -> that one."""
    name, _, variant = spec.partition(":")
    adapter = get_adapter(name.strip())
    if variant:
        variant = variant.strip()
        if variant not in adapter.VARIANTS:
            raise ValueError(f"{name} has no variant {variant!r}; it has {', '.join(adapter.VARIANTS)}")
        return [(adapter.NAME, variant)]
    return [(adapter.NAME, v) for v in adapter.default_variants(device)]


__all__ = ["ADAPTERS", "PeerUnavailable", "get_adapter", "parse_spec"]
