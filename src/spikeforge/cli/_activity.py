"""Per-layer spike counts, firing rates and synaptic operations of a ``Sequential`` run.

Used by the subcommands that report on a network (``demo`` today). The synaptic
operations (SynOps) a layer's spikes trigger are its spike count times its fan-out:
the synapses each spike drives in the next weighted layer (an ``nn.Linear``'s
``out_features``, a recurrent layer's ``hidden_size``), plus a recurrent layer's own
recurrent synapses.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor, nn

from ..nn import RecurrentALIF, RecurrentALIFCell, RecurrentLIF, RecurrentLIFCell

_RECURRENT = (RecurrentLIF, RecurrentALIF, RecurrentLIFCell, RecurrentALIFCell)


@dataclass(frozen=True)
class LayerActivity:
    """One row of the activity table; the spike fields are ``None`` for non-spiking layers."""

    index: str
    kind: str
    neurons: int
    spikes: int | None = None
    rate_hz: float | None = None
    active: float | None = None
    synops: int | None = None


def is_spiking(module: nn.Module) -> bool:
    """Whether ``module`` emits spikes (a spiking neuron model, alone or in a recurrent layer)."""
    model = getattr(module, "model", None) or getattr(getattr(module, "neuron", None), "model", None)
    return bool(getattr(model, "spiking", False))


def fan_out(layers: list[nn.Module], source: nn.Module | None = None) -> int | None:
    """Synapses one spike of ``source`` drives in the first weighted layer of ``layers``.

    Parameter-free layers (``Flatten``, pooling) are skipped; ``None`` when the next
    weighted layer is of a kind not counted here (convolutions).
    """
    total = source.hidden_size if isinstance(source, _RECURRENT) else 0
    for layer in layers:
        if isinstance(layer, nn.Linear):
            return total + layer.out_features
        if isinstance(layer, _RECURRENT):
            return total + layer.hidden_size
        if any(True for _ in layer.parameters()) and not is_spiking(layer):
            return None
    return total


def spike_row(index: str, kind: str, spikes: Tensor, dt: float, fanout: int | None) -> LayerActivity:
    """Counts for time-major spikes ``[T, B, ...]``; ``active`` averages over the batch."""
    steps, batch = spikes.shape[:2]
    per_neuron = spikes.detach().flatten(2).sum(0)  # [B, N]
    neurons = per_neuron.shape[1]
    count = int(per_neuron.sum().item())
    return LayerActivity(
        index, kind, neurons, count,
        rate_hz=count / (neurons * batch * steps * dt),
        active=float((per_neuron > 0).float().mean().item()),
        synops=None if fanout is None else count * fanout,
    )


def network_activity(
    net: nn.Sequential, x: Tensor, outputs: list[Tensor], dt: float, *, input_kind: str = "input"
) -> list[LayerActivity]:
    """The input's row, then one row per layer of ``net`` (``outputs`` from ``forward_layers``)."""
    layers = list(net)
    rows = [spike_row("in", input_kind, x, dt, fan_out(layers))]
    for i, (layer, out) in enumerate(zip(layers, outputs)):
        if is_spiking(layer):
            rows.append(spike_row(str(i), type(layer).__name__, out, dt, fan_out(layers[i + 1:], layer)))
        else:
            rows.append(LayerActivity(str(i), type(layer).__name__, out[0, 0].numel()))
    return rows


def format_activity(rows: list[LayerActivity]) -> str:
    """A plain-text table of ``rows`` with a total line."""
    header = ("layer", "type", "neurons", "spikes", "rate (Hz)", "active", "SynOps")
    spiking = [r for r in rows if r.spikes is not None]
    table = [header] + [_cells(r) for r in rows] + [(
        "total", "", "", f"{sum(r.spikes for r in spiking):,}", "", "",
        f"{sum(r.synops for r in spiking if r.synops is not None):,}",
    )]
    widths = [max(len(line[c]) for line in table) for c in range(len(header))]
    rule = "  ".join("-" * w for w in widths)
    lines = ["  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(line, widths)))
             for line in table]
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1]])


def _cells(r: LayerActivity) -> tuple[str, ...]:
    if r.spikes is None:
        return (r.index, r.kind, str(r.neurons), "-", "-", "-", "-")
    synops = "?" if r.synops is None else f"{r.synops:,}"
    return (r.index, r.kind, str(r.neurons), f"{r.spikes:,}", f"{r.rate_hz:.1f}", f"{r.active:.0%}", synops)
