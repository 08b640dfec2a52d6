"""The recurrent (SRNN) CPU kernel equals the plain-torch loop of RecurrentLIF/RecurrentALIF,
forward and backward; its custom ops pass opcheck and compile."""

import itertools
from dataclasses import dataclass

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.functional import surrogate as sg
from spikeforge.kernels import backend_installed, recurrent_ops
from spikeforge.kernels.spec import RESET_IDS
from spikeforge.nn.alif import ALIFCell
from spikeforge.nn.cuba import CubaLIFCell
from spikeforge.nn.if_ import IFCell
from spikeforge.nn.recurrent import RecurrentState, _RecurrentSequence

pytestmark = pytest.mark.skipif(not backend_installed("cpu"), reason="numba is not installed (extra cpu-kernels)")


class _RecurrentCubaLIF(_RecurrentSequence):
    cell_class = CubaLIFCell


class _RecurrentIF(_RecurrentSequence):
    cell_class = IFCell


@dataclass(frozen=True)
class _Unfused(sg.FastSigmoid):
    """A surrogate no kernel implements (a user's own subclass)."""


LAYERS = {"lif": snn.RecurrentLIF, "alif": snn.RecurrentALIF, "cuba_lif": _RecurrentCubaLIF, "if": _RecurrentIF}


def build_pair(name, hidden=10, inputs=3, *, dtype=torch.float64, recompute=False, **kw):
    """The same layer on the torch loop and on the kernel; every neuron parameter learnable and
    distinct per neuron, ``W_rec`` rounded to multiples of 1/64 so that its products with 0/1
    spikes are exact in any summation order (the kernel adds spiking columns, BLAS blocks)."""
    cls = LAYERS[name]
    learn = {f"learn_{n}": True for n in cls.cell_class.model.continuous}
    kw = dict(dict(r=4.0, v_threshold=0.8), **kw)
    ref = cls(inputs, hidden, backend="torch", dtype=dtype, **learn, **kw)
    fused = cls(inputs, hidden, backend="cpu", recompute=recompute, dtype=dtype, **learn, **kw)
    with torch.no_grad():
        for p in ref.neuron.parameters():
            p.add_(torch.rand_like(p) * 0.05)
        ref.recurrent.weight.mul_(64 * 0.6).round_().div_(64)
        ref.input.bias.uniform_(-0.1, 0.3)
    fused.load_state_dict(ref.state_dict())
    return ref, fused


def _leaf(state):
    """A copy of a RecurrentState whose float tensors are leaves that require grad."""
    def leaf(t):
        return t.detach().clone().requires_grad_(t.is_floating_point())
    neuron = type(state.neuron)(*(leaf(t) if n != "refrac" else t.detach().clone()
                                  for n, t in zip(state.neuron._fields, state.neuron)))
    return RecurrentState(neuron, leaf(state.z))


def _close(actual, expected, rtol, msg):
    actual, expected = actual.detach(), expected.detach()
    scale = float(expected.abs().max().clamp(min=1.0)) if expected.numel() else 1.0
    torch.testing.assert_close(actual, expected, rtol=rtol, atol=rtol * scale, msg=msg)


def assert_parity(ref, fused, x, state=None, *, rtol):
    """Spikes equal, final state close, gradients of input, parameters and state close."""
    x1, x2 = (x.detach().clone().requires_grad_() for _ in range(2))
    s1 = s2 = None
    if state is not None:
        s1, s2 = _leaf(state), _leaf(state)
    out1, st1 = ref(x1, s1)
    out2, st2 = fused(x2, s2)
    assert torch.equal(out1, out2), "spikes differ from the reference"
    assert torch.equal(st1.z, st2.z)
    for name, a, b in zip(st1.neuron._fields, st1.neuron, st2.neuron):
        _close(b, a, 1e-5, f"final state {name}")
    g = torch.randn_like(out1)
    weights = lambda st: [(t * (k + 2)).sum() for k, t in enumerate(st.neuron) if t.requires_grad]  # noqa: E731
    (((out1 * g).sum() + sum(weights(st1)) + (st1.z * 3).sum())).backward()
    (((out2 * g).sum() + sum(weights(st2)) + (st2.z * 3).sum())).backward()
    _close(x2.grad, x1.grad, rtol, "input gradient")
    if state is not None:
        for name, a, b in zip(("z", *s1.neuron._fields), (s1.z, *s1.neuron), (s2.z, *s2.neuron)):
            if name != "refrac":
                _close(b.grad, a.grad, rtol, f"initial state {name}")
    for (name, a), (_, b) in zip(ref.named_parameters(), fused.named_parameters()):
        if a.grad is None:  # unused by the reference (v_reset without a reset): zero here
            assert b.grad is None or not b.grad.any(), name
            continue
        _close(b.grad, a.grad, rtol, f"parameter {name}")
    return out1


