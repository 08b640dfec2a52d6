"""Diehl & Cook network: fused kernel == plain-torch reference, resume, a short run that learns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spikeforge.models import DiehlCook, build_model
from spikeforge.models._diehl_cook_reference import reference_train, simulate
from spikeforge.models.diehl_cook import as_pixels, assign_labels, vote

pytest.importorskip("numba")
from spikeforge.kernels.cpu import stdp_diehl_cook as K  # noqa: E402

SMALL = dict(n_neurons=12, t_present=0.02, t_rest=0.01, t_settle=0.004, max_rate=400.0, seed=3)


def _images(n: int, seed: int = 0) -> torch.Tensor:
    """Digit-like uint8 images: a random stroke pattern per image."""
    g = torch.Generator().manual_seed(seed)
    x = torch.zeros(n, 28, 28)
    for k in range(n):
        rows = torch.randint(6, 22, (3,), generator=g)
        x[k, rows.min():rows.max() + 1, 10:18] = 1.0
        x[k, 8:20, int(torch.randint(6, 22, (1,), generator=g))] = 1.0
    return (x * 255).to(torch.uint8)


def _events(model: DiehlCook, images: torch.Tensor, epoch: int = 0):
    """The kernel's own Poisson draws, as CSR for training and as dense trains for the reference."""
    c = model.config
    steps = model.steps(c["t_present"])
    pixels = as_pixels(images, 784)
    ptrs, idxs, trains, offset = [], [], [], 0
    for k in range(len(pixels)):
        ptr, idx = K.draw_events(pixels[k].numpy(), c["max_rate"] / 255.0, c["dt"], steps, c["seed"], epoch, k)
        ptrs.append(torch.from_numpy(ptr) + offset)
        idxs.append(torch.from_numpy(idx))
        offset += len(idx)
        x = torch.zeros(steps, 784)
        for s in range(steps):
            x[s, idx[ptr[s]:ptr[s + 1]]] = 1.0
        trains.append(x)
    return (torch.stack(ptrs), torch.cat(idxs)), trains


CONFIGS = [
    ("paper", {}),
    ("paper", {"inhibition": "direct", "pairing": "all_to_all", "a2_plus": 1e-3, "a3_minus": 1e-3}),
    ("paper", {"weight_dependence": "multiplicative", "mu": 0.5, "a2_plus": 5e-3, "method": "euler"}),
    ("offset", {}),
    ("bindsnet", {"t_rest": 0.0, "t_settle": 0.0, "max_rate": 600.0}),
    ("bindsnet", {"inhibition": "none", "reset_between": False, "t_rest": 0.005}),
]


@pytest.mark.parametrize("preset,extra", CONFIGS, ids=[f"{p}-{i}" for i, (p, _) in enumerate(CONFIGS)])
def test_fused_training_matches_the_plain_torch_reference(preset, extra):
    kw = {**SMALL, **extra}
    fused, ref = DiehlCook.preset(preset, **kw), DiehlCook.preset(preset, **kw)
    images = _images(5)
    events, trains = _events(fused, images)
    counts, state = fused.train_images(images, events=events)
    ref_counts, ref_state = reference_train(ref, trains)
    assert counts.sum() > 0
    torch.testing.assert_close(counts, ref_counts, rtol=0, atol=0)
    torch.testing.assert_close(fused.weight, ref.weight, rtol=0, atol=1e-6)
    torch.testing.assert_close(fused.theta, ref.theta, rtol=0, atol=1e-5)
    torch.testing.assert_close(state.neurons, ref_state.neurons, rtol=1e-5, atol=1e-4)
    assert torch.equal(state.refractory, ref_state.refractory) and state.step == ref_state.step
    assert not torch.equal(fused.weight, DiehlCook.preset(preset, **kw).weight)  # it learned


def test_parallel_inference_matches_the_reference_on_the_same_input():
    model = DiehlCook(**{**SMALL, "min_spikes": 0})
    images = _images(6, seed=1)
    model.train_images(images)  # some learning, so that the weights are not uniform
    counts = model.respond(images, threads=2)
    _, trains = _events(model, images)
    for k, x in enumerate(trains):
        spikes, _ = simulate(model, x[:, None])
        assert torch.equal(spikes.sum(0)[0].to(torch.int32), counts[k])


