"""What a network costs: the per-layer activity table, energy estimates and a bar chart.

:func:`measure_activity` runs a model on inputs with an :class:`OperationCounter` and
returns an :class:`ActivityReport` (per layer and in total, per inference);
:meth:`ActivityReport.energy` prices it with a :class:`HardwareProfile`;
:func:`format_report` prints both; :func:`energy_chart` draws them.

The energy of the spiking network on a profile is ``ACs x ac + MACs x mac + neuron
updates x neuron + spikes x spike`` over the kinds the profile prices (a neuromorphic
chip's profile has no ``mac``: the MACs of a first layer fed analog values are then
listed as not priced). Two references: the same network computed densely at every step
(``Dense x mac``), and an ANN of the same shape run once (``Dense / T x mac``, the usual
comparison in the literature). These are operation counts times per-operation energies:
memory traffic, routing, leakage and control are left out unless the profile prices them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch
from torch import Tensor, nn

from ...learning.monitor import spikes_are_its_output
from ...learning.rules import run_model
from ...nn import NeuronModule
from ...nn.recurrent import _RecurrentBase
from .counts import OperationCounter, connection_sparsity, footprint
from .profiles import HardwareProfile, get_profile

__all__ = ["LayerReport", "ActivityReport", "EnergyEstimate", "measure_activity", "format_report", "energy_chart",
           "energy_section"]


@dataclass(frozen=True)
class LayerReport:
    """One row of the table; all counts are per inference (per sample). ``None``: does not apply."""

    name: str
    kind: str
    neurons: int | None = None
    spikes: float | None = None
    rate: float | None = None          # spikes per neuron per step
    rate_hz: float | None = None
    active: float | None = None        # share of neurons that fired at least once
    sparsity: float | None = None      # 1 - rate: share of zero outputs
    acs: float | None = None           # synaptic operations triggered by spikes
    macs: float | None = None          # synaptic operations on non-binary inputs
    dense: float | None = None         # the dense MACs of the same layer
    neuron_updates: float | None = None
    memory_bytes: int = 0

    @property
    def synops(self) -> float | None:
        return None if self.acs is None else self.acs + (self.macs or 0.0)


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy per inference in picojoules on one profile."""

    profile: HardwareProfile
    snn_pj: float
    dense_pj: float | None
    ann_pj: float | None
    parts: dict[str, float] = field(default_factory=dict)
    unpriced: tuple[str, ...] = ()

    @property
    def ratio(self) -> float | None:
        """ANN energy over SNN energy (> 1: the spiking network is cheaper)."""
        return None if self.ann_pj is None or not self.snn_pj else self.ann_pj / self.snn_pj


@dataclass(frozen=True)
class ActivityReport:
    """Per-layer and total activity of a model on some inputs, per inference."""

    layers: tuple[LayerReport, ...]
    samples: int
    steps: int
    activation_sparsity: float
    footprint_bytes: int
    connection_sparsity: float

    def total(self, attr: str) -> float:
        return float(sum(getattr(r, attr) or 0.0 for r in self.layers))

    @property
    def acs(self) -> float:
        return self.total("acs")

    @property
    def macs(self) -> float:
        return self.total("macs")

    @property
    def synops(self) -> float:
        return self.acs + self.macs

    @property
    def dense(self) -> float:
        return self.total("dense")

    @property
    def spikes(self) -> float:
        return self.total("spikes")

    @property
    def neuron_updates(self) -> float:
        return self.total("neuron_updates")

    def energy(self, profile: str | HardwareProfile | dict) -> EnergyEstimate:
        """Price the counts with ``profile`` (a name from ``PROFILES``, a profile, or a dict)."""
        p = get_profile(profile)
        parts: dict[str, float] = {}
        unpriced: list[str] = []
        for kind, count, price in (("ACs", self.acs, p.ac), ("MACs", self.macs, p.mac),
                                   ("neuron updates", self.neuron_updates, p.neuron),
                                   ("spikes", self.spikes, p.spike)):
            if price is None:
                if count and kind in ("ACs", "MACs"):
                    unpriced.append(f"{count:,.0f} {kind}")
                continue
            parts[kind] = count * price
        dense = None if p.mac is None else self.dense * p.mac
        ann = None if p.mac is None else self.dense / max(self.steps, 1) * p.mac
        return EnergyEstimate(p, float(sum(parts.values())), dense, ann, parts, tuple(unpriced))

    def as_dict(self) -> dict[str, Any]:
        rows = [{k: getattr(r, k) for k in r.__dataclass_fields__} | {"synops": r.synops} for r in self.layers]
        return {"samples": self.samples, "steps": self.steps, "activation_sparsity": self.activation_sparsity,
                "footprint_bytes": self.footprint_bytes, "connection_sparsity": self.connection_sparsity,
                "synops": self.synops, "acs": self.acs, "macs": self.macs, "dense": self.dense,
                "neuron_updates": self.neuron_updates, "spikes": self.spikes, "layers": rows}