CASES = [
    # model, reset, refractory steps, detach_reset, surrogate, recompute
    *itertools.product(("lif", "alif"), ("subtract", "zero", "none"), (0, 2), (True, False),
                       (sg.ATan(alpha=3.0),), (False,)),
    ("lif", "subtract", 0, True, sg.FastSigmoid(slope=10.0), True),
    ("alif", "zero", 2, False, sg.FastSigmoid(slope=10.0), True),
    ("alif", "subtract", 0, False, sg.Triangle(width=0.8), False),
    ("lif", "none", 2, False, sg.MultiGaussian(), True),
    ("cuba_lif", "subtract", 2, False, sg.ATan(alpha=3.0), False),
    ("cuba_lif", "zero", 0, True, sg.FastSigmoid(slope=10.0), True),
    ("if", "subtract", 0, False, sg.Sigmoid(), False),
]


# float32 for the layers training runs use (each dtype and feature set is one more compiled kernel)
DTYPE_CASES = [(*case, torch.float64) for case in CASES] + [
    (*case, torch.float32) for case in CASES if case[0] in ("lif", "alif") and case[2] == 0
]


@pytest.mark.parametrize("name,reset,refrac,detach,surrogate,recompute,dtype", DTYPE_CASES,
                         ids=lambda v: type(v).__name__ if isinstance(v, sg.Surrogate) else str(v))
def test_parity_with_the_torch_loop(name, reset, refrac, detach, surrogate, recompute, dtype):
    torch.manual_seed(0)
    ref, fused = build_pair(name, dtype=dtype, recompute=recompute, reset=reset, refractory_steps=refrac,
                            detach_reset=detach, surrogate=surrogate)
    x = torch.rand(40, 3, 3, dtype=dtype) * 2
    _, warm = ref(torch.rand(7, 3, 3, dtype=dtype) * 2)  # a non-resting initial state: spikes, refractory
    out = assert_parity(ref, fused, x, warm, rtol=1e-4 if dtype == torch.float32 else 1e-9)
    assert 0.02 < out.mean() < 0.9


def test_parity_at_rest_with_one_row_and_a_wide_layer():
    torch.manual_seed(2)
    ref, fused = build_pair("alif", hidden=70, inputs=2, r=6.0)
    assert_parity(ref, fused, torch.rand(25, 1, 2, dtype=torch.float64), rtol=1e-9)
    ref, fused = build_pair("lif", hidden=37, dtype=torch.float32)
    assert_parity(ref, fused, torch.rand(30, 11, 3) * 2, rtol=1e-4)  # groups of rows with a remainder


def test_parity_with_several_tasks_and_groups_of_rows(monkeypatch):
    """Calls this small run on one thread; force several tasks (weight-gradient accumulators
    summed) and groups of rows with a remainder."""
    import spikeforge.kernels.cpu.recurrent as kernel

    monkeypatch.setattr(kernel, "tasks", lambda batch, steps, hidden: 3)
    monkeypatch.setattr(kernel, "rows_per_task", lambda batch: 2)
    torch.manual_seed(8)
    for name, recompute in (("alif", False), ("cuba_lif", True)):
        ref, fused = build_pair(name, recompute=recompute, refractory_steps=1)
        _, warm = ref(torch.rand(4, 7, 3, dtype=torch.float64) * 2)
        assert_parity(ref, fused, torch.rand(25, 7, 3, dtype=torch.float64) * 2, warm, rtol=1e-9)


def test_zero_length_sequence_returns_the_state_it_was_given():
    ref, fused = build_pair("alif")
    _, state = ref(torch.rand(5, 2, 3, dtype=torch.float64) * 2)
    for layer in (ref, fused):
        out, st = layer(torch.zeros(0, 2, 3, dtype=torch.float64), state)
        assert out.shape == (0, 2, 10)
        assert torch.equal(st.z, state.z)
        for a, b in zip(st.neuron, state.neuron):
            assert torch.equal(a, b)
    out, st = fused(torch.zeros(0, 2, 3, dtype=torch.float64))
    assert out.shape == (0, 2, 10) and not st.z.any()


