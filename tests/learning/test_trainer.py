"""The training loop: it learns, the rule interface, clipping, truncated BPTT, evaluation."""

from __future__ import annotations

import copy

import pytest
import torch

from spikeforge.learning import StepResult, Trainer, TrainConfig, detach_state, evaluate, run_model

from ._toys import ToyImages, ToySequences, collate_time_major, toy_model, weights


def make(config=None, **kwargs):
    cfg = {"epochs": 1, "batch_size": 16, "optimizer": {"name": "adam", "lr": 1e-2}, **(config or {})}
    model = kwargs.pop("model", None) or toy_model()
    data = kwargs.pop("data", None) or ToyImages()
    return Trainer(model, data, config=cfg, **kwargs)


def test_training_lowers_the_loss_and_fills_metrics():
    data = ToyImages(n=128)
    trainer = make({"epochs": 3, "optimizer": {"name": "adam", "lr": 5e-2}}, data=data, test_data=ToyImages(64, seed=1))
    rows = trainer.fit()
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    assert rows[-1]["test_accuracy"] > 0.6
    assert rows[-1]["step"] == 3 * 8 and trainer.global_step == 24
    assert 0 < rows[-1]["train_rate"] < 1 and rows[-1]["train_rate_hz"] == pytest.approx(rows[-1]["train_rate"] / 1e-3)
    assert trainer.finished


class FixedGradRule:
    """A rule that is not a gradient: writes a fixed ``.grad`` (as STDP would write -dw)."""

    name = "fixed"

    def __init__(self, value: float) -> None:
        self.value = value
        self.calls = 0

    def step(self, model, x, y, objective, *, state=None, loss_weight=1.0):
        self.calls += 1
        with torch.no_grad():
            out, state = run_model(model, x, state)
            for p in model.parameters():
                g = torch.full_like(p, self.value * loss_weight)
                p.grad = g if p.grad is None else p.grad + g
        return StepResult(torch.tensor(0.0), out, state)


def test_a_rule_that_writes_grad_itself_is_applied_by_the_optimizer_with_clipping():
    model = toy_model()
    before = weights(model)
    rule = FixedGradRule(3.0)
    n = sum(p.numel() for p in model.parameters())
    cfg = {"batch_size": 96, "optimizer": {"name": "sgd", "lr": 1.0}, "clip_grad_norm": 0.5}
    trainer = make(cfg, model=model, rule=rule)
    trainer.fit()
    assert rule.calls == 1  # one batch, one chunk
    delta = torch.cat([(before[k] - v).reshape(-1) for k, v in model.state_dict().items() if k in dict(model.named_parameters())])
    assert delta.norm().item() == pytest.approx(0.5, rel=1e-5)  # clipped to the max norm
    assert torch.allclose(delta, torch.full_like(delta, 0.5 / n ** 0.5), rtol=1e-4)


def test_clip_by_value_caps_each_element():
    model = toy_model()
    before = weights(model)
    trainer = make({"batch_size": 96, "optimizer": {"name": "sgd", "lr": 1.0}, "clip_grad_value": 0.25},
                   model=model, rule=FixedGradRule(-2.0))
    trainer.fit()
    for name, p in model.named_parameters():
        assert torch.allclose(p.detach() - before[name], torch.full_like(p, 0.25))


def _sequence_trainer(tbptt, update="sequence", per_step=True, steps=12):
    data = ToySequences(n=16, steps=steps, per_step=per_step)
    model = toy_model(features=3, recurrent=True)
    cfg = {"epochs": 2, "batch_size": 8, "tbptt": tbptt, "tbptt_update": update,
           "optimizer": {"name": "sgd", "lr": 0.5}}
    objective = "per_step" if per_step else "mean_membrane"
    return Trainer(model, data, config=cfg, objective=objective, collate_fn=collate_time_major)


@pytest.mark.parametrize("per_step", [True, False])
def test_tbptt_with_one_chunk_is_exactly_bptt(per_step):
    full, chunked = _sequence_trainer(None, per_step=per_step), _sequence_trainer(12, per_step=per_step)
    full.fit()
    chunked.fit()
    for k, v in weights(full.model).items():
        assert torch.equal(v, weights(chunked.model)[k]), k


