"""What a finished run leaves next to its checkpoint: curves, a raster, a text report.

- :func:`learning_curves`: loss and accuracy per epoch (train and test) from the metrics rows;
- :func:`sample_raster`: the spikes of every spiking layer for one test sample, and the
  readout's output over time;
- :func:`activity_report`: test accuracy, firing rate per layer and spikes per inference,
  as plain text.

The figures are matplotlib ``Figure`` objects (no pyplot state), drawn with
:mod:`spikeforge.viz`; matplotlib is needed only for them (extra ``viz``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import torch
from torch import Tensor, nn

from .monitor import LayerActivity, SpikeMonitor
from .rules import run_model

__all__ = ["learning_curves", "sample_raster", "activity_report", "format_layers"]


def learning_curves(rows: Sequence[Mapping[str, Any]], *, title: str | None = None) -> Any:
    """A figure with loss (left) and accuracy (right) per epoch, train and test (and, for a run
    with a weight average, the test figures of the last weights beside the average's)."""
    from ..viz._figure import require_matplotlib

    mpl = require_matplotlib()
    fig = mpl.figure.Figure(figsize=(9.0, 3.6), layout="constrained")
    ax_loss, ax_acc = fig.subplots(1, 2)
    epochs = [r["epoch"] for r in rows]
    averaged = any(r.get("test_accuracy_last") is not None for r in rows)  # a run with a weight average
    curves = [("train", "", "-", "train"), ("test", "", "--", "test (weight average)" if averaged else "test")]
    if averaged:
        curves.append(("test", "_last", ":", "test (last weights)"))
    for split, suffix, style, label in curves:
        for ax, key, scale in ((ax_loss, "loss", 1.0), (ax_acc, "accuracy", 100.0)):
            column = f"{split}_{key}{suffix}"
            points = [(e, r.get(column)) for e, r in zip(epochs, rows) if r.get(column) is not None]
            if points:
                ax.plot([p[0] for p in points], [p[1] * scale for p in points], style, marker="o", markersize=3,
                        label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))
        if ax.lines:
            ax.legend(frameon=False)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title)
    return fig


