"""Objectives: losses from spikeforge.encoding, predictions, counts, per-step labels."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from spikeforge.encoding import max_membrane_cross_entropy, mean_membrane_cross_entropy, spike_count_cross_entropy
from spikeforge.learning import OBJECTIVES, PerStepCrossEntropy, objective_from_name


@pytest.fixture
def out():
    return torch.randn(7, 5, 4, generator=torch.Generator().manual_seed(0))


def test_sequence_objectives_match_the_encoding_losses(out):
    y = torch.tensor([0, 1, 2, 3, 0])
    assert torch.equal(objective_from_name("mean_membrane").loss(out, y), mean_membrane_cross_entropy(out, y))
    assert torch.equal(objective_from_name("max_membrane").loss(out, y), max_membrane_cross_entropy(out, y))
    spikes = (out > 0).float()
    assert torch.equal(objective_from_name("spike_count").loss(spikes, y), spike_count_cross_entropy(spikes, y))
    assert torch.equal(objective_from_name("last_membrane").loss(out, y), F.cross_entropy(out[-1], y))
    assert objective_from_name("count_mse", on_rate=0.5).loss(spikes, y) >= 0


@pytest.mark.parametrize("name,reduce", [("mean_membrane", lambda o: o.mean(0)), ("max_membrane", lambda o: o.amax(0)),
                                         ("spike_count", lambda o: o.sum(0)), ("last_membrane", lambda o: o[-1])])
def test_predictions_and_correct_counts(out, name, reduce):
    objective = objective_from_name(name)
    pred = reduce(out).argmax(1)
    right, counted = objective.correct(out, pred)
    assert (right, counted) == (5, 5)
    assert objective.correct(out, (pred + 1) % 4) == (0, 5)
    assert objective.count(pred) == 5 and not objective.per_step


def test_per_step_cross_entropy_burn_in_and_ignore_index(out):
    y = torch.randint(0, 4, (7, 5), generator=torch.Generator().manual_seed(1))
    objective = PerStepCrossEntropy(burn_in=2)
    prepared = objective.prepare_target(y)
    assert (prepared[:2] == -100).all() and torch.equal(prepared[2:], y[2:])
    assert torch.equal(y, y.clone())  # the input labels are not modified
    expected = F.cross_entropy(out[2:].flatten(0, 1), y[2:].flatten())
    assert torch.allclose(objective.loss(out, prepared), expected)
    assert objective.count(prepared) == 25
    right, counted = objective.correct(out, prepared)
    assert counted == 25 and right == int((out[2:].argmax(-1) == y[2:]).sum())
    with pytest.raises(ValueError, match=r"one label per time step, \[T, B\]"):
        objective.prepare_target(y[0])
    with pytest.raises(ValueError, match="burn_in must be a non-negative integer"):
        PerStepCrossEntropy(burn_in=-1)


def test_names_parameters_and_errors():
    assert set(OBJECTIVES) == {"mean_membrane", "max_membrane", "last_membrane", "spike_count", "count_mse", "per_step"}
    assert objective_from_name("per-step", burn_in=3).config() == {"name": "per_step", "burn_in": 3, "ignore_index": -100}
    assert objective_from_name("mean_membrane").config() == {"name": "mean_membrane"}
    with pytest.raises(ValueError, match="unknown objective 'mse'; known: mean_membrane"):
        objective_from_name("mse")
    with pytest.raises(ValueError, match="takes no parameter 'burn_in'; valid: \\(none\\)"):
        objective_from_name("mean_membrane", burn_in=3)
