"""The Triton kernels on a real GPU equal the reference (runs only where CUDA is available)."""

import itertools

import pytest
import torch

import spikeforge.nn as snn
from spikeforge.functional import surrogate as sg
from spikeforge.kernels import backend_installed, resolve

from ._parity import MODELS, assert_parity, build_pair

pytestmark = pytest.mark.skipif(
    not (torch.cuda.is_available() and backend_installed("triton")), reason="needs a CUDA GPU and triton"
)


@pytest.mark.parametrize("name,reset,refrac,recompute", list(itertools.product(
    MODELS, ("subtract", "zero"), (0, 2), (False, True))))
def test_triton_on_cuda_matches_reference(name, reset, refrac, recompute):
    torch.manual_seed(0)
    ref, fused = build_pair(name, "triton", 300, dtype=torch.float32, reset=reset, refractory_steps=refrac,
                            recompute=recompute, v_threshold=0.7, surrogate=sg.ATan(alpha=3.0))
    ref, fused = ref.cuda(), fused.cuda()
    assert_parity(ref, fused, torch.rand(64, 5, 300, device="cuda") * 3, rtol=1e-4)


def test_auto_uses_triton_on_cuda():
    lif = snn.LIF().cuda()
    x = torch.rand(4, 2, 8, device="cuda")
    assert resolve("auto", lif.model, x, lif.neuron_parameters()) == "triton"
