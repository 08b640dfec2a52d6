"""Optimizers and schedules from plain settings."""

from __future__ import annotations

import math

import pytest
import torch

from spikeforge.learning import Schedule, build_optimizer, build_scheduler, check_plain

from ._toys import toy_model


def factors(name, steps=40, **kw):
    s = Schedule(name, steps_per_epoch=4, epochs=10, **kw)
    return [s(i) for i in range(steps + 1)]


def test_schedules():
    assert factors("constant") == [1.0] * 41
    assert factors("step", step_size=3, gamma=0.5)[11:13] == [1.0, 0.5]  # epochs 2.75, 3.0
    assert factors("step", step_size=3, gamma=0.5)[24] == 0.25
    assert factors("multistep", milestones=[2, 5], gamma=0.1)[7:9] == [1.0, pytest.approx(0.1)]
    assert factors("linear", end_factor=0.0)[20] == pytest.approx(0.5)
    cos = factors("cosine", min_factor=0.1)
    assert cos[0] == 1.0 and cos[20] == pytest.approx(0.55) and cos[40] == pytest.approx(0.1)
    assert factors("exponential", gamma=0.5)[8] == pytest.approx(0.25)
    warm = factors("cosine", warmup_epochs=2, warmup_factor=0.0)
    assert warm[0] == 0.0 and warm[4] == pytest.approx(0.5) and warm[8] == 1.0
    assert warm[24] == pytest.approx(0.5 * (1 + math.cos(math.pi * 4 / 8)))
    by_epoch = factors("linear", interval="epoch")
    assert by_epoch[0:4] == [1.0] * 4 and by_epoch[4] == pytest.approx(0.9)


def test_schedule_errors():
    with pytest.raises(ValueError, match="unknown schedule 'poly'; known: constant"):
        Schedule("poly", steps_per_epoch=1, epochs=1)
    with pytest.raises(ValueError, match="schedule 'step' has no setting 'min_factor'"):
        Schedule("step", steps_per_epoch=1, epochs=1, min_factor=0.1)
    with pytest.raises(ValueError, match="interval must be 'step' or 'epoch'"):
        Schedule("constant", steps_per_epoch=1, epochs=1, interval="batch")


def test_scheduler_state_is_plain_data():
    opt = build_optimizer(toy_model(), {"name": "sgd", "lr": 0.1})
    sched = build_scheduler(opt, {"name": "multistep", "milestones": [1, 2]}, steps_per_epoch=3, epochs=4)
    for _ in range(4):
        opt.step()
        sched.step()
    state = sched.state_dict()
    check_plain(state)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.01)


def test_optimizers_and_param_groups():
    model = toy_model()
    opt = build_optimizer(model, {"name": "adamw", "lr": 0.01, "weight_decay": 0.1, "betas": [0.8, 0.9],
                                  "param_groups": [{"match": r"bias$", "lr_scale": 3.0, "weight_decay": 0.0}]})
    assert isinstance(opt, torch.optim.AdamW)
    default, biases = opt.param_groups
    assert default["lr"] == 0.01 and default["betas"] == (0.8, 0.9) and default["weight_decay"] == 0.1
    assert biases["lr"] == pytest.approx(0.03) and biases["weight_decay"] == 0.0
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(names[id(p)].endswith("bias") for p in biases["params"])
    assert isinstance(build_optimizer(model, {"name": "sgd", "lr": 0.1, "momentum": 0.9}), torch.optim.SGD)


def test_optimizer_errors():
    model = toy_model()
    with pytest.raises(ValueError, match="unknown optimizer 'lion'; known: adam, adamw"):
        build_optimizer(model, {"name": "lion"})
    with pytest.raises(ValueError, match="optimizer 'adam' takes no momentum setting"):
        build_optimizer(model, {"name": "adam", "momentum": 0.9})
    with pytest.raises(ValueError, match="optimizer has no setting 'lrate'; valid: name, lr"):
        build_optimizer(model, {"name": "adam", "lrate": 0.9})
    with pytest.raises(ValueError, match=r"param_groups\[0\] must be a mapping with a 'match' pattern"):
        build_optimizer(model, {"name": "adam", "param_groups": [{"lr_scale": 2}]})
