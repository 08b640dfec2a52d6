"""Spike losses: known values, gradients, the differentiable first spike time, errors."""

import math

import pytest
import torch
import torch.nn.functional as F

from spikeforge.encoding import (
    CountMSE,
    FirstSpikeTimeLoss,
    MaxMembraneCrossEntropy,
    MeanMembraneCrossEntropy,
    SpikeCountCrossEntropy,
    count_mse,
    first_spike_time,
    first_spike_time_loss,
    max_membrane_cross_entropy,
    mean_membrane_cross_entropy,
    soft_first_spike_time,
    spike_count_cross_entropy,
)
from spikeforge.functional.surrogate import FastSigmoid

from ._data import SPIKES  # [4, 2, 3]; counts [[2, 3, 0], [1, 0, 2]]

TARGET = torch.tensor([1, 0])
REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_spike_count_cross_entropy_is_cross_entropy_on_counts(reduction):
    got = spike_count_cross_entropy(SPIKES, TARGET, reduction=reduction)
    assert torch.allclose(got, F.cross_entropy(SPIKES.sum(0), TARGET, reduction=reduction))
    assert torch.allclose(SpikeCountCrossEntropy(reduction)(SPIKES, TARGET), got)


def test_spike_count_cross_entropy_hand_value_and_gradient():
    spikes = torch.zeros(4, 1, 3)
    spikes[:, 0, 2] = 1.0  # logits [0, 0, 4]
    spikes.requires_grad_(True)
    loss = spike_count_cross_entropy(spikes, torch.tensor([2]))
    assert loss.item() == pytest.approx(math.log(2 + math.exp(4)) - 4, rel=1e-5)  # float32
    loss.backward()
    p = torch.softmax(torch.tensor([0.0, 0.0, 4.0]), 0) - torch.tensor([0.0, 0.0, 1.0])
    assert torch.allclose(spikes.grad, p.expand(4, 1, 3))  # every step gets softmax - onehot


def test_count_mse_hand_values():
    # T = 4: wanted counts 3 (target) / 1 (others); counts [[2,3,0],[1,0,2]], targets [1, 0]
    kw = dict(on_rate=0.75, off_rate=0.25)
    none = count_mse(SPIKES, TARGET, reduction="none", **kw)
    assert none.tolist() == [[1.0, 0.0, 1.0], [4.0, 1.0, 1.0]]
    assert count_mse(SPIKES, TARGET, reduction="sum", **kw).item() == 8.0
    assert count_mse(SPIKES, TARGET, **kw).item() == pytest.approx(8 / 6)
    assert CountMSE(**kw)(SPIKES, TARGET).item() == pytest.approx(8 / 6)


def test_count_mse_gradient_pushes_counts_toward_targets():
    spikes = SPIKES.clone().requires_grad_(True)
    count_mse(spikes, TARGET, on_rate=0.75, off_rate=0.25, reduction="sum").backward()
    # d/ds = 2 (count - wanted) at every step
    assert torch.equal(spikes.grad[0], torch.tensor([[2.0, 0.0, -2.0], [-4.0, -2.0, 2.0]]))


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_membrane_cross_entropies(reduction):
    g = torch.Generator().manual_seed(0)
    v = torch.randn(6, 4, 5, generator=g, requires_grad=True)
    target = torch.tensor([0, 4, 2, 2])
    got_max = max_membrane_cross_entropy(v, target, reduction=reduction)
    got_mean = mean_membrane_cross_entropy(v, target, reduction=reduction)
    assert torch.allclose(got_max, F.cross_entropy(v.amax(0), target, reduction=reduction))
    assert torch.allclose(got_mean, F.cross_entropy(v.mean(0), target, reduction=reduction))
    assert torch.allclose(MaxMembraneCrossEntropy(reduction)(v, target), got_max)
    assert torch.allclose(MeanMembraneCrossEntropy(reduction)(v, target), got_mean)
    (got_max.sum() + got_mean.sum()).backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0


# --- first spike time -----------------------------------------------------------------


def test_soft_first_spike_time_equals_hard_on_binary_spikes():
    g = torch.Generator().manual_seed(0)
    s = (torch.rand(8, 16, 5, generator=g) < 0.15).float()
    s[:, 0] = 0.0  # silent neurons -> T
    assert torch.equal(soft_first_spike_time(s), first_spike_time(s).float())


def test_soft_first_spike_time_gradcheck():
    g = torch.Generator().manual_seed(0)
    s = torch.rand(5, 2, 3, generator=g, dtype=torch.float64).requires_grad_(True)
    assert torch.autograd.gradcheck(soft_first_spike_time, (s,))


