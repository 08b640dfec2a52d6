"""Fused multi-step neuron kernels: the time loop of LIF, IF, CubaLIF and ALIF in one pass.

See :mod:`.spec` for the recurrence every backend implements, :mod:`.registry` for how a
backend is chosen and :mod:`.ops` for the ``torch.library`` custom ops.
"""

from .fused import fused_sequence
from .registry import BACKENDS, KERNEL_MODELS, backend_installed, resolve, unsupported_reason

__all__ = ["BACKENDS", "KERNEL_MODELS", "backend_installed", "fused_sequence", "resolve", "unsupported_reason"]
