"""Small networks for the hardware tests: one per exportable module, and a whole SCNN."""

from __future__ import annotations

import torch
from torch import nn

import spikeforge.nn as snn

ZERO = dict(reset="zero")


def single_module_nets() -> dict[str, tuple[snn.Sequential, tuple[int, ...]]]:
    """``{name: (network, per-sample input shape)}``, each exercising one exportable module."""
    torch.manual_seed(0)
    per_neuron = torch.linspace(0.8, 1.2, 6)
    nets = {
        "linear": (snn.Sequential(nn.Linear(5, 6), snn.LIF(**ZERO)), (5,)),
        "linear_no_bias": (snn.Sequential(nn.Linear(5, 6, bias=False), snn.LIF(**ZERO)), (5,)),
        "lif_exp": (snn.Sequential(nn.Linear(5, 6), snn.LIF(tau_mem=7e-3, r=3.0, v_leak=0.1, v_reset=-0.2,
                                                           v_threshold=per_neuron, **ZERO)), (5,)),
        "lif_euler": (snn.Sequential(nn.Linear(5, 6), snn.LIF(6, tau_mem=4e-3, r=2.0, dt=5e-4, method="euler",
                                                             **ZERO)), (5,)),
        "lif_learnable": (snn.Sequential(nn.Linear(5, 6), snn.LIF(6, tau_mem=9e-3, learn_tau_mem=True,
                                                                 learn_v_threshold=True, **ZERO)), (5,)),
        "if": (snn.Sequential(nn.Linear(5, 6), snn.IF(r=0.37, v_threshold=per_neuron, **ZERO)), (5,)),
        "if_dt": (snn.Sequential(nn.Linear(5, 6), snn.IF(r=1.3, dt=3e-4, **ZERO)), (5,)),
        "cuba_lif": (snn.Sequential(nn.Linear(5, 6), snn.CubaLIF(tau_mem=6e-3, tau_syn=3e-3, r=2.5, **ZERO)), (5,)),
        "cuba_lif_euler": (snn.Sequential(nn.Linear(5, 6), snn.CubaLIF(tau_mem=6e-3, tau_syn=2e-3, r=2.5,
                                                                      method="euler", **ZERO)), (5,)),
        "li": (snn.Sequential(nn.Linear(5, 6), snn.LI(tau_mem=15e-3, r=2.0, v_leak=0.05)), (5,)),
        "recurrent_lif": (snn.Sequential(snn.RecurrentLIF(5, 6, tau_mem=8e-3, r=4.0, **ZERO)), (5,)),
        "recurrent_lif_no_bias": (snn.Sequential(snn.RecurrentLIF(5, 6, bias=False, r=4.0, **ZERO)), (5,)),
        "conv2d": (snn.Sequential(nn.Conv2d(2, 4, 3, padding=1), snn.LIF(r=4.0, **ZERO)), (2, 6, 6)),
        "conv2d_strided": (snn.Sequential(nn.Conv2d(2, 4, 3, stride=2, dilation=1, bias=False),
                                                  snn.LIF(r=4.0, **ZERO)), (2, 7, 7)),
        "conv2d_batchnorm": (snn.Sequential(nn.Conv2d(2, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4),
                                            snn.LIF(r=4.0, **ZERO)), (2, 6, 6)),
        "avgpool_flatten": (snn.Sequential(nn.Conv2d(1, 3, 3, padding=1), snn.LIF(r=4.0, **ZERO), nn.AvgPool2d(2),
                                           nn.Flatten(), nn.Linear(27, 4), snn.LIF(r=4.0, **ZERO)), (1, 6, 6)),
    }
    bn = nets["conv2d_batchnorm"][0][1]
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    for net, _ in nets.values():
        net.eval()
    return nets


def inputs(shape: tuple[int, ...], steps: int = 20, batch: int = 3, gain: float = 2.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(1)
    return torch.rand((steps, batch, *shape), generator=g) * gain