@torch.no_grad()
def sample_raster(model: nn.Module, x: Tensor, *, label: int | None = None, objective: Any = None,
                  title: str | None = None) -> Any:
    """Rasters of every spiking layer for the single sample ``x`` (a batch of one), then the output.

    ``x`` is what the model takes, with a batch dimension of 1 (``[1, C, H, W]`` images,
    ``[T, 1, F]`` sequences). With a sequence-level ``objective`` the output panel names
    the predicted class.
    """
    from ..viz import raster
    from ..viz._figure import require_matplotlib

    mpl = require_matplotlib()
    was_training = model.training
    model.eval()
    monitor = SpikeMonitor(model, record=True)
    try:
        with monitor:
            out, _ = run_model(model, x)
    finally:
        model.train(was_training)
    layers = [(row, monitor.records[row.name][-1]) for row in monitor.activity() if monitor.records[row.name]]
    panels = len(layers) + 1
    heights = [min(max(row.neurons, 8), 160) + 24 for row, _ in layers] + [80]
    fig = mpl.figure.Figure(figsize=(8.0, 1.2 + 1.3 * panels), layout="constrained")
    axes = fig.subplots(panels, 1, sharex=True, height_ratios=heights, squeeze=False)[:, 0]
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:purple", "tab:red", "tab:brown")
    for k, (ax, (row, spikes)) in enumerate(zip(axes, layers)):
        count = int(spikes[:, 0].sum().item())
        raster(spikes, ax=ax, dt=row.dt, color=colors[k % len(colors)], ylabel="neuron",
               title=f"{row.name} ({row.kind}, {row.neurons} neurons): {count} spikes")
        ax.label_outer()
    ax = axes[-1]
    o = out[:, 0].detach().cpu().reshape(out.shape[0], -1)
    dt = layers[0][0].dt if layers else None
    t = torch.arange(o.shape[0], dtype=torch.float64) * (1.0 if dt is None else dt * 1e3)
    for c in range(o.shape[1]):
        ax.plot(t.numpy(), o[:, c].numpy(), linewidth=1.6 if c == label else 0.8,
                color="black" if c == label else None, label=f"class {c}" if c == label else None)
    ax.set_xlabel("time step" if dt is None else "time (ms)")
    ax.set_ylabel("output")
    pred = None
    if objective is not None and not getattr(objective, "per_step", False):
        pred = int(objective.scores(out)[0].argmax().item())
    ax.set_title("readout output per class" + (f", label {label}" if label is not None else "")
                 + (f", predicted {pred}" if pred is not None else ""))
    if label is not None:
        ax.legend(loc="upper left", frameon=False, fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def format_layers(layers: Sequence[LayerActivity], samples: int) -> str:
    """A table of the spiking layers: neurons, spikes per inference, rate in Hz and per step, active share."""
    header = ("layer", "type", "neurons", "spikes/inference", "rate (Hz)", "spikes/neuron/step", "active")
    table = [header]
    unseen = False
    for row in layers:
        if row.sample_steps == 0:  # its forward never ran (a module driven by another's code)
            unseen = True
            table.append((row.name, row.kind, f"{row.neurons:,}", "?", "?", "?", "?"))
            continue
        table.append((row.name, row.kind, f"{row.neurons:,}", f"{row.spikes_per_sample(samples):,.1f}",
                      "-" if row.rate_hz is None else f"{row.rate_hz:.1f}", f"{row.rate:.4f}",
                      "-" if row.active is None else f"{row.active:.0%}"))
    total = sum(r.spikes for r in layers)
    neurons = sum(r.neurons for r in layers)
    table.append(("total", "", f"{neurons:,}", f"{total / samples if samples else 0:,.1f}", "", "", ""))
    widths = [max(len(line[c]) for line in table) for c in range(len(header))]
    lines = ["  ".join(c.ljust(w) if k < 2 else c.rjust(w) for k, (c, w) in enumerate(zip(line, widths)))
             for line in table]
    rule = "  ".join("-" * w for w in widths)
    note = ["?: the layer's forward was not called (its owner runs its neurons itself), so its spikes are not "
            "counted"] if unseen else []
    return "\n".join([lines[0], rule, *lines[1:-1], rule, lines[-1], *note])


def activity_report(result: Mapping[str, Any], *, name: str = "", rows: Sequence[Mapping[str, Any]] = (),
                    extra_lines: Sequence[str] = (), sections: Sequence[str] = ()) -> str:
    """The text report of an evaluation ``result`` (from :meth:`Trainer.evaluate`).

    ``sections`` are appended as they are (the training command adds the energy table of
    :func:`spikeforge.hardware.energy.energy_section`).
    """
    samples = int(result.get("samples") or 0)
    layers = list(result.get("layers") or [])
    lines = [f"spikeforge run report{': ' + name if name else ''}", ""]
    lines += list(extra_lines)
    acc, loss = result.get("accuracy"), result.get("loss")
    lines.append(f"test accuracy:        {'-' if acc is None else f'{acc:.2%}'}  ({samples} samples)")
    lines.append(f"test loss:            {'-' if loss is None else f'{loss:.4f}'}")
    total = sum(r.spikes for r in layers)
    lines.append(f"spikes per inference: {total / samples if samples else 0:,.1f} (all spiking layers)")
    rate_hz = result.get("rate_hz")
    lines.append(f"mean firing rate:     {'-' if rate_hz is None else f'{rate_hz:.1f} Hz'}, "
                 f"{result.get('rate', 0.0):.4f} spikes per neuron per step")
    if rows:
        best = max((r for r in rows if r.get("test_accuracy") is not None), key=lambda r: r["test_accuracy"],
                   default=None)
        last = rows[-1]
        lines.append(f"epochs:               {last['epoch']} ({last.get('elapsed_s') or 0:.1f} s of training)")
        if best is not None:
            lines.append(f"best test accuracy:   {best['test_accuracy']:.2%} (epoch {best['epoch']})")
    lines += ["", "firing rate per layer (test set):", format_layers(layers, samples), ""]
    for section in sections:
        lines += [section, ""]
    return "\n".join(lines)


def write_text(path: str | Path, text: str) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
