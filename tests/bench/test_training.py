"""The training-throughput benchmark: the spikeforge network is the tutorial's, hoisting changes nothing."""

import argparse
import json

import pytest
import torch

from spikeforge.bench import training
from tests.data._shared import MNIST_DIR, require


def _twin_nets(num_steps: int = 4):
    torch.manual_seed(1)
    hoisted = training.TutorialSCNN(num_steps, hoist=True, backend="torch")
    with torch.no_grad():  # stronger weights than the default init, so that every layer spikes
        for p in hoisted.parameters():
            p.mul_(3.0)
    repeated = training.TutorialSCNN(num_steps, hoist=False, backend="torch")
    repeated.load_state_dict(hoisted.state_dict())
    return hoisted, repeated


def test_hoisting_the_first_convolution_gives_the_same_spikes_and_gradients():
    hoisted, repeated = _twin_nets()
    out = _assert_same_spikes_and_gradients(hoisted, repeated)
    assert out.shape == (4, 3, 10)


def _assert_same_spikes_and_gradients(first, second):
    """Both nets see the same strong images (every layer spikes); the output spikes are
    equal and so is every parameter's gradient, up to float32 summation order."""
    images = torch.rand(3, 1, 28, 28) * 4
    outs = []
    for net in (first, second):
        out = net(images)
        (out * torch.arange(10.0)).sum().backward()
        outs.append(out)
    assert outs[0].sum() > 0, "the test needs output spikes to compare"
    torch.testing.assert_close(outs[0], outs[1])
    for (name, a), (_, b) in zip(first.named_parameters(), second.named_parameters()):
        assert a.grad is not None and a.grad.abs().sum() > 0, name
        scale = float(b.grad.abs().max())
        # the two layouts run different oneDNN convolution algorithms (which ones depends on
        # the CPU: on an AVX2 AMD EPYC a few sums of ~40k terms differed by 3.6e-5 of the
        # largest gradient); a layout mistake would differ by O(1) of it
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-4, atol=1e-4 * scale, msg=name)
    return outs[0]


@pytest.mark.parametrize("backend", ["torch", "cpu"])
def test_the_channels_last_layout_gives_the_same_spikes_and_gradients(backend):
    if backend == "cpu":
        pytest.importorskip("numba")
    torch.manual_seed(1)
    nets = [training.TutorialSCNN(4, backend=backend, channels_last=layout) for layout in (True, False)]
    with torch.no_grad():
        for p in nets[0].parameters():
            p.mul_(3.0)
    nets[1].load_state_dict(nets[0].state_dict())
    assert nets[0].body[1].weight.is_contiguous(memory_format=torch.channels_last)
    _assert_same_spikes_and_gradients(*nets)


def test_the_neuron_is_snntorchs_tutorial_update():
    """U_t = 0.5 U_{t-1} + I_t - S_{t-1}: a constant current of 0.6 spikes at steps 3 and 6."""
    lif = training._spikeforge_lif("torch")
    out = lif(torch.full((6, 1, 1), 0.6))
    if isinstance(out, tuple):
        out = out[0]
    # U: 0.6, 0.9, 1.05 (spike; minus 1: 0.05), 0.625, 0.9125, 1.05625 (spike)
    assert out.flatten().tolist() == [0.0, 0.0, 1.0, 0.0, 0.0, 1.0]


def test_a_training_step_lowers_the_loss_on_a_repeated_batch():
    torch.manual_seed(0)
    step = training.spikeforge_step(4, backend="torch")
    images, labels = torch.rand(16, 1, 28, 28) * 4, torch.arange(16) % 10
    losses = [step(images, labels) for _ in range(15)]
    assert losses[-1] < losses[0] - 0.1


def test_unknown_library_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown library 'brian'"):
        training.build_step("brian", 4)


def test_the_command_measures_spikeforge_on_mnist(tmp_path, capsys):
    root = require(MNIST_DIR)
    parser = argparse.ArgumentParser()
    training.add_arguments(parser)
    out = tmp_path / "rows.json"
    args = parser.parse_args(["--libraries", "spikeforge", "--data-dir", str(root), "--batch-size", "8",
                              "--num-steps", "3", "--batches", "2", "--warmup", "0", "--json", str(out)])
    assert training.run(args) == 0
    rows = json.loads(out.read_text())
    assert rows[0]["library"] == "spikeforge" and rows[0]["images_per_s"] > 0
    assert "| spikeforge |" in capsys.readouterr().out
