"""Leaky integrator golden values."""

import pytest
import torch

from spikeforge.functional import LIParameters, li_sequence

from ._golden import flat, seq


def test_leaky_integration():
    v, state = li_sequence(seq([1, 1, 0, 0]), None, LIParameters(tau_mem=2e-3, method="euler"))
    assert flat(v) == [0.5, 0.75, 0.375, 0.1875]
    assert state.v.item() == 0.1875


def test_exponential_and_leak():
    p = LIParameters(tau_mem=20e-3, v_leak=1.0)
    v, _ = li_sequence(torch.zeros(5, 1, 1, dtype=torch.float64), None, p)
    assert flat(v) == pytest.approx([1.0] * 5)  # rest stays at v_leak
