"""The numba CPU kernels equal the plain-torch reference, forward and backward."""

import itertools

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import spikeforge.nn as snn
from spikeforge.functional import surrogate as sg
from spikeforge.kernels import backend_installed, resolve, spec

from ._parity import MODELS, assert_parity, build_pair

pytestmark = pytest.mark.skipif(not backend_installed("cpu"), reason="numba is not installed (extra cpu-kernels)")

SURROGATES = [sg.FastSigmoid(slope=10.0), sg.Sigmoid(), sg.ATan(alpha=3.0), sg.Triangle(width=0.8),
              sg.Rectangular(width=0.9), sg.Gaussian(sigma=0.4), sg.MultiGaussian(), sg.Exponential(),
              sg.StraightThrough()]


@pytest.mark.parametrize("name,reset,refrac,detach,recompute", [
    c for c in itertools.product(MODELS, ("subtract", "zero", "none"), (0, 2), (True, False), (False, True))
])
def test_parity_every_model_reset_refractory(name, reset, refrac, detach, recompute):
    torch.manual_seed(0)
    kw = dict(reset=reset, refractory_steps=refrac, detach_reset=detach, v_threshold=0.7,
              surrogate=sg.ATan(alpha=3.0))
    ref, fused = build_pair(name, "cpu", 9, recompute=recompute, **kw)
    out = assert_parity(ref, fused, torch.rand(30, 3, 9, dtype=torch.float64) * 2.5, rtol=1e-9)
    assert 0 < out.mean() < 1


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_parity_every_surrogate(surrogate):
    torch.manual_seed(1)
    ref, fused = build_pair("alif", "cpu", 11, surrogate=surrogate, v_threshold=0.6, detach_reset=False)
    assert_parity(ref, fused, torch.rand(25, 2, 11, dtype=torch.float64) * 3, rtol=1e-9)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
@pytest.mark.parametrize("name,reset,detach", [("lif", "subtract", False), ("if", "none", True)])
def test_lean_kernel_every_surrogate(surrogate, name, reset, detach, monkeypatch):
    """Fixed parameters, no refractory period, a reset that subtracts (or none): the lean
    backward kernel, whose replay computes each surrogate's derivative in its step loop."""
    from spikeforge.kernels.cpu import lean

    calls = []
    original = lean.lean_backward_kernel
    monkeypatch.setattr(lean, "lean_backward_kernel", lambda sid: calls.append(sid) or original(sid))
    torch.manual_seed(2)
    ref, fused = build_pair(name, "cpu", 13, learnable=False, surrogate=surrogate, reset=reset,
                            v_threshold=0.6, detach_reset=detach)
    _, state = ref(torch.rand(4, 2, 13, dtype=torch.float64) * 3)
    assert_parity(ref, fused, torch.rand(25, 2, 13, dtype=torch.float64) * 3, state, rtol=1e-9)
    assert calls == [spec.surrogate_id(surrogate)]


@pytest.mark.parametrize("learnable,reset,refrac,per_neuron,kernel", [
    (False, "subtract", 0, False, "lean"), (False, "none", 0, False, "lean"),
    (True, "subtract", 0, False, "general"), (False, "zero", 0, False, "general"),
    (False, "subtract", 2, False, "general"), (False, "subtract", 0, True, "general"),
])
def test_kernel_choice(learnable, reset, refrac, per_neuron, kernel, monkeypatch):
    """The lean kernels run exactly where their shortcuts hold; elsewhere the general ones,
    both equal to the reference."""
    from spikeforge.kernels.cpu import glif, lean

    chosen = []
    for module, name in ((lean, "lean_forward_kernel"), (glif, "forward_kernel"), (lean, "lean_backward_kernel"),
                         (glif, "backward_kernel")):
        original = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _o=original, _n=name: chosen.append(_n) or _o(*a))
    torch.manual_seed(3)
    threshold = torch.rand(7, dtype=torch.float64) * 0.5 + 0.5 if per_neuron else 0.8
    ref, fused = build_pair("lif", "cpu", 7, learnable=learnable, reset=reset, refractory_steps=refrac,
                            v_threshold=threshold)
    assert_parity(ref, fused, torch.rand(20, 3, 7, dtype=torch.float64) * 3, rtol=1e-9)
    expected = ["lean_forward_kernel", "lean_backward_kernel"] if kernel == "lean" else ["forward_kernel", "backward_kernel"]
    assert chosen == expected


