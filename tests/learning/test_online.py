"""What both online rules promise: memory independent of T, chunks == whole, updates where stated."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import spikeforge.nn as snn
from spikeforge.learning import Trainer
from spikeforge.learning._engine import OnlineState, state_nbytes
from spikeforge.learning.eprop import EProp
from spikeforge.learning.ostl import OSTL
from spikeforge.recipes.loader import load_recipe

from ._online_nets import B, C, DT, I, MEAN, PER_STEP, data, grads, hidden, linear, readout
from ._toys import ToySequences, collate_time_major

RULES = [EProp, OSTL]


def _net():
    torch.manual_seed(0)
    return snn.Sequential(snn.RecurrentALIF(I, 8, backend="torch", beta=0.5, r=2.0, v_threshold=0.5, dtype=DT,
                                           learn_tau_mem=True, learn_tau_adp=True),
                          linear(8, 6, 1), hidden("lif", 6), linear(6, C, 2), readout())


@pytest.mark.parametrize("rule", RULES)
def test_saved_state_does_not_grow_with_sequence_length(rule):
    net = _net()
    sizes = []
    for steps in (10, 80):
        x, y = data(0, steps=steps)
        result = rule(block=10).step(net, x, y, PER_STEP)
        assert isinstance(result.state, OnlineState)
        sizes.append(state_nbytes(result.state))
    assert sizes[0] == sizes[1] > 0


@pytest.mark.parametrize("rule", RULES)
def test_chunks_give_the_updates_of_the_whole_sequence(rule):
    net = _net()
    x, y = data(1, steps=30)
    whole = grads(net, rule(), x, y, PER_STEP)
    net.zero_grad(set_to_none=True)
    state, total = None, PER_STEP.count(y)
    for a, b in ((0, 7), (7, 20), (20, 30)):
        result = rule().step(net, x[a:b], y[a:b], PER_STEP, state=state,
                             loss_weight=PER_STEP.count(y[a:b]) / total)
        state = result.state
    for name, p in net.named_parameters():
        torch.testing.assert_close(p.grad, whole[name], rtol=1e-10, atol=1e-12, msg=name)


@pytest.mark.parametrize("rule", RULES)
def test_block_size_changes_nothing(rule):
    net = _net()
    x, y = data(2, steps=25)
    a, b = grads(net, rule(block=3), x, y, PER_STEP), grads(net, rule(block=100), x, y, PER_STEP)
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=1e-10, atol=1e-12, msg=name)


def test_output_and_state_are_the_model_s():
    net = _net()
    x, y = data(3, steps=20)
    result = EProp(block=6).step(net, x, y, PER_STEP)
    out, state = net(x)
    torch.testing.assert_close(result.out, out.detach())
    torch.testing.assert_close(result.state.model, state)
    # the model's own state continues a chunk as well (traces start at zero)
    EProp().step(net, x, y, PER_STEP, state=state)


def test_zero_loss_weight_computes_no_update():
    net = _net()
    x, y = data(4, per_step=False)
    net.zero_grad(set_to_none=True)
    result = OSTL().step(net, x, y, MEAN, loss_weight=0.0)
    assert all(p.grad is None for p in net.parameters())
    assert torch.isfinite(result.loss)


def test_updates_every_k_steps_through_the_trainer():
    # tbptt=k with tbptt_update=chunk: one optimizer step after each k-step chunk, the traces
    # carried over; replaying the same chunks by hand with SGD gives the same weights
    data_set = ToySequences(n=4, steps=12, features=I, classes=C, per_step=True)
    torch.manual_seed(5)
    ref = _net()
    model = _net()
    model.load_state_dict(ref.state_dict())
    steps = []
    trainer = Trainer(model, data_set, objective="per_step", rule=EProp(), collate_fn=collate_time_major,
                      config={"epochs": 1, "batch_size": 4, "tbptt": 4, "tbptt_update": "chunk",
                              "optimizer": {"name": "sgd", "lr": 0.5}})
    trainer.optimizer.register_step_post_hook(lambda *a: steps.append(1))
    data_set.x = data_set.x.to(DT)
    (row,) = trainer.fit()
    assert len(steps) == 3  # T / k optimizer steps for the one batch
    assert row["train_rate"] is None and row["train_rate_hz"] is None  # the rule runs the neurons itself: unknown
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    order = list(trainer._train_sampler(0))[0]
    x, y = collate_time_major([data_set[i] for i in order])
    state, total = None, PER_STEP.count(y)
    for a in range(0, 12, 4):
        result = EProp().step(ref, x[a:a + 4], y[a:a + 4], PER_STEP, state=state,
                              loss_weight=PER_STEP.count(y[a:a + 4]) / total)
        state = result.state
        opt.step()
        opt.zero_grad(set_to_none=True)
    for (name, p), q in zip(model.named_parameters(), ref.parameters()):
        torch.testing.assert_close(p, q, msg=name)


def test_unsupported_networks_and_inputs_are_refused():
    x, y = data(0)
    with pytest.raises(ValueError, match="online rules train"):
        EProp().step(nn.Sequential(nn.Linear(I, C)), x, y, PER_STEP)
    with pytest.raises(ValueError, match="online rules train"):
        EProp().step(snn.Sequential(nn.Linear(I, C), nn.ReLU(), readout()), x, y, PER_STEP)
    with pytest.raises(ValueError, match=r"\[T, B, 5\]"):
        EProp().step(_net(), x[..., :3], y, PER_STEP)


@pytest.mark.parametrize("recipe", ["ecg-srnn", "smnist-srnn"])
@pytest.mark.parametrize("rule", ["eprop", "ostl"])
def test_recipes_take_the_rule_from_one_flag(recipe, rule):
    from spikeforge.learning.rules import RULES as registry
    from spikeforge.models import build_model

    r = load_recipe(recipe, overrides=[f"learning={rule}"])
    assert r["learning"] == {"rule": rule}
    built = registry[rule]()
    model = build_model(r["model"]["name"], preset=r["model"]["preset"], backend="torch")
    T = 6
    x = torch.rand(T, 2, model.input_size)
    y = torch.zeros(T, 2, dtype=torch.long) if recipe == "ecg-srnn" else torch.tensor([1, 2])
    from spikeforge.learning.objectives import objective_from_name

    cfg = dict(r["objective"])
    objective = objective_from_name(cfg.pop("name"), **cfg)
    objective = objective if recipe != "ecg-srnn" else objective_from_name("per_step")
    model.zero_grad(set_to_none=True)
    result = built.step(model, x, y, objective)
    assert result.out.shape == (T, 2, model(x)[0].shape[-1])
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


@pytest.mark.parametrize("recipe", ["evidence-eprop", "store-recall-eprop"])
def test_cue_task_recipes_run_one_step(recipe):
    from spikeforge.recipes.build import build_run

    r = load_recipe(recipe, overrides=["data.train_size=2", "data.test_size=1", "model.hidden_sizes=[8]",
                                       "model.backend=torch"])
    run = build_run(r)
    x, y = run.collate_fn([run.train_data[i] for i in range(2)])
    x, y = x[:60], y[:60]
    run.model.zero_grad(set_to_none=True)
    result = run.rule.step(run.model, x, y, run.objective)
    assert type(run.rule).__name__ == "EProp" and result.out.shape == (60, 2, 2)


def _kernel_net(backend: str, reset: str, detach: bool) -> snn.Sequential:
    """RecurrentALIF -> Linear -> LIF -> Linear -> ALIF-membrane readout, float64, on ``backend``."""
    from spikeforge.models._readout import ALIFMembrane

    torch.manual_seed(0)
    knobs = dict(reset=reset, detach_reset=detach)
    rec = snn.RecurrentALIF(I, 8, backend=backend, beta=0.5, r=8.0, v_threshold=0.3, learn_tau_mem=True,
                            learn_tau_adp=True, dtype=DT, **knobs)
    lif = hidden("lif", 6, v_threshold=0.1, **knobs)
    lif.backend = backend
    out = ALIFMembrane(C, tau_mem=torch.full((C,), 8e-3, dtype=DT), tau_adp=torch.full((C,), 30e-3, dtype=DT),
                       beta=0.3, v_threshold=0.2, learn_tau_mem=True, learn_tau_adp=True, backend=backend,
                       dtype=DT, **knobs)
    return snn.Sequential(rec, linear(8, 6, 1), lif, linear(6, C, 2), out)


@pytest.mark.skipif(not __import__("spikeforge.kernels", fromlist=["backend_installed"]).backend_installed("cpu"),
                    reason="numba is not installed (extra cpu-kernels)")
@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("reset,detach", [("subtract", False), ("zero", True), ("none", False)])
def test_kernel_blocks_give_the_torch_loop_s_updates(rule, reset, detach, monkeypatch):
    """The blocks run through the fused kernel (backend auto) give the updates, output and
    state of the per-step torch loop (backend torch), block boundaries included."""
    from spikeforge.learning import _online

    calls = []
    original = _online._kernel_block
    monkeypatch.setattr(_online, "_kernel_block", lambda *a, **k: calls.append(1) or original(*a, **k))
    x, y = data(5, steps=30)
    results = {}
    for backend in ("torch", "auto"):
        net = _kernel_net(backend, reset, detach)
        result = rule(block=7).step(net, x, y, PER_STEP)
        g = {n: p.grad.clone() for n, p in net.named_parameters() if p.grad is not None}
        results[backend] = (g, result.out)
    assert calls, "the kernel path did not run"
    (g_t, out_t), (g_k, out_k) = results["torch"], results["auto"]
    torch.testing.assert_close(out_k, out_t, rtol=1e-12, atol=1e-12)
    assert set(g_k) == set(g_t)
    for name in g_t:
        if name.endswith("weight"):  # the weights always learn (a readout that never fires leaves tau_adp alone)
            assert g_t[name].abs().max() > 0, name
        torch.testing.assert_close(g_k[name], g_t[name], rtol=1e-9, atol=1e-12, msg=name)
