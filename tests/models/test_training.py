"""A few Adam steps on a toy separable problem must reduce the loss (fails if gradients break)."""

import torch
import torch.nn.functional as F

from spikeforge.encoding import mean_membrane_cross_entropy, spike_count_cross_entropy
from spikeforge.models import SCNN, SRNN


def _fit(model, x, loss_fn, steps, lr):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = loss_fn(model(x)[0])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def _bars(n, generator):
    """8x8 images with a bright bar in the left (class 0) or the right (class 1) half."""
    y = torch.arange(n) % 2
    x = 0.2 * torch.rand(n, 1, 8, 8, generator=generator)
    x[y == 0, :, :, 1:3] += 0.8
    x[y == 1, :, :, 5:7] += 0.8
    return x, y


def test_scnn_adam_steps_reduce_the_loss():
    torch.manual_seed(0)
    x, y = _bars(32, torch.Generator().manual_seed(0))
    model = SCNN(input_shape=[1, 8, 8], num_classes=2, channels=[4], num_steps=3)
    losses = _fit(model, x, lambda out: mean_membrane_cross_entropy(out, y), steps=15, lr=1e-2)
    assert losses[-1] < 0.5 * losses[0], losses


def test_scnn_spiking_readout_adam_steps_reduce_the_loss():
    torch.manual_seed(0)
    x, y = _bars(32, torch.Generator().manual_seed(1))
    model = SCNN(input_shape=[1, 8, 8], num_classes=2, channels=[4], num_steps=4, readout="spiking")
    losses = _fit(model, x, lambda out: spike_count_cross_entropy(out, y), steps=15, lr=1e-2)
    assert losses[-1] < 0.6 * losses[0], losses


def test_srnn_adam_steps_reduce_the_per_step_loss():
    # the class is which of two input channels carries the spikes; classified at every step
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    y = torch.arange(16) % 2
    x = torch.zeros(20, 16, 2)
    x[:, y == 0, 0] = (torch.rand(20, 8, generator=g) < 0.5).float()
    x[:, y == 1, 1] = (torch.rand(20, 8, generator=g) < 0.5).float()
    model = SRNN(input_size=2, num_classes=2, hidden_sizes=[8], readout="alif-membrane", v_threshold=0.05)

    def per_step_loss(out):
        return F.cross_entropy(out.flatten(0, 1) * 20, y.repeat(20))

    losses = _fit(model, x, per_step_loss, steps=20, lr=2e-2)
    assert losses[-1] < 0.5 * losses[0], losses
