"""Hardware profiles: the energy of one operation of each kind, with its source.

A :class:`HardwareProfile` gives picojoules per multiply-accumulate (``mac``), per
accumulate (``ac``, a synaptic operation triggered by a spike), per neuron-state update
(``neuron``) and per routed spike (``spike``); a kind it leaves out is not counted. The
shipped profiles (:data:`PROFILES`) cite the paper and table of every number and say which
were checked; users add their own in YAML with :func:`load_profiles`:

.. code-block:: yaml

    my-chip:
      description: a 22 nm accelerator
      mac: 0.8
      ac: 0.15
      neuron: 2.0
      source: our measurements, 2025
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

__all__ = ["HardwareProfile", "PROFILES", "load_profiles", "get_profile"]

_KINDS = ("mac", "ac", "neuron", "spike")
_FIELDS = set(_KINDS) | {"description", "source", "verified"}


@dataclass(frozen=True)
class HardwareProfile:
    """Energy per operation in picojoules; ``None`` means that kind of operation is not counted."""

    name: str
    mac: float | None = None
    ac: float | None = None
    neuron: float | None = None
    spike: float | None = None
    description: str = ""
    source: str = ""
    verified: bool | str = False

    @classmethod
    def from_dict(cls, name: str, data: Mapping[str, Any]) -> "HardwareProfile":
        if not isinstance(data, Mapping):
            raise ValueError(f"profile {name!r} must be a mapping of operation energies, got {type(data).__name__}")
        unknown = set(data) - _FIELDS
        if unknown:
            raise ValueError(f"profile {name!r} has unknown keys {sorted(unknown)}; expected {sorted(_FIELDS)}")
        values: dict[str, Any] = {}
        for kind in _KINDS:
            v = data.get(kind)
            if v is not None:
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                    raise ValueError(f"profile {name!r}: {kind} must be a non-negative number of pJ, got {v!r}")
                values[kind] = float(v)
        if not values:
            raise ValueError(f"profile {name!r} gives no operation energy (one of {', '.join(_KINDS)})")
        return cls(name=name, description=str(data.get("description", "")), source=str(data.get("source", "")),
                   verified=data.get("verified", False), **values)


def load_profiles(path: str | os.PathLike) -> dict[str, HardwareProfile]:
    """The profiles of a YAML file (a mapping of names to energies; see the module docstring)."""
    try:
        import yaml
    except ImportError as exc:
        raise ImportError("reading hardware profiles needs PyYAML: pip install pyyaml") from exc
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValueError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(data, Mapping):
        raise ValueError(f"{path} must map profile names to their energies")
    return {str(name): HardwareProfile.from_dict(str(name), entry) for name, entry in data.items()}


# Every number names its source; ``verified`` says whether it was checked against the paper (or a
# table citing it) when this file was written. A kind left out is not counted.
_SHIPPED: dict[str, dict[str, Any]] = {
    "cmos-45nm-fp32": dict(
        description="45 nm CMOS, 32-bit float arithmetic (Horowitz 2014)",
        mac=4.6,  # fp32 multiply 3.7 pJ + fp32 add 0.9 pJ
        ac=0.9,   # fp32 add
        source="M. Horowitz, 'Computing's energy problem (and what we can do about it)', ISSCC 2014, pp. 10-14, "
               "energy table (45 nm, 0.9 V)",
        verified=True),
    "cmos-45nm-int8": dict(
        description="45 nm CMOS, 8-bit integer multiply, 32-bit integer accumulate (Horowitz 2014)",
        mac=0.3,  # int8 multiply 0.2 pJ + int32 add 0.1 pJ
        ac=0.1,   # int32 add (the accumulator is wider than the 8-bit weights)
        source="M. Horowitz, ISSCC 2014, energy table (45 nm, 0.9 V): 8-bit multiply 0.2 pJ, 32-bit add 0.1 pJ",
        verified="partly"),  # the 32-bit add is checked against a citing table, the 8-bit multiply is not
    "loihi": dict(
        description="Intel Loihi (14 nm): synaptic spike operation, neuron update, spike (Davies et al. 2018)",
        ac=23.6,      # energy per synaptic spike operation
        neuron=52.0,  # energy per (inactive) neuron update; 81 pJ for an active one
        spike=1.7,    # within-tile spike energy
        source="M. Davies et al., 'Loihi: a neuromorphic manycore processor with on-chip learning', IEEE Micro "
               "38(1), 82-99, 2018, Table 1",
        verified=False),
    "truenorth": dict(
        description="IBM TrueNorth (28 nm), energy per synaptic event (Merolla et al. 2014)",
        ac=26.0,
        source="P. A. Merolla et al., 'A million spiking-neuron integrated circuit with a scalable communication "
               "network and interface', Science 345(6197), 668-673, 2014",
        verified=False),
    "odin": dict(
        description="ODIN (28 nm FDSOI), energy per synaptic operation (Frenkel et al. 2019)",
        ac=12.7,
        source="C. Frenkel et al., 'A 0.086-mm2 12.7-pJ/SOP 64k-synapse 256-neuron online-learning digital "
               "spiking neuromorphic processor in 28-nm CMOS', IEEE TBioCAS 13(1), 145-158, 2019 (the figure is "
               "in the title)",
        verified=True),
}


PROFILES: dict[str, HardwareProfile] = {name: HardwareProfile.from_dict(name, d) for name, d in _SHIPPED.items()}
"""The shipped profiles: ``cmos-45nm-fp32``, ``cmos-45nm-int8``, ``loihi``, ``truenorth``, ``odin``."""


def get_profile(profile: str | HardwareProfile | Mapping[str, Any]) -> HardwareProfile:
    """A profile by name (:data:`PROFILES`), as given, or from a dict of energies."""
    if isinstance(profile, HardwareProfile):
        return profile
    if isinstance(profile, Mapping):
        return HardwareProfile.from_dict(str(profile.get("name", "custom")),
                                         {k: v for k, v in profile.items() if k != "name"})
    if profile not in PROFILES:
        raise ValueError(f"unknown hardware profile {profile!r}; known: {', '.join(PROFILES)} "
                         "(or load your own with load_profiles)")
    return PROFILES[profile]