def _batches(inputs: Tensor | Iterable[Any]) -> Iterable[Tensor]:
    if isinstance(inputs, Tensor):
        yield inputs
        return
    for item in inputs:
        yield item[0] if isinstance(item, (tuple, list)) else item


def _bytes(module: nn.Module) -> int:
    return int(sum(t.numel() * t.element_size() for t in list(module.parameters()) + list(module.buffers())))


@torch.no_grad()
def measure_activity(model: nn.Module, inputs: Tensor | Iterable[Any], *, time_major: bool | None = None,
                     device: str | torch.device | None = None) -> ActivityReport:
    """Run ``model`` on ``inputs`` (a tensor, or batches of tensors or ``(x, y)`` pairs) and count.

    The model runs in eval mode without gradients. Samples are counted along the batch
    axis of the model's output (``[T, B, ...]``), so images ``[B, C, H, W]`` that a zoo
    model encodes over time and time-major sequences ``[T, B, ...]`` both work.
    ``time_major`` is accepted for symmetry and ignored.
    """
    was_training = model.training
    model.eval()
    counter = OperationCounter(model)
    samples = 0
    try:
        with counter:
            for x in _batches(inputs):
                if device is not None:
                    x = x.to(device)
                out, _ = run_model(model, x)
                samples += int(out.shape[1]) if out.dim() >= 2 else 1
    finally:
        model.train(was_training)
    if not samples:
        raise ValueError("no inputs were given to measure")
    activity = {a.name: a for a in counter.monitor.activity()}
    updates = counter.neuron_updates()
    steps = max((a.sample_steps for a in activity.values()), default=0) // samples
    rows: list[tuple[float, LayerReport]] = []
    order = {name: float(i) for i, (name, _) in enumerate(model.named_modules())}
    modules = dict(model.named_modules())

    def key(name: str) -> float:  # a recurrent layer: input projection, neurons, recurrent weights
        if isinstance(modules.get(name), _RecurrentBase):
            return order[f"{name}.input"] + 0.5
        if name.endswith(".recurrent") and isinstance(modules.get(name.removesuffix(".recurrent")), _RecurrentBase):
            return order[name.removesuffix(".recurrent") + ".input"] + 0.6
        return order.get(name, 0.0)

    for ops in counter.weighted_layers():
        module = modules[ops.name] if ops.name in modules else None
        rows.append((key(ops.name), LayerReport(
            name=ops.name, kind=ops.kind, acs=ops.effective_acs / samples, macs=ops.effective_macs / samples,
            dense=ops.dense / samples, memory_bytes=_bytes(module) if module is not None else 0)))
    zeros = total = 0.0
    for name, (neurons, n_updates) in updates.items():
        module = modules[name]
        a = activity.get(name)
        spiking = a is not None and a.sample_steps > 0
        if spiking and spikes_are_its_output(module):  # the activations the next layer receives
            zeros += a.neurons * a.sample_steps - a.spikes
            total += a.neurons * a.sample_steps
        own = module.neuron if isinstance(module, _RecurrentBase) else module
        rows.append((key(name), LayerReport(
            name=name, kind=type(module).__name__, neurons=neurons or None,
            spikes=a.spikes / samples if spiking else None, rate=a.rate if spiking else None,
            rate_hz=a.rate_hz if spiking else None, active=a.active if spiking else None,
            sparsity=1.0 - a.rate if spiking else None, neuron_updates=n_updates / samples,
            memory_bytes=_bytes(own) if isinstance(own, NeuronModule) else 0)))
    rows.sort(key=lambda r: r[0])
    return ActivityReport(layers=tuple(r for _, r in rows), samples=samples, steps=steps,
                          activation_sparsity=zeros / total if total else 0.0, footprint_bytes=footprint(model),
                          connection_sparsity=connection_sparsity(model))


# -- text ------------------------------------------------------------------------------------------

def _n(v: float | None, fmt: str = ",.0f") -> str:
    return "-" if v is None else format(v, fmt)


def _pj(v: float | None) -> str:
    if v is None:
        return "-"
    for unit, scale in (("mJ", 1e9), ("uJ", 1e6), ("nJ", 1e3)):
        if abs(v) >= scale:
            return f"{v / scale:.3g} {unit}"
    return f"{v:.3g} pJ"


