"""Bad input gets a clear error, not a wrong answer."""

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.functional import LIFParameters, lif_sequence

from ._models import PAIRS, SPIKING


@pytest.mark.parametrize("name", list(PAIRS))
def test_sequence_module_rejects_one_step_tensor(name):
    _, seq_cls = PAIRS[name]
    with pytest.raises(ValueError, match=r"at least 3 dimensions laid out as \[T, B, \.\.\.\].*got shape \(4, 5\)"):
        seq_cls()(torch.rand(4, 5))


@pytest.mark.parametrize("name", list(PAIRS))
def test_cell_rejects_vector(name):
    cell_cls, _ = PAIRS[name]
    with pytest.raises(ValueError, match=r"at least 2 dimensions"):
        cell_cls()(torch.rand(5))


@pytest.mark.parametrize("name", list(PAIRS))
def test_integer_input_is_a_type_error(name):
    _, seq_cls = PAIRS[name]
    with pytest.raises(TypeError, match="floating-point tensor.*got dtype torch.int64"):
        seq_cls()(torch.ones(3, 2, 4, dtype=torch.long))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
@pytest.mark.parametrize("name", list(PAIRS))
def test_nan_and_inf_input(name, bad):
    cell_cls, seq_cls = PAIRS[name]
    x = torch.rand(3, 2, 4)
    x[1, 0, 2] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        seq_cls()(x)
    with pytest.raises(ValueError, match="NaN or Inf"):
        cell_cls()(x[1])


def test_non_tensor_input():
    with pytest.raises(TypeError, match="must be a torch.Tensor, got list"):
        snn.LIF()([[1.0]])


@pytest.mark.parametrize("tau", [0.0, -1e-3, float("nan")])
@pytest.mark.parametrize("name", ["lif", "cuba_lif", "alif", "li"])
def test_bad_time_constant(name, tau):
    _, seq_cls = PAIRS[name]
    with pytest.raises(ValueError, match="tau_mem must be positive and finite"):
        seq_cls(tau_mem=tau)


@pytest.mark.parametrize("kw,match", [
    (dict(tau_syn=-1.0), "tau_syn must be positive"),
])
def test_bad_synaptic_time_constant(kw, match):
    with pytest.raises(ValueError, match=match):
        snn.CubaLIF(**kw)


def test_bad_adaptation_parameters():
    with pytest.raises(ValueError, match="tau_adp must be positive"):
        snn.ALIF(tau_adp=0.0)
    with pytest.raises(ValueError, match="beta must be non-negative"):
        snn.ALIF(beta=-0.1)


def test_per_neuron_bad_value_is_reported():
    with pytest.raises(ValueError, match=r"tau_mem must be positive and finite, got a tensor of shape \(3,\) with min -0.01"):
        snn.LIF(tau_mem=torch.tensor([0.01, -0.01, 0.02]))


@pytest.mark.parametrize("name", SPIKING)
@pytest.mark.parametrize("reset", [1.0, 2.0])
def test_threshold_not_above_reset(name, reset):
    _, seq_cls = PAIRS[name]
    with pytest.raises(ValueError, match="v_threshold must be greater than v_reset"):
        seq_cls(v_threshold=1.0, v_reset=reset)


def test_bad_reset_mode_method_and_dt():
    with pytest.raises(ValueError, match="reset must be one of 'subtract', 'zero', 'none'; got 'hard'"):
        snn.LIF(reset="hard")
    with pytest.raises(ValueError, match="method must be one of"):
        snn.LIF(method="rk4")
    with pytest.raises(ValueError, match="dt must be positive"):
        snn.LIF(dt=0.0)
    with pytest.raises(ValueError, match="forward Euler needs tau_mem >= dt"):
        snn.LIF(tau_mem=0.5e-3, method="euler")


def test_bad_surrogate_and_refractory():
    from spikeforge.functional.surrogate import FastSigmoid

    with pytest.raises(TypeError, match="instance such as FastSigmoid"):
        snn.LIF(surrogate=FastSigmoid)
    with pytest.raises(TypeError, match="surrogate must be a Surrogate object"):
        snn.LIF(surrogate=torch.sigmoid)
    with pytest.raises(ValueError, match="t_refrac must be non-negative"):
        snn.LIF(t_refrac=-1e-3)
    with pytest.raises(ValueError, match="refractory_steps must be a non-negative integer"):
        snn.LIF(refractory_steps=1.5)


def test_wrong_neuron_shape():
    with pytest.raises(ValueError, match=r"built for neuron shape \(4,\).*trailing dimensions are \(5,\)"):
        snn.LIF(4)(torch.rand(3, 2, 5))


def test_learned_parameter_that_became_invalid_is_reported():
    lif = snn.LIF(3, learn_v_threshold=True)
    with torch.no_grad():
        lif.v_threshold[1] = -1.0
    with pytest.raises(ValueError, match="v_threshold must be greater than v_reset"):
        lif(torch.rand(4, 2, 3))


def test_functional_sequence_checks_input_too():
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        lif_sequence(torch.rand(2, 3), None, LIFParameters())