def test_shared_coefficients():
    import numpy as np

    from spikeforge.kernels.cpu.lean import shared_coefficients

    coef = np.ones((9, 5))
    assert shared_coefficients(coef)
    coef[8, 2] = 0.3  # rows 5-8 (synaptic decay, adaptation) are not the lean kernel's business
    assert shared_coefficients(coef)
    coef[3, 4] = 2.0
    assert not shared_coefficients(coef)
    assert not shared_coefficients(np.ones((9, 0)))


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(list(MODELS)), steps=st.integers(1, 40), batch=st.integers(1, 4),
       shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), reset=st.sampled_from(["subtract", "zero", "none"]),
       refrac=st.integers(0, 3), seed=st.integers(0, 10_000), float32=st.booleans(), with_state=st.booleans(),
       learnable=st.booleans())
def test_parity_random_shapes_and_dtypes(name, steps, batch, shape, reset, refrac, seed, float32, with_state,
                                         learnable):
    torch.manual_seed(seed)
    dtype = torch.float32 if float32 else torch.float64
    ref, fused = build_pair(name, "cpu", tuple(shape), dtype=dtype, reset=reset, refractory_steps=refrac,
                            v_threshold=0.8, recompute=bool(seed % 2), learnable=learnable)
    x = torch.rand(steps, batch, *shape, dtype=dtype) * 3
    state = None
    if with_state:  # start from a non-resting state, refractory neurons included
        _, state = ref(torch.rand(5, batch, *shape, dtype=dtype) * 3)
    assert_parity(ref, fused, x, state, rtol=1e-4 if float32 else 1e-8)


def test_scalar_parameters_and_functional_floats():
    """Shared (0-dim) parameters and Python floats round exactly as the reference."""
    from spikeforge.functional import LIFParameters
    from spikeforge.functional.lif import LIF_MODEL
    from spikeforge.kernels import fused_sequence

    p = LIFParameters(tau_mem=7e-3, v_threshold=0.3, r=1.7, refractory_steps=1)
    x = torch.rand(60, 4, 33) * 2
    ref, st_ref = LIF_MODEL.sequence(x, None, p)
    out, st = fused_sequence(LIF_MODEL, x, None, p, "cpu")
    assert torch.equal(out, ref) and torch.equal(st.v, st_ref.v)


def test_non_contiguous_input():
    ref, fused = build_pair("cuba_lif", "cpu", 6)
    x = torch.rand(6, 3, 20, dtype=torch.float64).transpose(0, 2)[..., :6] * 3  # [20, 3, 6] strided
    assert not x.is_contiguous()
    assert_parity(ref, fused, x.transpose(1, 1), rtol=1e-9)


def test_zero_length_and_batch_of_one():
    ref, fused = build_pair("alif", "cpu", 5)
    out, st = fused(torch.zeros(0, 2, 5, dtype=torch.float64))
    assert out.shape == (0, 2, 5) and st.v.shape == (2, 5)
    assert_parity(ref, fused, torch.rand(17, 1, 5, dtype=torch.float64) * 3, rtol=1e-9)


def test_inference_saves_nothing_and_matches():
    lif = snn.LIF(64, backend="cpu")
    x = torch.rand(50, 8, 64) * 3
    with torch.no_grad():
        out, _ = lif(x)
    ref, _ = snn.LIF(64, backend="torch")(x)
    assert torch.equal(out, ref) and out.grad_fn is None