def test_tbptt_chunks_match_a_hand_written_truncated_backward():
    trainer = _sequence_trainer(5)  # chunks of 5, 5, 2 steps; one update per sequence
    reference = copy.deepcopy(trainer.model)
    x, y = collate_time_major([trainer.train_data[i] for i in trainer._train_sampler(0).global_batch(0).tolist()])
    state, total = None, 0.0
    for t0 in (0, 5, 10):
        out, state = reference(x[t0:t0 + 5], state)
        yc = y[t0:t0 + 5]
        loss = torch.nn.functional.cross_entropy(out.flatten(0, 1), yc.flatten())
        (loss * yc.numel() / y.numel()).backward()
        state = detach_state(state)
    with torch.no_grad():
        for p in reference.parameters():
            p -= 0.5 * p.grad
    trainer.fit(max_steps=1)
    for (k, a), b in zip(weights(trainer.model).items(), weights(reference).values()):
        assert torch.allclose(a, b, atol=1e-6), k


def test_tbptt_chunk_mode_counts_updates_with_adam():
    data = ToySequences(n=8, steps=12, per_step=True)
    model = toy_model(features=3, recurrent=True)
    trainer = Trainer(model, data, config={"epochs": 1, "batch_size": 8, "tbptt": 5, "tbptt_update": "chunk"},
                      objective="per_step", collate_fn=collate_time_major)
    trainer.fit()
    steps = {float(s["step"]) for s in trainer.optimizer.state_dict()["state"].values()}
    assert steps == {3.0}  # 12 steps in chunks of 5: three updates for one batch


def test_burn_in_steps_are_not_scored():
    data = ToySequences(n=8, steps=12, per_step=True)
    result = evaluate(toy_model(features=3, recurrent=True), data, "per_step", collate_fn=collate_time_major)
    from spikeforge.learning import PerStepCrossEntropy

    burned = evaluate(toy_model(features=3, recurrent=True), data, PerStepCrossEntropy(burn_in=4),
                      collate_fn=collate_time_major)
    assert result["samples"] == burned["samples"] == 8
    right_all = result["accuracy"] * 8 * 12
    assert burned["accuracy"] * 8 * 8 <= right_all + 1e-9


def test_evaluate_reports_layers_and_rates():
    model = toy_model()
    result = evaluate(model, ToyImages(40), batch_size=16)
    assert result["samples"] == 40
    (layer,) = result["layers"]
    assert layer.kind == "LIF" and layer.neurons == 16 and layer.sample_steps == 40 * 5
    assert result["rate"] == pytest.approx(layer.rate)
    assert 0.0 <= result["accuracy"] <= 1.0 and result["loss"] > 0


def test_limit_batches_and_eval_every():
    trainer = make({"epochs": 3, "limit_batches": 2, "eval_every": 2}, test_data=ToyImages(20, seed=3))
    rows = trainer.fit()
    assert trainer.global_step == 6
    assert [r.get("test_accuracy") is not None for r in rows] == [False, True, True]  # every 2nd, and the last


def test_bad_settings_raise_clear_errors():
    with pytest.raises(ValueError, match="unknown training setting 'epoch'.*valid: epochs"):
        TrainConfig.from_dict({"epoch": 3})
    with pytest.raises(ValueError, match="tbptt_update must be"):
        TrainConfig(tbptt_update="step")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        TrainConfig(batch_size=0)
    with pytest.raises(ValueError, match="clip_grad_norm must be a positive number"):
        TrainConfig(clip_grad_norm=-1.0)
    with pytest.raises(ValueError, match="unknown objective 'nope'"):
        make(objective="nope")
    with pytest.raises(ValueError, match="no test set"):
        make().evaluate()


def test_tensorboard_gets_each_epoch_row_when_installed(tmp_path, monkeypatch):
    import sys
    import types

    logged = []

    class FakeWriter:
        def __init__(self, log_dir):
            self.log_dir = log_dir

        def add_scalar(self, tag, value, step):
            logged.append((tag, step))

        def flush(self):
            pass

        def close(self):
            pass

    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", types.SimpleNamespace(SummaryWriter=FakeWriter))
    trainer = make({"epochs": 2, "limit_batches": 1}, out_dir=tmp_path, tensorboard=True,
                   test_data=ToyImages(8, seed=2))
    trainer.fit()
    assert ("train/loss", 1) in logged and ("test/accuracy", 2) in logged and ("run/lr", 2) in logged
    assert (tmp_path / "metrics.csv").read_text().startswith("epoch,step,lr,train_loss")