def test_first_spike_time_loss_hand_value_and_tau():
    spikes = torch.zeros(5, 1, 2)
    spikes[1, 0, 0] = 1.0
    spikes[3, 0, 1] = 1.0  # first spikes at 1 and 3 -> logits [-1, -3]
    target = torch.tensor([0])
    assert first_spike_time_loss(spikes, target).item() == pytest.approx(math.log1p(math.exp(-2)))
    assert first_spike_time_loss(spikes, target, tau=2.0).item() == pytest.approx(math.log1p(math.exp(-1)))
    assert FirstSpikeTimeLoss(tau=2.0)(spikes, target).item() == pytest.approx(math.log1p(math.exp(-1)))
    # a class that never fires counts as firing at T = 5
    assert first_spike_time_loss(spikes, torch.tensor([1])).item() == pytest.approx(math.log1p(math.exp(2)))


def test_first_spike_time_loss_gradient_wrt_spikes_is_finite_and_nonzero():
    spikes = torch.zeros(6, 2, 3)
    spikes[4, 0, 0] = spikes[1, 0, 1] = spikes[2, 1, 2] = 1.0
    spikes.requires_grad_(True)
    first_spike_time_loss(spikes, torch.tensor([0, 1])).backward()
    grad = spikes.grad
    assert torch.isfinite(grad).all() and grad.abs().sum() > 0
    # firing earlier helps the target (negative gradient before its first spike) ...
    assert bool((grad[:4, 0, 0] < 0).all())
    # ... and a spike of a wrong class before the target's hurts
    assert grad[0, 0, 1] > 0


def test_first_spike_time_loss_step_makes_target_fire_earlier():
    surrogate = FastSigmoid()
    v = torch.full((10, 2, 3), 0.9)
    v[6, :, 0] = v[2, :, 1] = v[4, :, 2] = 1.2  # classes first fire at 6, 2, 4
    v.requires_grad_(True)
    target = torch.tensor([0, 0])
    spikes = surrogate(v - 1.0)
    loss = first_spike_time_loss(spikes, target)
    loss.backward()
    assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0

    v_new = (v - 2.0 * v.grad).detach()
    spikes_new = surrogate(v_new - 1.0)
    t_old, t_new = first_spike_time(spikes.detach()), first_spike_time(spikes_new)
    assert bool((t_new[:, 0] < t_old[:, 0]).all())
    assert first_spike_time_loss(spikes_new, target) < loss


# --- errors ---------------------------------------------------------------------------

LOSSES = [
    spike_count_cross_entropy, count_mse, max_membrane_cross_entropy,
    mean_membrane_cross_entropy, first_spike_time_loss,
]


@pytest.mark.parametrize("loss", LOSSES)
def test_loss_input_errors(loss):
    x = torch.zeros(4, 2, 3)
    with pytest.raises(TypeError, match="int64 tensor of class indices, got dtype torch.float32"):
        loss(x, torch.tensor([0.0, 1.0]))
    with pytest.raises(TypeError, match="target must be a torch.Tensor"):
        loss(x, [0, 1])
    with pytest.raises(ValueError, match=r"target must have shape \[B\] = \(2,\).*\(2, 1\)"):
        loss(x, torch.tensor([[0], [1]]))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\).*\[0, 3\]"):
        loss(x, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match=r"class indices must lie in \[0, 3\)"):
        loss(x, torch.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"exactly 3 dimensions laid out as \[T, B, C\]"):
        loss(torch.zeros(2, 3), TARGET)
    with pytest.raises(ValueError, match="at least one time step"):
        loss(torch.zeros(0, 2, 3), TARGET)
    with pytest.raises(TypeError, match="floating-point"):
        loss(x.long(), TARGET)
    with pytest.raises(ValueError, match="NaN or Inf"):
        loss(torch.full((4, 2, 3), float("nan")), TARGET)
    with pytest.raises(ValueError, match="reduction must be one of 'mean', 'sum', 'none'"):
        loss(x, TARGET, reduction="avg")


def test_loss_parameter_errors():
    with pytest.raises(ValueError, match=r"on_rate must lie in \[0, 1\]"):
        count_mse(SPIKES, TARGET, on_rate=1.5)
    with pytest.raises(ValueError, match=r"off_rate must lie in \[0, 1\]"):
        CountMSE(off_rate=-0.1)
    with pytest.raises(ValueError, match="tau must be positive"):
        first_spike_time_loss(SPIKES, TARGET, tau=0.0)
    with pytest.raises(ValueError, match="tau must be positive"):
        FirstSpikeTimeLoss(tau=-1.0)
    with pytest.raises(ValueError, match="reduction must be one of"):
        SpikeCountCrossEntropy(reduction="avg")


def test_module_repr():
    assert "reduction='sum'" in repr(SpikeCountCrossEntropy("sum"))
    assert "on_rate=0.9, off_rate=0.1" in repr(CountMSE(0.9, 0.1))
    assert "tau=2.0" in repr(FirstSpikeTimeLoss(2.0))