def test_state_threads_across_calls_forward_and_backward():
    torch.manual_seed(3)
    ref, fused = build_pair("alif", refractory_steps=1)
    x = torch.rand(40, 2, 3, dtype=torch.float64) * 2
    whole, _ = fused(x)
    grads = []
    for layer in (ref, fused):
        first, st = layer(x[:15])
        second, _ = layer(x[15:], st)
        assert torch.equal(torch.cat([first, second]), whole)
        (second * torch.arange(10.0, dtype=torch.float64)).sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters()])
    for a, b in zip(*grads):
        _close(b, a, 1e-9, "gradient through the threaded state")


def test_inference_without_gradients_and_backward_refusal():
    torch.manual_seed(4)
    ref, fused = build_pair("lif")
    x = torch.rand(20, 2, 3, dtype=torch.float64) * 2
    with torch.no_grad():
        assert torch.equal(ref(x)[0], fused(x)[0])
    frozen = {n: p.requires_grad_(False) for n, p in fused.named_parameters()}
    out, _ = fused(x)  # nothing requires grad: the kernel keeps nothing for backward
    assert not out.requires_grad and frozen


def test_only_the_weight_gradient_or_only_the_coefficients():
    torch.manual_seed(5)
    ref, fused = build_pair("alif")
    for layer in (ref, fused):
        layer.neuron.requires_grad_(False)
    assert_parity(ref, fused, torch.rand(30, 2, 3, dtype=torch.float64) * 2, rtol=1e-9)
    ref, fused = build_pair("lif")
    for layer in (ref, fused):
        layer.recurrent.weight.requires_grad_(False)
    x = torch.rand(30, 2, 3, dtype=torch.float64) * 2
    outs = [layer(x)[0] for layer in (ref, fused)]
    for out in outs:
        out.sum().backward()
    assert torch.equal(*outs) and fused.recurrent.weight.grad is None
    for (n, a), (_, b) in zip(ref.neuron.named_parameters(), fused.neuron.named_parameters()):
        _close(b.grad, a.grad, 1e-9, n)


def test_backend_choice_and_errors(monkeypatch):
    import spikeforge.kernels.recurrent as kr
    import spikeforge.kernels.registry as registry

    calls = []
    real = kr.fused_recurrent_sequence
    monkeypatch.setattr(kr, "fused_recurrent_sequence", lambda *a, **k: calls.append(1) or real(*a, **k))
    x = torch.rand(5, 2, 3)
    snn.RecurrentLIF(3, 4)(x)
    assert calls == [1]  # "auto" takes the kernel on the CPU
    snn.RecurrentLIF(3, 4, surrogate=_Unfused())(x)
    snn.RecurrentLIF(3, 4, backend="torch")(x)
    assert calls == [1]  # ... and the torch loop where the kernel cannot run
    with pytest.raises(ValueError, match="no fused kernel implements the surrogate _Unfused"):
        snn.RecurrentLIF(3, 4, backend="cpu", surrogate=_Unfused())(x)
    with pytest.raises(ValueError, match="backend must be one of"):
        snn.RecurrentALIF(3, 4, backend="triton")
    assert "backend='cpu'" in repr(snn.RecurrentALIF(3, 4, backend="cpu"))
    monkeypatch.setattr(registry, "backend_installed", lambda backend: backend == "torch")
    with pytest.raises(ImportError, match=r"pip install 'spikeforge\[cpu-kernels\]'"):
        snn.RecurrentLIF(3, 4, backend="cpu")(x)
    snn.RecurrentLIF(3, 4)(x)
    assert calls == [1]  # "auto" without numba: the torch loop


def test_compiled_srnn_with_the_kernel_matches_eager():
    torch.manual_seed(6)
    net = snn.Sequential(
        snn.RecurrentALIF(3, 12, r=4.0, learn_tau_adp=True, backend="cpu"),
        torch.nn.Linear(12, 2),
        snn.LI(learn_tau_mem=True),
    )
    x = torch.rand(12, 2, 3) * 2
    eager, _ = net(x)
    eager.square().sum().backward()
    grads = [p.grad.clone() for p in net.parameters()]
    net.zero_grad()
    out, _ = torch.compile(net, fullgraph=True)(x)
    out.square().sum().backward()
    torch.testing.assert_close(out, eager)
    for p, g in zip(net.parameters(), grads):
        torch.testing.assert_close(p.grad, g, rtol=1e-4, atol=1e-6)


