"""Rate (Bernoulli, Poisson) and direct encoders: statistics, reproducibility, dtypes, errors."""

import math

import pytest
import torch

from spikeforge.encoding import bernoulli, direct, poisson


def gen(seed):
    return torch.Generator().manual_seed(seed)


def assert_binary(s):
    assert bool(((s == 0) | (s == 1)).all())


def assert_rates_match(spikes, p, sigmas=5.0):
    """Per-element spike frequency within ``sigmas`` binomial standard deviations of ``p``."""
    n = spikes.shape[0]
    freq = spikes.double().mean(0)
    p = torch.as_tensor(p, dtype=torch.float64).expand_as(freq)
    tol = sigmas * torch.sqrt(p * (1 - p) / n) + 1e-12  # exact 0/1 for p in {0, 1}
    assert bool(((freq - p).abs() <= tol).all()), f"frequencies {freq.flatten().tolist()} vs {p.flatten().tolist()}"


# --- Bernoulli ------------------------------------------------------------------------


def test_bernoulli_per_element_rates_match():
    x = torch.tensor([[0.0, 0.05, 0.2, 0.5, 0.9, 1.0]])
    s = bernoulli(x, 20000, generator=gen(1))
    assert s.shape == (20000, 1, 6)
    assert_binary(s)
    assert_rates_match(s, x)
    assert s[:, 0, 0].sum() == 0 and s[:, 0, -1].sum() == 20000


def test_bernoulli_large_sample_mean():
    s = bernoulli(torch.full((100, 100), 0.3), 200, generator=gen(2))
    n = s.numel()
    assert abs(s.double().mean().item() - 0.3) <= 5 * math.sqrt(0.3 * 0.7 / n)


def test_bernoulli_gain_scales_then_clamps():
    x = torch.tensor([[0.1, 0.25, 0.75, -0.5, 3.0]])
    s = bernoulli(x, 20000, gain=2.0, generator=gen(3))
    assert_rates_match(s, torch.tensor([[0.2, 0.5, 1.0, 0.0, 1.0]]))


def test_bernoulli_zero_gain_is_silent():
    assert bernoulli(torch.ones(3, 4), 10, gain=0.0).sum() == 0


# --- Poisson --------------------------------------------------------------------------


def test_poisson_bin_probability_is_one_minus_exp():
    rates = torch.tensor([[0.0, 20.0, 100.0, 300.0, 700.0]])
    s = poisson(rates, 20000, dt=1e-3, generator=gen(4))
    assert_binary(s)
    # 1 - exp(-r dt), not r dt: at 700 Hz that is 0.503, not 0.7
    assert_rates_match(s, 1 - torch.exp(-rates * 1e-3))


def test_poisson_dt_sets_the_time_unit():
    rates = torch.tensor([[50.0]])
    s = poisson(rates, 20000, dt=10e-3, generator=gen(5))
    assert_rates_match(s, 1 - math.exp(-0.5))


def test_poisson_large_sample_mean_rate_in_hz():
    s = poisson(torch.full((50, 200), 40.0), 250, dt=1e-3, generator=gen(6))
    p = 1 - math.exp(-0.04)
    assert abs(s.double().mean().item() - p) <= 5 * math.sqrt(p * (1 - p) / s.numel())


# --- Reproducibility, dtype, device ---------------------------------------------------


@pytest.mark.parametrize("encode", [bernoulli, poisson])
def test_same_seed_same_spikes_different_seed_different(encode):
    x = torch.full((4, 8), 0.5) if encode is bernoulli else torch.full((4, 8), 300.0)
    a = encode(x, 50, generator=gen(7))
    b = encode(x, 50, generator=gen(7))
    c = encode(x, 50, generator=gen(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("encode", [bernoulli, poisson])
def test_generator_leaves_global_rng_alone(encode):
    before = torch.get_rng_state()
    encode(torch.full((3, 3), 0.5), 10, generator=gen(0))
    assert torch.equal(torch.get_rng_state(), before)


@pytest.mark.parametrize("encode", [bernoulli, poisson])
def test_without_generator_uses_global_rng(encode):
    torch.manual_seed(123)
    a = encode(torch.full((3, 3), 0.5), 10)
    torch.manual_seed(123)
    b = encode(torch.full((3, 3), 0.5), 10)
    assert torch.equal(a, b)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
@pytest.mark.parametrize("encode", [bernoulli, poisson])
def test_output_dtype_and_device_follow_input(encode, dtype):
    x = torch.full((2, 3), 0.5, dtype=dtype)
    s = encode(x, 7, generator=gen(0))
    assert s.dtype == dtype and s.device == x.device and s.shape == (7, 2, 3)
    assert_binary(s)


def test_low_precision_inputs_get_float32_probabilities():
    x = torch.full((1, 4), 0.3)
    a = bernoulli(x, 100, generator=gen(9))
    b = bernoulli(x.half(), 100, generator=gen(9))
    assert torch.equal(a, b.float())


# --- Direct ---------------------------------------------------------------------------


def test_direct_repeats_the_value_as_a_view_and_sums_gradients():
    x = torch.tensor([[0.25, -1.5, 3.0]], requires_grad=True)
    y = direct(x, 4)
    assert y.shape == (4, 1, 3)
    assert torch.equal(y, x.detach().expand(4, 1, 3))
    assert y.stride(0) == 0 and y.data_ptr() == x.data_ptr()
    y.sum().backward()
    assert torch.equal(x.grad, torch.full((1, 3), 4.0))


# --- Errors ---------------------------------------------------------------------------


@pytest.mark.parametrize("encode", [bernoulli, poisson, direct])
def test_encoder_input_errors(encode):
    with pytest.raises(TypeError, match="floating-point"):
        encode(torch.ones(2, 3, dtype=torch.int64), 5)
    with pytest.raises(TypeError, match="torch.Tensor"):
        encode([0.5, 0.5], 5)
    with pytest.raises(ValueError, match="NaN or Inf"):
        encode(torch.tensor([[0.5, float("nan")]]), 5)
    with pytest.raises(ValueError, match=r"at least 1 dimensions.*\[B, \.\.\.\]"):
        encode(torch.tensor(0.5), 5)
    with pytest.raises(ValueError, match="num_steps must be an integer >= 1, got 0"):
        encode(torch.ones(2, 3), 0)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        encode(torch.ones(2, 3), 2.5)
    with pytest.raises(TypeError, match="num_steps must be an integer"):
        encode(torch.ones(2, 3), True)


def test_poisson_negative_rates_and_bad_dt():
    with pytest.raises(ValueError, match="non-negative firing rates in Hz.*-5"):
        poisson(torch.tensor([[10.0, -5.0]]), 5)
    with pytest.raises(ValueError, match="dt must be positive"):
        poisson(torch.ones(1, 2), 5, dt=0.0)


def test_bernoulli_negative_gain():
    with pytest.raises(ValueError, match="gain must be non-negative"):
        bernoulli(torch.ones(1, 2), 5, gain=-1.0)
