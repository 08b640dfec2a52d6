"""The moving average of the weights: its equation, the swap for evaluation, checkpoints and resume."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spikeforge.learning import TrainConfig, Trainer, WeightAverage, evaluate, load_checkpoint
from spikeforge.learning.checkpoint import evaluation_weights

from ._toys import ToyImages, toy_model, weights

CONFIG = {"epochs": 2, "batch_size": 16, "seed": 3, "weight_average": 0.9,
          "optimizer": {"name": "adam", "lr": 5e-2}, "checkpoint_every": 3}


def test_the_average_follows_its_equation_with_the_warm_up():
    net = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(1.0)
    average = WeightAverage(net, decay=0.5)
    expected = torch.ones(1, 2)
    for n, value in enumerate([3.0, -2.0, 7.0, 0.5], start=1):
        with torch.no_grad():
            net.weight.fill_(value)
        average.update(net)
        delta = min(0.5, (1 + n) / (10 + n))
        expected = delta * expected + (1 - delta) * value
        assert torch.allclose(average.shadow["weight"], expected), n
    assert average.updates == 4


def test_applied_swaps_the_average_in_and_restores_the_weights_even_after_an_error():
    net = nn.Linear(3, 2)
    own = weights(net)
    average = WeightAverage(net, decay=0.99)
    with torch.no_grad():
        average.shadow["weight"].add_(5.0)
    with average.applied(net):
        assert torch.equal(net.weight, own["weight"] + 5.0) and torch.equal(net.bias, own["bias"])
    assert torch.equal(net.weight, own["weight"])
    with pytest.raises(RuntimeError, match="boom"):
        with average.applied(net):
            raise RuntimeError("boom")
    assert torch.equal(net.weight, own["weight"])


@pytest.mark.parametrize("decay", [0, 1, 1.5, -0.1, float("nan"), "0.9", True])
def test_an_impossible_decay_is_refused_by_name(decay):
    with pytest.raises(ValueError, match="weight_average"):
        TrainConfig(weight_average=decay)


def build(out_dir, model_seed=0, callbacks=()):
    return Trainer(toy_model(model_seed), ToyImages(64), test_data=ToyImages(32, seed=9), config=CONFIG,
                   out_dir=out_dir, callbacks=callbacks)


def test_the_trainer_evaluates_and_saves_the_average_not_the_last_weights(tmp_path):
    trainer = build(tmp_path)
    trainer.fit()
    state = load_checkpoint(tmp_path / "checkpoint.pt")
    averaged = evaluation_weights(state)
    assert averaged is state["averaged_model"] and state["weight_average"]["updates"] == trainer.global_step == 8
    last = weights(trainer.model)
    assert any(not torch.equal(averaged[k], last[k]) for k in last)  # the two differ after 8 Adam steps
    twin = toy_model(1)
    twin.load_state_dict(averaged)
    expected = evaluate(twin, ToyImages(32, seed=9), trainer.objective, batch_size=16)
    assert trainer.metrics[-1]["test_loss"] == pytest.approx(expected["loss"], rel=1e-6)
    assert trainer.evaluate()["loss"] == pytest.approx(expected["loss"], rel=1e-6)
    twin.load_state_dict(last)
    own = evaluate(twin, ToyImages(32, seed=9), trainer.objective, batch_size=16)
    assert trainer.metrics[-1]["test_loss_last"] == pytest.approx(own["loss"], rel=1e-6)  # both are logged
    assert trainer.metrics[-1]["test_accuracy_last"] == own["accuracy"]
    assert all(torch.equal(v, weights(trainer.model)[k]) for k, v in last.items())  # evaluation restored them


def test_a_killed_run_resumes_with_the_same_average(tmp_path):
    reference = build(tmp_path / "ref")
    reference.fit()

    def kill(trainer):
        if trainer.global_step == 5:
            raise KeyboardInterrupt

    victim = build(tmp_path / "run", callbacks=[kill])
    with pytest.raises(KeyboardInterrupt):
        victim.fit()
    resumed = build(tmp_path / "run", model_seed=11)
    resumed.load_checkpoint()
    resumed.fit()
    for name, value in reference.weight_average.shadow.items():
        assert torch.equal(value, resumed.weight_average.shadow[name]), name
    assert resumed.weight_average.updates == reference.weight_average.updates


def test_a_checkpoint_without_an_average_restarts_it_from_the_loaded_weights(tmp_path, caplog):
    plain = Trainer(toy_model(0), ToyImages(64), config={**CONFIG, "weight_average": None}, out_dir=tmp_path)
    plain.fit(max_steps=2)
    averaged = build(tmp_path, model_seed=4)
    averaged.load_checkpoint()
    assert "keeps no weight average" in caplog.text
    for name, value in averaged.weight_average.shadow.items():
        assert torch.equal(value, dict(plain.model.named_parameters())[name].detach()), name


def test_the_learning_curves_show_the_average_and_the_last_weights():
    pytest.importorskip("matplotlib")
    from spikeforge.learning.report import learning_curves

    rows = [{"epoch": e, "train_loss": 1.0 / e, "train_accuracy": 0.5, "test_loss": 1.1 / e, "test_accuracy": 0.6,
             "test_loss_last": 1.2 / e, "test_accuracy_last": 0.55} for e in (1, 2)]
    accuracy = learning_curves(rows).axes[1]
    assert [line.get_label() for line in accuracy.lines] == ["train", "test (weight average)", "test (last weights)"]
    plain = learning_curves([{k: v for k, v in r.items() if not k.endswith("_last")} for r in rows]).axes[1]
    assert [line.get_label() for line in plain.lines] == ["train", "test"]
