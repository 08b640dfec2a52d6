"""Activity, operations and energy: what a spiking network would cost on event-driven hardware.

- :func:`measure_activity` → :class:`ActivityReport`: per layer and in total, per inference,
  spikes and firing rates, activation sparsity, synaptic operations (ACs triggered by spikes,
  counting fan-out; MACs on analog inputs), the dense MACs of the same network, neuron
  updates and memory, with NeuroBench's definitions (:mod:`.counts`);
- :meth:`ActivityReport.energy` with a :class:`HardwareProfile` (:data:`PROFILES`, or your own
  from YAML with :func:`load_profiles`) → :class:`EnergyEstimate`;
- :func:`format_report` (text) and :func:`energy_chart` (a matplotlib figure).

Examples:
    >>> from spikeforge.hardware.energy import measure_activity, format_report
    >>> report = measure_activity(model, images)         # images [B, C, H, W] or [T, B, ...]
    >>> print(format_report(report, ["cmos-45nm-fp32", "loihi"]))
"""

from .counts import LayerOps, OperationCounter, connection_sparsity, conv_fan_out, footprint, linear_fan_out
from .profiles import PROFILES, HardwareProfile, get_profile, load_profiles
from .report import (
    ActivityReport, EnergyEstimate, LayerReport, energy_chart, energy_section, format_report, measure_activity,
)

__all__ = [
    "measure_activity", "ActivityReport", "LayerReport", "EnergyEstimate", "format_report", "energy_chart",
    "energy_section",
    "HardwareProfile", "PROFILES", "get_profile", "load_profiles",
    "OperationCounter", "LayerOps", "conv_fan_out", "linear_fan_out", "footprint", "connection_sparsity",
]