def test_chunks_and_state_continue_exactly():
    images = _images(9, seed=2)
    whole = DiehlCook(**SMALL)
    whole.train_images(images)
    parts = DiehlCook(**SMALL)
    state = None
    for lo in (0, 4, 7):
        hi = {0: 4, 4: 7, 7: 9}[lo]
        _, state = parts.train_images(images[lo:hi], state=state, indices=torch.arange(lo, hi), chunk=2)
    assert torch.equal(whole.weight, parts.weight) and torch.equal(whole.theta, parts.theta)


def test_retries_raise_the_input_until_enough_spikes():
    model = DiehlCook(**{**SMALL, "max_rate": 20.0, "rate_step": 200.0, "min_spikes": 3})
    model.train_images(_images(3))
    assert int(model.last_tries.max()) >= 1
    model = DiehlCook(**{**SMALL, "max_rate": 20.0, "rate_step": 200.0, "min_spikes": 3, "max_retries": 0})
    model.train_images(_images(3))
    assert int(model.last_tries.max()) == 0


def test_assignment_and_voting():
    counts = torch.tensor([[5, 0, 1], [4, 1, 0], [0, 6, 2], [0, 5, 0]])
    labels = torch.tensor([0, 0, 1, 1])
    assignments, rates = assign_labels(counts, labels, num_classes=3)
    assert assignments.tolist() == [0, 1, 1]
    assert rates[0].tolist() == [4.5, 0.5, 0.5]
    assert vote(torch.tensor([[3, 0, 0], [0, 1, 4]]), assignments, 3).tolist() == [0, 1]
    assert assign_labels(torch.zeros(2, 2), torch.tensor([0, 1]))[0].tolist() == [-1, -1]


def test_a_short_run_learns_diverse_receptive_fields_and_beats_chance():
    """A few hundred MNIST-like images (stripes at 4 orientations x 2 positions, 8 classes)."""
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 8, (700,), generator=g)
    images = torch.zeros(700, 28, 28)
    for k, c in enumerate(labels.tolist()):
        o, p = divmod(c, 2)
        r = 6 + 12 * p + int(torch.randint(-1, 2, (1,), generator=g))
        if o == 0:
            images[k, r:r + 4, 4:24] = 1
        elif o == 1:
            images[k, 4:24, r:r + 4] = 1
        else:
            idx = torch.arange(4, 24)
            for w in range(4):
                cols = idx + (w - 8 + 12 * p) if o == 2 else 27 - idx - (w - 8 + 12 * p)
                keep = (cols >= 0) & (cols < 28)
                images[k, idx[keep], cols[keep]] = 1
    model = DiehlCook(n_neurons=30, t_present=0.1, t_rest=0.05, seed=1, num_classes=8)
    model.train_images(images[:400])
    w = model.weight - model.weight.mean(1, keepdim=True)
    w = w / w.norm(dim=1, keepdim=True)
    similarity = (w @ w.t())[~torch.eye(30, dtype=torch.bool)]
    assert float(similarity.mean()) < 0.6  # receptive fields are not all alike
    model.assign(model.respond(images[400:550]), labels[400:550])
    accuracy = float((model.predict(model.respond(images[550:], offset=1000)) == labels[550:]).float().mean())
    assert accuracy > 0.5  # chance is 1/8


def test_config_round_trip_and_presets():
    model = build_model("diehl_cook", preset="bindsnet", n_neurons=7)
    twin = build_model("diehl_cook", **model.config)
    twin.load_state_dict(model.state_dict())
    assert torch.equal(twin.weight, model.weight) and twin.config["synapse"] == "current"
    assert model.steps(model.config["t_present"]) == 250 and DiehlCook().steps(0.35) == 700


@pytest.mark.parametrize("kwargs,message", [
    ({"synapse": "chemical"}, "synapse must be one of"),
    ({"inhibition": "global"}, "inhibition must be one of"),
    ({"dt": 0.0}, "dt must be a positive number"),
    ({"a3_plus": -1.0}, "a3_plus must be a non-negative"),
    ({"max_rate": 3000.0}, "max_rate \\* dt must be at most 1"),
    ({"v_threshold": -70.0}, "v_threshold must be above v_reset"),
    ({"method": "euler", "dt": 2e-3}, "needs dt below every time constant"),
])
def test_bad_settings_raise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        DiehlCook(**kwargs)