def test_conv_shaped_neurons_with_per_channel_parameters():
    tau = torch.tensor([5e-3, 10e-3, 40e-3]).reshape(3, 1, 1)
    ref = snn.LIF(tau_mem=tau, backend="torch", learn_tau_mem=True, dtype=torch.float64)
    fused = snn.LIF(tau_mem=tau, backend="cpu", learn_tau_mem=True, dtype=torch.float64)
    fused.load_state_dict(ref.state_dict())
    assert_parity(ref, fused, torch.rand(12, 2, 3, 4, 4, dtype=torch.float64) * 3, rtol=1e-9)


def test_auto_picks_the_kernel_and_explicit_backends_fail_clearly():
    lif = snn.LIF()
    x = torch.rand(3, 2, 4)
    assert resolve("auto", lif.model, x, lif.neuron_parameters()) == "cpu"
    assert resolve("auto", lif.model, x.half(), lif.neuron_parameters()) == "torch"
    with pytest.raises(ValueError, match="fused kernels take float32 or float64, got torch.float16"):
        snn.LIF(backend="cpu")(x.half())
    with pytest.raises(ValueError, match="no fused kernel for the 'li' model"):
        snn.LI(backend="cpu")(x)

    class Custom(sg.FastSigmoid):
        pass

    with pytest.raises(ValueError, match="no fused kernel implements the surrogate Custom"):
        snn.LIF(backend="cpu", surrogate=Custom())(x)
    assert torch.equal(snn.LIF(surrogate=Custom())(x)[0], snn.LIF(backend="torch")(x)[0])  # auto falls back
    with pytest.raises(ValueError, match="backend must be one of"):
        snn.LIF(backend="cuda")


def test_missing_extra_names_it(monkeypatch):
    import spikeforge.kernels.registry as registry

    monkeypatch.setattr(registry, "backend_installed", lambda b: b == "torch")
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[cpu-kernels\]'"):
        snn.LIF(backend="cpu")(torch.rand(3, 2, 4))
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[triton\]'"):
        snn.LIF(backend="triton")(torch.rand(3, 2, 4))
    assert snn.LIF()(torch.rand(3, 2, 4))[0].shape == (3, 2, 4)  # auto still works


@pytest.mark.parametrize("name,reset,refrac,detach", [
    c for c in itertools.product(MODELS, ("subtract", "zero", "none"), (0, 2), (True, False))
])
def test_parity_fixed_parameters(name, reset, refrac, detach):
    """Buffers only: the backward pass skips the coefficient gradients (a faster path)."""
    torch.manual_seed(2)
    kw = dict(reset=reset, refractory_steps=refrac, detach_reset=detach, v_threshold=0.7, dtype=torch.float64)
    ref, fused = MODELS[name](8, backend="torch", **kw), MODELS[name](8, backend="cpu", **kw)
    assert list(fused.parameters()) == []
    _, state = ref(torch.rand(4, 3, 8, dtype=torch.float64) * 3)
    assert_parity(ref, fused, torch.rand(30, 3, 8, dtype=torch.float64) * 2.5, state, rtol=1e-9)


def test_parity_when_the_blocks_run_on_several_threads(monkeypatch):
    """Calls this small run on one thread; force three tasks (blocks split between them)."""
    from spikeforge.kernels.cpu import launch

    monkeypatch.setattr(launch, "thread_count", lambda work, pieces, serial_below: 3)
    torch.manual_seed(9)
    for name, refrac in (("lif", 0), ("alif", 2)):
        ref, fused = build_pair(name, "cpu", 7, refractory_steps=refrac)
        _, warm = ref(torch.rand(3, 5, 7, dtype=torch.float64) * 2)
        assert_parity(ref, fused, torch.rand(20, 5, 7, dtype=torch.float64) * 2.5, warm, rtol=1e-9)
