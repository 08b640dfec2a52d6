"""NIR round trips: spikeforge <-> NIR <-> spikeforge, snnTorch and Norse, spike train by spike train.

Run in the environment with the peers (torch 2.14.1, snnTorch 1.0.0, Norse 1.1.0, nir):

    nice -n 10 python benchmarks/hardware/nir_interop.py [--out benchmarks/hardware/out]

For each neuron type (LIF, IF, CubaLIF) and direction, a two-layer network
(Linear 8->6, neurons, Linear 6->4, neurons) runs the same input (T=60, B=4) in the
source library and, after the NIR round trip, in the target library; the table says
whether the output spike trains are identical (torch.equal) and how many spikes each
side emitted. The networks integrate the same equations on both sides: forward Euler,
reset to zero in the step that spiked, the step each peer assumes (snnTorch: 1e-4 s,
fixed by its importer; Norse: 1e-3 s). Where a peer's exporter writes a wrong graph, the
row "(graph fixed by hand)" repairs the parameter named and shows that the network
then matches: the difference is the exporter's, not the equations'.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import spikeforge
import spikeforge.nn as snn
from spikeforge.hardware.nir import from_nir, to_nir
from spikeforge.hardware.nir._peers import SNNTORCH_DT, norse_from_nir, quiet, run_norse, run_snntorch, snntorch_from_nir

T, B = 60, 4


def spikeforge_net(kind: str, dt: float, r_scale: float = 1.0) -> snn.Sequential:
    torch.manual_seed(1)
    if kind == "LIF":
        make = lambda: snn.LIF(tau_mem=20 * dt, r=20.0 * r_scale, dt=dt, method="euler", reset="zero")  # noqa: E731
    elif kind == "IF":
        make = lambda: snn.IF(r=r_scale, dt=dt, reset="zero")  # noqa: E731
    else:
        make = lambda: snn.CubaLIF(tau_mem=20 * dt, tau_syn=10 * dt, r=20.0 * r_scale, dt=dt,  # noqa: E731
                                   method="euler", reset="zero")
    net = snn.Sequential(nn.Linear(8, 6), make(), nn.Linear(6, 4), make())
    if kind == "LIF" and r_scale < 1:  # r = 1: the weights carry the gain instead, so that the neurons fire
        with torch.no_grad():
            for layer in (net[0], net[2]):
                layer.weight.mul_(1 / r_scale)
                layer.bias.mul_(1 / r_scale)
    return net


def compare(a: torch.Tensor, b: torch.Tensor | None) -> dict:
    if b is None:
        return {"identical": False, "spikes_source": int(a.sum()), "spikes_target": None}
    same = a.shape == b.shape and torch.equal(a, b.to(a.dtype))
    return {"identical": bool(same), "spikes_source": int(a.sum()), "spikes_target": int(b.sum())}


def row(rows: list, direction: str, kind: str, result: dict, note: str = "") -> None:
    rows.append({"direction": direction, "neuron": kind, **result, "note": note})


def spikeforge_to_peers(rows: list, x: torch.Tensor) -> None:
    # snnTorch simulates at 1e-4 s and needs r = tau/dt for LIF and CubaLIF (it asserts so for CubaLIF)
    for kind in ("LIF", "CubaLIF", "IF"):
        dt = SNNTORCH_DT
        net = spikeforge_net(kind, dt, r_scale=1.0 if kind != "IF" else dt)
        graph = to_nir(net)
        xin, note = x, ""
        if kind == "IF":  # snnTorch asserts r == 1 exactly: r = dt in float32 gives 0.99999997
            for node in graph.nodes.values():
                if hasattr(node, "r"):
                    node.r = np.ones_like(node.r)
            xin = x * (0.3 / dt)
            note = "NIR r set to exactly 1 (snnTorch asserts r == 1; other values fail to import). "
        with torch.no_grad():
            a, _ = from_nir(graph)(xin)
        try:
            peer = snntorch_from_nir(graph)
            if kind == "IF":
                lif = [m for m in peer.modules() if type(m).__name__ == "Leaky"][0]
                note += (f"snnTorch imports NIR IF as Leaky(beta={float(lif.beta):.1f}, "
                         f"reset_mechanism={lif.reset_mechanism!r}, init_hidden={lif.init_hidden}). ")
            result = compare(a, run_snntorch(peer, xin))
        except Exception as exc:  # noqa: BLE001 - the peer's failure is the result
            result, note = compare(a, None), note + f"snnTorch import fails: {type(exc).__name__}: {exc}"
        row(rows, "spikeforge -> NIR -> snnTorch", kind, result, note)
    # Norse simulates at the dt it is given; its LIF and IF importers ignore r, so use r = 1 there
    for kind, r_scale in (("LIF", 1 / 20), ("CubaLIF", 1.0), ("IF", 1.0), ("LIF", 1.0), ("IF", 0.5)):
        dt = 1e-3
        net = spikeforge_net(kind, dt, r_scale)
        scale = 0.3 if kind == "IF" else 1.0
        with torch.no_grad():
            a, _ = net(x * scale)
        r = [m for m in net if isinstance(m, snn.NeuronModule)][0].r.flatten()[0].item()
        try:
            result = compare(a, run_norse(norse_from_nir(to_nir(net), dt=dt), x * scale))
            note = f"r = {r:g}" + ("; Norse ignores r (warns)" if (kind in ("LIF", "IF") and r != 1) else "")
        except Exception as exc:  # noqa: BLE001
            result, note = compare(a, None), f"Norse import fails: {type(exc).__name__}: {exc}"
        row(rows, "spikeforge -> NIR -> Norse", kind, result, note)


def snntorch_to_spikeforge(rows: list, x: torch.Tensor) -> None:
    import snntorch as st
    from snntorch.export_nir import export_to_nir

    full = lambda n, v: torch.full((n,), v)  # noqa: E731  (scalar beta/threshold break its exporter)
    cases = {
        "LIF": lambda n, **kw: st.Leaky(beta=full(n, 0.95), threshold=full(n, 1.0), init_hidden=True, **kw),
        "CubaLIF": lambda n, **kw: st.Synaptic(alpha=full(n, 0.9), beta=full(n, 0.95), threshold=full(n, 1.0),
                                               init_hidden=True, **kw),
    }
    for kind, make in cases.items():
        for reset, kw in (("zero", dict(reset_mechanism="zero", reset_delay=False)), ("default", {})):
            torch.manual_seed(1)
            net = nn.Sequential(nn.Linear(8, 6), make(6, **kw), nn.Linear(6, 4), make(4, **kw))
            a = run_snntorch(net, x)
            with quiet():
                graph = export_to_nir(net, x[0], ignore_dims=[0])
            with torch.no_grad():
                b, _ = from_nir(graph, dt=SNNTORCH_DT, method="euler")(x)
            note = ("reset_mechanism='zero', reset_delay=False" if reset == "zero" else
                    "snnTorch defaults (reset by subtraction, reset_delay=True): its exporter writes a "
                    "reset-to-zero LIF node and drops both")
            row(rows, "snnTorch -> NIR -> spikeforge", kind, compare(a, b), note)
    torch.manual_seed(1)
    try:
        with quiet():
            export_to_nir(nn.Sequential(nn.Linear(8, 6), st.Leaky(beta=0.95, init_hidden=True)), x[0],
                          ignore_dims=[0])
        note = "exports"
    except Exception as exc:  # noqa: BLE001
        note = f"snnTorch's exporter fails on scalar beta/threshold: {type(exc).__name__}: {exc}"
    row(rows, "snnTorch -> NIR (Leaky(beta=0.95) defaults)", "LIF", {"identical": None}, note)
    row(rows, "snnTorch -> NIR -> spikeforge", "IF", {"identical": None}, "snnTorch has no IF neuron to export")


def norse_to_spikeforge(rows: list, x: torch.Tensor) -> None:
    import norse.torch as norse
    from norse.torch.utils.export_nir import to_nir as norse_to_nir

    dt = 1e-3
    cases = (("LIF", lambda: norse.LIFBoxCell(), 1.0), ("IF", lambda: norse.IAFCell(), 0.3),
             ("CubaLIF", lambda: norse.LIFCell(), 4.0))
    for kind, make, scale in cases:
        torch.manual_seed(1)
        net = norse.SequentialState(nn.Linear(8, 6), make(), nn.Linear(6, 4), make())
        if kind == "LIF":  # r = 1 in Norse's LIF: larger weights, so that the neurons fire
            with torch.no_grad():
                for layer in (net[0], net[2]):
                    layer.weight.mul_(10.0)
        xin = x * scale
        a = run_norse(net, xin)
        with quiet():
            graph = norse_to_nir(net, xin[0], dt=dt)
        try:
            with torch.no_grad():
                b, _ = from_nir(graph, dt=dt, method="euler")(xin)
            note = ""
        except Exception as exc:  # noqa: BLE001
            b, note = None, f"spikeforge refuses the graph: {exc}"
        node = graph.nodes["1"]
        if kind == "LIF":
            note = (f"Norse exports tau = {float(np.asarray(node.tau)):g} s for tau_mem = 10 ms (dt/tau_mem_inv). "
                    + note)
        elif kind == "IF":
            note = f"Norse exports r = {float(np.asarray(node.r)):g}; its cell adds the input per step (r = 1/dt)"
        else:
            note = (f"Norse exports tau_mem = {float(np.asarray(node.tau_mem)):g} s and w_in = "
                    f"{float(np.asarray(node.w_in)):g} (its current jumps by the input: w_in = tau_syn/dt). " + note)
        row(rows, "Norse -> NIR -> spikeforge", kind, compare(a, b), note)
        with torch.no_grad():
            own = run_norse(norse_from_nir(graph, dt=dt), xin)
        row(rows, "Norse -> NIR -> Norse", kind, compare(a, own), "")
        fixed = _fix_norse_graph(graph, kind, dt)
        with torch.no_grad():
            b, _ = from_nir(fixed, dt=dt, method="euler")(xin)
        row(rows, "Norse -> NIR (graph fixed by hand) -> spikeforge", kind, compare(a, b), _FIXES[kind])


_FIXES = {"LIF": "tau <- 1/tau_mem_inv", "IF": "r <- 1/dt",
          "CubaLIF": "tau_mem, tau_syn <- 1/tau_inv; w_in <- tau_syn/dt"}


def _fix_norse_graph(graph, kind: str, dt: float):
    import copy

    import nir

    g = copy.deepcopy(graph)
    for node in g.nodes.values():
        if isinstance(node, nir.LIF):
            node.tau = np.asarray(node.tau, dtype=np.float64) / dt ** 2 * dt  # dt/tau_inv -> 1/tau_inv
        elif isinstance(node, nir.IF):
            node.r = np.asarray(node.r, dtype=np.float64) / dt
        elif isinstance(node, nir.CubaLIF):
            node.tau_mem = np.asarray(node.tau_mem, dtype=np.float64) / dt
            node.tau_syn = np.asarray(node.tau_syn, dtype=np.float64) / dt
            node.w_in = node.tau_syn / dt
    return g


def structures(rows: list, x: torch.Tensor) -> None:
    """A convolutional network (Conv2d, AvgPool2d, Flatten) and an LI readout, through each peer's importer."""
    dt = SNNTORCH_DT
    kw = dict(tau_mem=20 * dt, r=20.0, dt=dt, method="euler", reset="zero")
    torch.manual_seed(1)
    conv = snn.Sequential(nn.Conv2d(1, 2, 3, padding=1), snn.LIF(**kw), nn.AvgPool2d(2), nn.Flatten(),
                          nn.Linear(2 * 4 * 4, 3), snn.LIF(**kw))
    images = torch.rand(T, B, 1, 8, 8)
    with torch.no_grad():
        a, _ = conv(images)
    for name, load, run in (("snnTorch", snntorch_from_nir, run_snntorch),
                            ("Norse", lambda g: norse_from_nir(g, dt=dt), run_norse)):
        try:
            result, note = compare(a, run(load(to_nir(conv, input_shape=[1, 8, 8])), images)), ""
        except Exception as exc:  # noqa: BLE001
            result, note = compare(a, None), f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        flat = [m for m in load(to_nir(conv, input_shape=[1, 8, 8])).modules() if isinstance(m, nn.Flatten)]
        if flat:
            note = f"imports NIR Flatten(start_dim=0) as torch Flatten(start_dim={flat[0].start_dim}). " + note
        row(rows, f"spikeforge -> NIR -> {name}", "Conv2d-LIF-AvgPool-Flatten-Linear-LIF", result, note)
    torch.manual_seed(1)
    readout = snn.Sequential(nn.Linear(8, 6), snn.LIF(**kw), nn.Linear(6, 4), snn.LI(tau_mem=20 * dt, dt=dt,
                                                                                     method="euler"))
    for name, load in (("snnTorch", snntorch_from_nir), ("Norse", lambda g: norse_from_nir(g, dt=dt))):
        try:
            peer = load(to_nir(readout))
            kinds = [type(m).__name__ for m in peer.children()]
            note = f"imported modules: {', '.join(kinds)} (the LI node is missing)" if not any(
                "LI" in k and "LIF" not in k for k in kinds) else f"imported: {', '.join(kinds)}"
        except Exception as exc:  # noqa: BLE001
            note = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"
        row(rows, f"spikeforge -> NIR -> {name}", "LI readout", {"identical": None}, note)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "out")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    x = torch.rand(T, B, 8)
    rows: list = []
    spikeforge_to_peers(rows, x)
    snntorch_to_spikeforge(rows, x)
    norse_to_spikeforge(rows, x)
    structures(rows, x)
    import nir
    import norse
    import snntorch

    versions = {"spikeforge": spikeforge.__version__, "torch": torch.__version__, "nir": nir.version,
                "snntorch": snntorch.__version__, "norse": getattr(norse, "__version__", "?")}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print("| direction | neuron | identical spike trains | spikes (source / target) | note |")
    print("|---|---|---|---|---|")
    for r in rows:
        same = {True: "yes", False: "**no**", None: "-"}[r.get("identical")]
        spikes = (f"{r['spikes_source']} / {r['spikes_target'] if r['spikes_target'] is not None else '-'}"
                  if "spikes_source" in r else "-")
        print(f"| {r['direction']} | {r['neuron']} | {same} | {spikes} | {r['note']} |")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "nir_interop.json").write_text(json.dumps({"versions": versions, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
