"""BP-STDP: the equations, the rule on nn.Linear, the fused network == the rule, a short run learns."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikeforge.functional.bp_stdp import bp_stdp_changes, hidden_error, output_error, target_train
from spikeforge.learning.bp_stdp import BPSTDP
from spikeforge.models import BPSTDPNet, build_model
from spikeforge.models._bp_stdp_reference import reference_train, simulate
from spikeforge.models.diehl_cook import as_pixels


def test_output_error_is_the_teacher_signal():
    target = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    window = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 3.0], [1.0, 1.0, 1.0]])
    xi = output_error(target, window)
    # sample 0: target silent -> +1, a wrong one fired -> -1; sample 1: target fired -> 0;
    # sample 2: no desired spike at this step -> no update at all
    assert xi.tolist() == [[-1.0, 1.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.0, 0.0]]


def test_changes_follow_the_equations():
    xi = torch.tensor([[1.0, -1.0]])
    w_out = torch.tensor([[0.5, -2.0, 1.0], [0.25, 1.0, 3.0]])     # [C=2, H=3]
    hidden_window = torch.tensor([[2.0, 0.0, 1.0]])
    input_window = torch.tensor([[1.0, 3.0]])
    delta = hidden_error(xi, w_out, hidden_window)
    assert delta.tolist() == [[0.25, 0.0, -2.0]]                  # (xi @ W) where the neuron fired
    target = torch.tensor([[1.0, 0.0]])
    out_window = torch.tensor([[0.0, 4.0]])
    w_hid = torch.zeros(3, 2)
    dw_hid, dw_out = bp_stdp_changes(target, [input_window, hidden_window, out_window], [w_hid, w_out], lr=0.1)
    torch.testing.assert_close(dw_out, 0.1 * xi.t() @ hidden_window)
    torch.testing.assert_close(dw_hid, 0.1 * delta.t() @ input_window)


def test_target_train_fires_every_period():
    z = target_train(torch.tensor([2, 0]), 3, 10, 4)
    assert z.shape == (10, 2, 3)
    assert z[:, 0, 2].nonzero().flatten().tolist() == [3, 7] and z[:, 1, 0].sum() == 2 and z[:, :, 1].sum() == 0


def _layers(seed=0):
    torch.manual_seed(seed)
    return [nn.Linear(6, 5, bias=False).double(), nn.Linear(5, 4, bias=False).double(),
            nn.Linear(4, 3, bias=False).double()]


def test_rule_sequence_equals_steps_and_sgd_applies_it():
    g = torch.Generator().manual_seed(1)
    spikes = [(torch.rand(20, 2, n, generator=g) < 0.4).double() for n in (6, 5, 4, 3)]
    layers = _layers()
    rule = BPSTDP(layers, lr=0.01, epsilon=3, target_rate=250.0)
    target = rule.target(torch.tensor([1, 2]), 20).double()
    rule.sequence(spikes, target)
    seq = [l.weight.grad.clone() for l in layers]
    assert any(float(s.abs().max()) > 0 for s in seq)
    layers2 = _layers()
    rule2 = BPSTDP(layers2, lr=0.01, epsilon=3)
    state = None
    for t in range(20):
        state = rule2.step([s[t] for s in spikes], target[t], state)
    for a, b in zip(seq, (l.weight.grad for l in layers2)):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def _draws(model, images, labels):
    from spikeforge.kernels.cpu import stdp_diehl_cook as KD

    c, steps = model.config, model.config["num_steps"]
    pixels = as_pixels(images, 784)
    ptrs, idxs, trains, offset = [], [], [], 0
    for k in range(len(pixels)):
        ptr, idx = KD.draw_events(pixels[k].numpy(), c["input_rate"] / 255.0, c["dt"], steps, c["seed"], 0, k)
        ptrs.append(torch.from_numpy(ptr) + offset)
        idxs.append(torch.from_numpy(idx))
        offset += len(idx)
        x = torch.zeros(steps, 784)
        for s in range(steps):
            x[s, idx[ptr[s]:ptr[s + 1]]] = 1.0
        trains.append(x)
    return (torch.stack(ptrs), torch.cat(idxs)), trains


def _stripes(n, seed=0):
    """Four classes of 28x28 images: a bar at one of four places."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 4, (n,), generator=g)
    x = torch.zeros(n, 28, 28)
    for k, c in enumerate(labels.tolist()):
        shift = int(torch.randint(-1, 2, (1,), generator=g))
        if c < 2:
            x[k, 5 + 12 * c + shift:9 + 12 * c + shift, 4:24] = 1.0
        else:
            x[k, 4:24, 5 + 12 * (c - 2) + shift:9 + 12 * (c - 2) + shift] = 1.0
    return (x * 255).to(torch.uint8), labels


