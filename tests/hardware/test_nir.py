"""NIR export and import: bit-exact round trips for every exportable module, clear errors otherwise."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

import spikeforge.nn as snn
from spikeforge.hardware._layers import network_layers
from spikeforge.models import SCNN

from ._nets import ZERO, inputs, single_module_nets

nir = pytest.importorskip("nir")

from spikeforge.hardware.nir import NIRExportError, NIRImportError, from_nir, load_nir, save_nir, to_nir  # noqa: E402

NETS = single_module_nets()


def outputs(net, x):
    with torch.no_grad():
        return net.forward_layers(x)[0]


@pytest.mark.parametrize("name", sorted(NETS))
def test_round_trip_is_bit_exact(name, tmp_path):
    net, shape = NETS[name]
    x = inputs(shape)
    path = save_nir(net, tmp_path / f"{name}.nir", input_shape=list(shape))
    twin = load_nir(path)
    folded = snn.Sequential(*(layer.module for layer in network_layers(net)))  # BatchNorm folded, as exported
    expected, got = outputs(folded, x), outputs(twin, x)
    assert len(expected) == len(got)
    for a, b in zip(expected, got):
        assert torch.equal(a, b)
    assert sum(float(o.sum()) for o in got if o.dtype.is_floating_point) != 0.0  # the test input does something


def test_neuron_parameters_are_exported_per_neuron_with_their_shape():
    net, shape = NETS["avgpool_flatten"]
    graph = to_nir(net, input_shape=list(shape))
    lif = graph.nodes["lif_1"]
    assert lif.tau.shape == lif.v_threshold.shape == (3, 6, 6)
    assert graph.nodes["lif_5"].r.shape == (4,)
    assert list(graph.nodes["input"].input_type["input"]) == [1, 6, 6]
    assert list(graph.nodes["output"].output_type["output"]) == [4]
    assert graph.nodes["flatten_3"].start_dim == 0
    assert lif.metadata["spikeforge_dt"] == pytest.approx(1e-3) and lif.metadata["spikeforge_module"] == "1"


def test_continuous_parameters_follow_nir_units():
    net = snn.Sequential(nn.Linear(2, 3), snn.IF(r=0.5, dt=2e-3, **ZERO), nn.Linear(3, 2),
                         snn.CubaLIF(tau_syn=4e-3, tau_mem=8e-3, r=2.0, dt=2e-3, **ZERO))
    graph = to_nir(net)
    np.testing.assert_allclose(graph.nodes["if_1"].r, 0.5 / 2e-3)           # r_NIR = r / dt
    np.testing.assert_allclose(graph.nodes["cuba_lif_3"].w_in, 4e-3 / 2e-3)  # w_in = tau_syn / dt
    np.testing.assert_allclose(graph.nodes["cuba_lif_3"].tau_mem, 8e-3)


def test_batchnorm_fold_matches_the_original_closely():
    net, shape = NETS["conv2d_batchnorm"]
    x = inputs(shape)
    twin = from_nir(to_nir(net, input_shape=list(shape)))
    with torch.no_grad():
        pre_a = net[1](net[0](x.flatten(0, 1)))
        pre_b = twin[0](x.flatten(0, 1))
    torch.testing.assert_close(pre_a, pre_b, rtol=1e-5, atol=1e-6)


def test_zoo_scnn_exports_and_imports():
    torch.manual_seed(0)
    model = SCNN.preset("digits", pooling="avg", reset="zero").eval()
    x = torch.rand(4, 2, 1, 8, 8)
    twin = from_nir(to_nir(model))
    folded = snn.Sequential(*(layer.module for layer in network_layers(model)))
    with torch.no_grad():
        assert torch.equal(folded(x)[0], twin(x)[0])
        torch.testing.assert_close(model(x)[0], twin(x)[0], rtol=1e-4, atol=1e-4)


@given(r=st.floats(0.001, 1000.0).map(lambda v: float(np.float32(v))), dt=st.sampled_from([1e-4, 3e-4, 1e-3, 7e-3]),
       tau=st.floats(0.001, 1.0).map(lambda v: float(np.float32(v))))
@settings(max_examples=60, deadline=None)
def test_derived_parameters_recover_float32_values_exactly(r, dt, tau):
    tau = max(tau, dt)
    net = snn.Sequential(nn.Linear(1, 1), snn.IF(r=r, dt=dt, **ZERO), nn.Linear(1, 1),
                         snn.CubaLIF(r=r, tau_syn=tau, dt=dt, **ZERO))
    twin = from_nir(to_nir(net))
    assert torch.equal(twin[1].r, net[1].r.expand_as(twin[1].r))
    assert torch.equal(twin[3].r, net[3].r.expand_as(twin[3].r))


# -- what NIR cannot express --------------------------------------------------------------------

@pytest.mark.parametrize("module, words", [
    (snn.ALIF(reset="zero"), ["1 (ALIF)", "adaptive threshold"]),
    (snn.LIF(reset="zero", refractory_steps=2), ["1 (LIF)", "refractory period"]),
    (snn.LIF(), ["1 (LIF)", "reset by subtraction", "extensions=True"]),
    (snn.IF(), ["1 (IF)", "reset by subtraction"]),
    (snn.LIF(reset="none"), ["1 (LIF)", "reset='none'"]),
    (snn.RecurrentALIF(4, 4, reset="zero"), ["1 (RecurrentALIF)", "adaptive threshold"]),
])
def test_unsupported_features_raise_naming_module_and_feature(module, words):
    net = snn.Sequential(nn.Linear(4, 4), module)
    with pytest.raises(NIRExportError) as info:
        to_nir(net)
    for word in words:
        assert word in str(info.value)


def test_max_pooling_is_refused_unless_extensions():
    net = snn.Sequential(nn.Conv2d(1, 2, 3), snn.LIF(**ZERO), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(8, 2),
                         snn.LIF(**ZERO))
    with pytest.raises(NIRExportError, match=r"2 \(MaxPool2d\): NIR has no max pooling"):
        to_nir(net, input_shape=[1, 6, 6])


def test_a_conv_network_needs_its_input_shape():
    with pytest.raises(NIRExportError, match="input_shape"):
        to_nir(snn.Sequential(nn.Conv2d(1, 2, 3), snn.LIF(**ZERO)))


def test_extensions_keep_subtract_reset_and_max_pooling(caplog):
    torch.manual_seed(0)
    model = SCNN.preset("digits").eval()  # max pooling, reset by subtraction, BatchNorm
    with caplog.at_level("WARNING"):
        graph = to_nir(model, extensions=True)
    assert "other NIR tools" in caplog.text and "resets by subtraction" in caplog.text
    twin = from_nir(graph)
    folded = snn.Sequential(*(layer.module for layer in network_layers(model)))
    x = torch.rand(4, 3, 1, 8, 8)
    with torch.no_grad():
        assert torch.equal(folded(x)[0], twin(x)[0])
    assert isinstance(twin[2], nn.MaxPool2d) and twin[1].neuron_parameters().reset == "subtract"


# -- what spikeforge cannot import --------------------------------------------------------------

def test_malformed_files_raise_clear_errors(tmp_path):
    junk = tmp_path / "junk.nir"
    junk.write_bytes(b"this is not an HDF5 file")
    with pytest.raises(NIRImportError, match="not a readable NIR file"):
        load_nir(junk)
    good = save_nir(NETS["linear"][0], tmp_path / "good.nir")
    cut = tmp_path / "cut.nir"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(NIRImportError, match="not a readable NIR file"):
        load_nir(cut)
    with pytest.raises(FileNotFoundError):
        load_nir(tmp_path / "missing.nir")


def _graph(*nodes, edges=None):
    named = {"input": nir.Input(input_type=np.array([3]))}
    for i, node in enumerate(nodes):
        named[f"n{i}"] = node
    named["output"] = nir.Output(output_type=np.array([3]))
    keys = list(named)
    edges = edges if edges is not None else list(zip(keys[:-1], keys[1:]))
    return nir.NIRGraph(nodes=named, edges=edges, metadata={}, type_check=False)


def _lif():
    a = np.ones(3, dtype=np.float32)
    return nir.LIF(tau=a * 1e-2, r=a, v_leak=a * 0, v_threshold=a)


def test_unsupported_nodes_are_named():
    with pytest.raises(NIRImportError, match=r"node 'n0' is a NIR Threshold"):
        from_nir(_graph(nir.Threshold(threshold=np.ones(3))))
    a = np.ones(3)
    with pytest.raises(NIRImportError, match=r"CubaLI neuron"):
        from_nir(_graph(nir.CubaLI(tau_syn=a, tau_mem=a, r=a, v_leak=a * 0)))


def test_branching_and_disconnected_graphs_are_refused():
    with pytest.raises(NIRImportError, match="feeds 2 nodes"):
        from_nir(_graph(_lif(), _lif(), edges=[("input", "n0"), ("input", "n1"), ("n0", "output"),
                                               ("n1", "output")]))
    with pytest.raises(NIRImportError, match="not on the path"):
        from_nir(_graph(_lif(), _lif(), edges=[("input", "n0"), ("n0", "output")]))
    with pytest.raises(NIRImportError, match="names a node 'nope'"):
        from_nir(_graph(_lif(), edges=[("input", "n0"), ("n0", "nope")]))


def test_bad_parameters_are_reported_with_the_node():
    a = np.ones(3, dtype=np.float32)
    with pytest.raises(NIRImportError, match="node 'n0'.*NaN"):
        from_nir(_graph(nir.LIF(tau=a * np.nan, r=a, v_leak=a * 0, v_threshold=a)))
    with pytest.raises(NIRImportError, match="node 'n0'"):
        from_nir(_graph(nir.LIF(tau=-a, r=a, v_leak=a * 0, v_threshold=a)))


def test_scalar_parameters_broadcast_and_the_step_is_the_callers():
    a = np.array(0.01, dtype=np.float32)
    graph = _graph(nir.LIF(tau=a, r=np.array(1.0), v_leak=np.array(0.0), v_threshold=np.array(1.0)))
    net = from_nir(graph, dt=1e-4, method="euler")
    assert net[0].dt == 1e-4 and net[0].neuron_parameters().method == "euler"
    out, _ = net(torch.rand(5, 2, 3))
    assert out.shape == (5, 2, 3)


def test_top_level_recurrent_cycle_imports_as_recurrent_layer():
    w_in = np.eye(3, dtype=np.float32)
    w_rec = (np.ones((3, 3)) * 0.1).astype(np.float32)
    nodes = {"input": nir.Input(input_type=np.array([3])), "proj": nir.Linear(weight=w_in), "lif": _lif(),
             "rec": nir.Linear(weight=w_rec), "output": nir.Output(output_type=np.array([3]))}
    edges = [("input", "proj"), ("proj", "lif"), ("lif", "rec"), ("rec", "lif"), ("lif", "output")]
    net = from_nir(nir.NIRGraph(nodes=nodes, edges=edges, metadata={}, type_check=False))
    assert isinstance(net[0], snn.RecurrentLIF)
    assert torch.equal(net[0].recurrent.weight, torch.from_numpy(w_rec))