def test_bad_inputs_raise():
    model = DiehlCook(n_neurons=4)
    with pytest.raises(ValueError, match="784 pixels each"):
        model.respond(torch.zeros(2, 27, 27))
    with pytest.raises(ValueError, match="within \\[0, 1\\]"):
        model.respond(torch.full((2, 784), 2.0))
    with pytest.raises(RuntimeError, match="call assign"):
        model.predict(torch.zeros(2, 4))
    with pytest.raises(ValueError, match="input spikes \\[T, B, 784\\]"):
        model(torch.zeros(3, 784))
    assert np.all(as_pixels(torch.ones(1, 784), 784).numpy() == 255)


# --- MNIST: a short run, and the recipe with its phases and exact resume ------------------------

def _mnist():
    from tests.data._shared import MNIST_DIR, SHARED_DATA, require

    require(MNIST_DIR)
    from spikeforge.data import MNIST

    return SHARED_DATA, MNIST(root=SHARED_DATA, train=True), MNIST(root=SHARED_DATA, train=False)


def test_a_short_mnist_run_learns_diverse_fields_and_beats_chance():
    """Diehl & Cook's own settings, 100 neurons, 400 training images (200 s of network time)."""
    _, train, test = _mnist()
    model = DiehlCook(n_neurons=100)
    model.train_images(train.data[:400])
    w = model.weight - model.weight.mean(1, keepdim=True)
    w = w / w.norm(dim=1, keepdim=True)
    assert float((w @ w.t())[~torch.eye(100, dtype=torch.bool)].mean()) < 0.5
    model.assign(model.respond(train.data[400:1400]), train.targets[400:1400])
    accuracy = float((model.predict(model.respond(test.data[:1000])) == test.targets[:1000]).float().mean())
    assert accuracy > 0.3  # chance is 0.1; about 0.5 here


def test_recipe_runs_its_phases_and_resumes_exactly(tmp_path, monkeypatch):
    from spikeforge.models import plasticity_run
    from spikeforge.recipes import load_recipe

    root, _, _ = _mnist()
    recipe = load_recipe("stdp-mnist", ["data.limit=600", "model.n_neurons=16"])
    job = {"recipe": recipe, "data_dir": str(root), "report": True, "resume": False}
    whole = plasticity_run.run_recipe({**job, "out": str(tmp_path / "whole")})
    assert (tmp_path / "whole" / "receptive_fields.png").is_file() and 0.1 < whole["test_accuracy"] <= 1
    assert "test accuracy" in (tmp_path / "whole" / "report.txt").read_text()

    monkeypatch.setattr(plasticity_run, "CHECKPOINT_IMAGES", 200)
    calls = {"n": 0}
    original = DiehlCook.train_images

    def interrupted(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(DiehlCook, "train_images", interrupted)
    with pytest.raises(KeyboardInterrupt):
        plasticity_run.run_recipe({**job, "out": str(tmp_path / "cut")})
    monkeypatch.setattr(DiehlCook, "train_images", original)
    resumed = plasticity_run.run_recipe({**job, "out": str(tmp_path / "cut"), "resume": True})
    a = torch.load(tmp_path / "whole" / "checkpoint.pt", weights_only=True)
    b = torch.load(tmp_path / "cut" / "checkpoint.pt", weights_only=True)
    assert torch.equal(a["model"]["weight"], b["model"]["weight"]) and b["finished"]
    assert resumed["test_accuracy"] == whole["test_accuracy"]


def test_cli_trains_the_stdp_recipe(tmp_path):
    import contextlib
    import io

    from spikeforge.cli import main

    root, _, _ = _mnist()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", "stdp-mnist", "--data-dir", str(root), "--out", str(tmp_path), "--no-report",
                     "--set", "data.limit=300", "--set", "model.n_neurons=10", "--set", "model.t_present=0.05"])
    assert code == 0 and "assignment on 300 training images" in out.getvalue() and "test accuracy" in out.getvalue()
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["finished"]
    # 'spikeforge eval' gives the accuracy the run printed (same seeded test input)
    printed = float(out.getvalue().split("test accuracy ")[1].split("%")[0])
    again = io.StringIO()
    with contextlib.redirect_stdout(again):
        code = main(["eval", str(tmp_path / "checkpoint.pt"), "--data-dir", str(root)])
    assert code == 0 and f"test accuracy {printed:.2f}%" in again.getvalue()