@pytest.mark.parametrize("hidden", [[20], [16, 12]])
def test_fused_training_equals_the_rule_on_nn_linear(hidden):
    pytest.importorskip("numba")
    kw = dict(hidden_sizes=hidden, num_classes=4, num_steps=24, seed=1, init_std=3.0, lr=0.01)
    fused, ref = BPSTDPNet(**kw), BPSTDPNet(**kw)
    images, labels = _stripes(6)
    events, trains = _draws(fused, images, labels)
    counts = fused.train_images(images, labels, events=events)
    ref_counts = reference_train(ref, trains, labels)
    assert torch.equal(counts, ref_counts) and counts.sum() > 0
    for a, b, init in zip(fused.weights, ref.weights, BPSTDPNet(**kw).weights):
        # the error sent down to a lower layer is a matrix product in the rule (torch: MKL,
        # whose kernels and summation order depend on the CPU; on an AVX-512 Xeon the first
        # of two hidden layers differed from the kernel's loop by one float32 ulp in 3 % of
        # its weights), so the weights agree to rounding, the spikes exactly
        torch.testing.assert_close(a, b, rtol=0, atol=1e-6)
        assert (a - init).abs().max() > 1e-3  # and they learned


def test_parallel_inference_matches_the_reference():
    pytest.importorskip("numba")
    model = BPSTDPNet(hidden_sizes=[20], num_classes=4, num_steps=20, init_std=3.0)
    images, labels = _stripes(5, seed=3)
    counts = model.respond(images)
    _, trains = _draws(model, images, labels)
    for k, x in enumerate(trains):
        out, _ = simulate(model, x[:, None])
        assert torch.equal(out.sum(0)[0].to(torch.int32), counts[k])


def test_a_short_run_learns():
    pytest.importorskip("numba")
    images, labels = _stripes(600, seed=5)
    model = BPSTDPNet(hidden_sizes=[50], num_classes=4, num_steps=30, init_std=3.0, lr=2e-3)
    before = float((model.predict(images[400:]) == labels[400:]).float().mean())
    model.train_images(images[:400], labels[:400])
    after = float((model.predict(images[400:]) == labels[400:]).float().mean())
    assert after > 0.9 and after > before


def test_config_round_trip_and_errors():
    model = build_model("bp_stdp_mlp", preset="mnist-2layer", num_steps=10)
    twin = build_model("bp_stdp_mlp", **model.config)
    twin.load_state_dict(model.state_dict())
    assert model.sizes == [784, 500, 10] and model.thresholds == [0.9, 12.5] and model.period == 4
    with pytest.raises(ValueError, match="lr must be a positive"):
        BPSTDPNet(lr=0.0)
    with pytest.raises(ValueError, match="labels must lie in"):
        BPSTDPNet(hidden_sizes=[5], num_steps=2).train_images(torch.zeros(2, 784), torch.tensor([0, 12]))
    with pytest.raises(ValueError, match="input spikes \\[T, B, 784\\]"):
        model(torch.zeros(2, 784))
    with pytest.raises(TypeError, match="nn.Linear"):
        BPSTDP([nn.ReLU()])
    with pytest.raises(ValueError, match="do not chain"):
        BPSTDP([nn.Linear(3, 4), nn.Linear(5, 2)])
    rule = BPSTDP([nn.Linear(3, 2)])
    with pytest.raises(ValueError, match="need the spikes of the input"):
        rule.step([torch.zeros(1, 3)], torch.zeros(1, 2))
    with pytest.raises(ValueError, match=r"spikes\[1\] must be \[B, 2\]"):
        rule.step([torch.zeros(1, 3), torch.zeros(1, 4)], torch.zeros(1, 2))


def test_bp_stdp_recipe_resumes_exactly(tmp_path):
    pytest.importorskip("numba")
    from tests.data._shared import MNIST_DIR, SHARED_DATA, require

    require(MNIST_DIR)
    from spikeforge.models import plasticity_run
    from spikeforge.recipes import load_recipe

    recipe = load_recipe("bpstdp-mnist", ["data.limit=600", "model.hidden_sizes=[40]", "model.num_steps=20",
                                          "train.epochs=2"])
    job = {"recipe": recipe, "data_dir": str(SHARED_DATA), "report": False, "resume": False}
    whole = plasticity_run.run_recipe({**job, "out": str(tmp_path / "whole")})
    assert whole["test_accuracy"] > 0.15  # above chance (0.1) after 1,200 images
    first = load_recipe("bpstdp-mnist", ["data.limit=600", "model.hidden_sizes=[40]", "model.num_steps=20",
                                         "train.epochs=1"])
    plasticity_run.run_recipe({**job, "recipe": first, "out": str(tmp_path / "cut")})
    resumed = plasticity_run.run_recipe({**job, "out": str(tmp_path / "cut"), "resume": True})
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a) and resumed["test_accuracy"] == whole["test_accuracy"]
    # the checkpoint evaluates to the accuracy the run reported (same seeded test input)
    import contextlib
    import io

    from spikeforge.cli.main import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["eval", str(tmp_path / "whole" / "checkpoint.pt"), "--data-dir", str(SHARED_DATA)])
    assert code == 0 and f"test accuracy {whole['test_accuracy']:.2%}" in out.getvalue()