def _op_args(save, has_syn, has_adapt, nref=1, reset="subtract"):
    torch.manual_seed(7)
    t, b, h = 6, 3, 5
    dtype = torch.float64
    x = (torch.rand(t, b, h, dtype=dtype) * 2).requires_grad_()
    w = (torch.randn(h, h, dtype=dtype) * 0.5).requires_grad_()
    z0 = (torch.rand(b, h, dtype=dtype) > 0.5).to(dtype).requires_grad_()
    v0, i0, b0 = (torch.rand(b, h, dtype=dtype).requires_grad_() for _ in range(3))
    r0 = torch.zeros(b, h, dtype=dtype)
    coef = torch.tensor([0.9, 0.3, 0.0, 0.6, 0.0, 0.8 * has_syn, 1.5 * has_adapt, 0.95 * has_adapt,
                         1 - 0.95 * has_adapt], dtype=dtype)
    coef = coef[:, None].expand(9, h).clone().requires_grad_()
    return (x, w, z0, v0, i0, b0, r0, coef, nref, RESET_IDS[reset], 0, has_syn, has_adapt, 2,
            [3.0, 0.0, 0.0, 0.0], save, "cpu")


# feature sets of real models only (each set is one more compiled kernel; none has both)
@pytest.mark.parametrize("save,has_syn,has_adapt", [(1, 0, 0), (2, 0, 1), (0, 1, 0), (1, 1, 0)])
def test_opcheck_forward(save, has_syn, has_adapt):
    torch.library.opcheck(recurrent_ops.recurrent_glif_forward, _op_args(save, has_syn, has_adapt))


@pytest.mark.parametrize("stored,has_syn,has_adapt", [(True, 1, 0), (False, 0, 1)])
def test_opcheck_backward(stored, has_syn, has_adapt):
    args = _op_args(1 if stored else 2, has_syn, has_adapt, reset="zero")
    x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, sid, sp, save, backend = args
    with torch.no_grad():
        out, *_, u, ih, bh = recurrent_ops.recurrent_glif_forward(*args)
    grads = [torch.randn_like(out)] + [torch.randn_like(v0) for _ in range(3)]
    detached = [t.detach() for t in (x, w, out, z0, v0, i0, b0, r0, coef)]
    torch.library.opcheck(
        recurrent_ops.recurrent_glif_backward,
        (*grads, *detached, u, ih, bh, nref, reset, detach, has_syn, has_adapt, sid, sp, 1, 1, backend),
    )


def test_op_gradients_match_finite_differences():
    """gradcheck of the op where no neuron comes near threshold (the spikes, and a surrogate of
    compact support, Triangle, play no part): the gradients of the currents, W_rec (through the
    initial spikes z0, which may hold any values), z0, the initial state and the coefficients
    are exact."""
    x, w, z0, v0, i0, b0, r0, coef, nref, reset, detach, has_syn, has_adapt, _, _, save, backend = \
        _op_args(1, 0, 1, nref=0)
    rest = (nref, reset, detach, has_syn, has_adapt, 3, [0.5, 0.0, 0.0, 0.0], save, backend)
    with torch.no_grad():
        coef[3] = 50.0  # the threshold
        z0.uniform_(-1, 1)

    def final_state(x, w, z0, v0, b0, coef):
        out, v, _, b, *_ = recurrent_ops.recurrent_glif_forward(x, w, z0, v0, i0.detach(), b0, r0, coef, *rest)
        assert not out.any()
        return v, b

    torch.autograd.gradcheck(final_state, (x, w, z0, v0, b0, coef))


@pytest.mark.parametrize("density", [1.0, 0.1, 0.0])
@pytest.mark.parametrize("rows, hidden", [(1, 7), (3, 5), (4, 16), (5, 33), (8, 64), (9, 3)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_the_backward_product_is_w_transposed_times_the_gradient(density, rows, hidden, dtype):
    """``gz = gc W`` (each row ``W^T gc[r]``) on both of its paths: dense register blocks (four
    rows by two columns, every tail of rows and columns) and the zero-skipping one."""
    import numpy as np

    from spikeforge.kernels.cpu.recurrent_product import transposed_product

    rng = np.random.default_rng(rows * 100 + hidden)
    w = rng.standard_normal((hidden, hidden)).astype(dtype)
    gc = (rng.standard_normal((rows, hidden)) * (rng.random((rows, hidden)) < density)).astype(dtype)
    gz = np.full((rows, hidden), np.nan, dtype=dtype)
    transposed_product(w, np.ascontiguousarray(w.T), gc, gz)
    tol = 1e-5 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(gz, gc.astype(np.float64) @ w.astype(np.float64), rtol=tol, atol=tol)