def format_report(report: ActivityReport, profiles: Sequence[str | HardwareProfile] = ("cmos-45nm-fp32",)) -> str:
    """The per-layer table, the totals and one energy line per profile, as plain text."""
    header = ("layer", "type", "neurons", "spikes", "rate (Hz)", "sparsity", "SynOps (AC)", "MACs", "dense MACs",
              "neuron upd.", "memory")
    table = [header]
    for r in report.layers:
        table.append((r.name, r.kind, _n(r.neurons), _n(r.spikes, ",.1f"), _n(r.rate_hz, ".1f"),
                      _n(r.sparsity, ".1%"), _n(r.acs), _n(r.macs), _n(r.dense), _n(r.neuron_updates),
                      f"{r.memory_bytes:,} B" if r.memory_bytes else "-"))
    table.append(("total", "", "", _n(report.spikes, ",.1f"), "", _n(report.activation_sparsity, ".1%"),
                  _n(report.acs), _n(report.macs), _n(report.dense), _n(report.neuron_updates),
                  f"{report.footprint_bytes:,} B"))
    widths = [max(len(line[c]) for line in table) for c in range(len(header))]
    lines = ["  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(line, widths)))
             for line in table]
    rule = "  ".join("-" * w for w in widths)
    out = [f"per inference ({report.samples} samples, {report.steps} steps each)", lines[0], rule, *lines[1:-1],
           rule, lines[-1], "",
           f"activation sparsity {report.activation_sparsity:.2%} (spiking layers); connection sparsity "
           f"{report.connection_sparsity:.2%}; memory {report.footprint_bytes:,} bytes (parameters and buffers)",
           "", "energy per inference (operation counts x energy per operation):"]
    for profile in profiles:
        e = report.energy(profile)
        p = e.profile
        line = f"  {p.name:<16} SNN {_pj(e.snn_pj):>10}"
        if e.ann_pj is not None:
            line += f"   ANN of the same shape {_pj(e.ann_pj):>10}   dense SNN {_pj(e.dense_pj):>10}"
            if e.ratio:
                line += f"   ANN / SNN {e.ratio:.2f}x"
        if e.unpriced:
            line += f"   (not priced: {', '.join(e.unpriced)})"
        if p.verified is not True:
            line += "   [figures not verified against the paper]" if p.verified is False else \
                "   [figures partly verified]"
        out.append(line)
    return "\n".join(out)


def energy_chart(report: ActivityReport, profiles: Sequence[str | HardwareProfile] = ("cmos-45nm-fp32",),
                 *, title: str | None = None) -> Any:
    """Bars: per-layer synaptic operations against dense MACs, and energy per profile (SNN against ANN)."""
    from ...viz._figure import require_matplotlib

    mpl = require_matplotlib()
    fig = mpl.figure.Figure(figsize=(11.0, 4.0), layout="constrained")
    ax_ops, ax_energy = fig.subplots(1, 2, width_ratios=[3, 2])
    weighted = [r for r in report.layers if r.dense]
    xs = range(len(weighted))
    width = 0.4
    ax_ops.bar([x - width / 2 for x in xs], [r.synops or 0 for r in weighted], width, label="SynOps (SNN)")
    ax_ops.bar([x + width / 2 for x in xs], [r.dense / max(report.steps, 1) for r in weighted], width,
               label="MACs (ANN, one pass)")
    ax_ops.set_xticks(list(xs), [r.name for r in weighted], rotation=30, ha="right", fontsize="small")
    ax_ops.set_yscale("log")
    ax_ops.set(ylabel="operations per inference", title="operations per weighted layer")
    ax_ops.legend(frameon=False, fontsize="small")
    estimates = [report.energy(p) for p in profiles]
    names = [e.profile.name for e in estimates]
    xs = range(len(estimates))
    ax_energy.bar([x - width / 2 for x in xs], [e.snn_pj / 1e6 for e in estimates], width, label="SNN")
    ax_energy.bar([x + width / 2 for x in xs], [(e.ann_pj or 0) / 1e6 for e in estimates], width,
                  label="ANN of the same shape")
    ax_energy.set_xticks(list(xs), names, rotation=30, ha="right", fontsize="small")
    ax_energy.set_yscale("log")
    ax_energy.set(ylabel="energy per inference (uJ)", title="energy estimate")
    ax_energy.legend(frameon=False, fontsize="small")
    for ax in (ax_ops, ax_energy):
        ax.grid(alpha=0.3, axis="y")
    if title:
        fig.suptitle(title)
    return fig


def energy_section(model: nn.Module, data: Any, *, collate_fn: Any = None, device: Any = None, samples: int = 256,
                   profiles: Sequence[str] = ("cmos-45nm-fp32", "cmos-45nm-int8", "loihi")) -> str:
    """The energy table of ``model`` on the first ``samples`` items of ``data``, for the training report."""
    from torch.utils.data import DataLoader, Subset, default_collate

    subset = Subset(data, range(min(samples, len(data))))
    loader = DataLoader(subset, batch_size=64, shuffle=False, collate_fn=collate_fn or default_collate)
    report = measure_activity(model, loader, device=device)
    return f"operations and energy (first {report.samples} test samples):\n" + format_report(report, profiles)
