r"""The membrane of adaptive output neurons over a whole sequence, with a hand-written backward.

:class:`~spikeforge.models._readout.ALIFMembrane` returns the membrane :math:`u_t` of
adaptive LIF neurons. Differentiated by autograd through a Python loop, its ~30 tensor
operations per step dominate the ECG model's training step (1301 steps, 6 neurons: 7 s of
a 7.5 s step). This module runs the same recurrence as one autograd node: the forward
loop without a graph, the backward as one reverse loop of a few operations per step,
everything that does not depend on the previous step computed for all steps at once.

The recurrence (subtractive reset, no refractory period; the drive
:math:`c_t = (1-d)\,(R\,x_t + V_\text{leak})` is computed by the caller, so autograd
takes its share of the gradients of :math:`d`, :math:`R` and :math:`V_\text{leak}`):

.. math::
    u_t = d\,v_{t-1} + c_t,\qquad \vartheta_t = V_\text{th} + \beta\, b_{t-1},\qquad
    s_t = \Theta(u_t - \vartheta_t),\\
    v_t = u_t - \bar s_t\,(\vartheta_t - V_\text{reset}),\qquad
    b_t = \rho\, b_{t-1} + (1-\rho)\, s_t,

with :math:`\bar s` the spike, detached in the reset or not (``detach``), and
:math:`\partial s_t/\partial u_t = \psi_t` the surrogate's derivative at
:math:`u_t - \vartheta_t`. Going back in time with :math:`\delta v = \partial L/\partial v_t`,
:math:`\delta b = \partial L/\partial b_t` and the output's gradient
:math:`g_t = \partial L/\partial u_t`:

.. math::
    \delta s &= (1-\rho)\,\delta b \;[-\,(\vartheta_t - V_\text{reset})\,\delta v
    \text{ unless detached}], &
    \delta u_t &= g_t + \delta v + \psi_t\,\delta s, &
    \delta\vartheta_t &= -s_t\,\delta v - \psi_t\,\delta s,\\
    \delta b &\leftarrow \rho\,\delta b + \beta\,\delta\vartheta_t, &
    \delta v &\leftarrow d\,\delta u_t,

and the parameters' gradients are sums over steps of :math:`\delta u_t v_{t-1}` (for
:math:`d`), :math:`\delta b_t (b_{t-1} - s_t)` (for :math:`\rho`), :math:`\delta\vartheta_t`
(for :math:`V_\text{th}`), :math:`\delta\vartheta_t b_{t-1}` (for :math:`\beta`) and
:math:`\delta v_t\, s_t` (for :math:`V_\text{reset}`), with :math:`\delta b_t` the value
at the start of step :math:`t`'s update. ``tests/models/test_alif_membrane_scan.py``
checks all of them against autograd through the reference loop in float64.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ..functional.surrogate import Surrogate

__all__ = ["alif_membrane_scan"]


def _sum_to(grad: Tensor, like: Tensor) -> Tensor:
    """Reduce a broadcast gradient to ``like``'s shape."""
    return grad.sum_to_size(like.shape)


class _ALIFMembraneScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, c: Tensor, d: Tensor, rho: Tensor, v_th: Tensor, beta: Tensor, v_reset: Tensor,
                v0: Tensor, b0: Tensor, surrogate: Surrogate, detach: bool) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        T = c.shape[0]
        u_all = torch.empty_like(c)
        s_all = torch.empty_like(c)
        b_prev = torch.empty_like(c)
        v, b = v0.expand_as(c[0]).clone(), b0.expand_as(c[0]).clone()
        keep = 1 - rho
        for t in range(T):
            b_prev[t] = b
            u = torch.addcmul(c[t], d, v, out=u_all[t])
            threshold = torch.addcmul(v_th, beta, b)
            s = s_all[t].copy_(u >= threshold)  # the Heaviside step, 1 where u >= threshold
            v = u - s * (threshold - v_reset)
            b = torch.addcmul(rho * b, keep, s)
        ctx.surrogate, ctx.detach = surrogate, detach
        ctx.save_for_backward(d, rho, v_th, beta, v_reset, v0, b0, u_all, s_all, b_prev)
        ctx.mark_non_differentiable(s_all)
        return u_all, v, b, s_all

    @staticmethod
    def backward(ctx: Any, g_u: Tensor, g_v: Tensor | None, g_b: Tensor | None, _g_s: Any) -> tuple:
        d, rho, v_th, beta, v_reset, v0, b0, u_all, s_all, b_prev = ctx.saved_tensors
        threshold = v_th + beta * b_prev
        # the membranes before each step, derived instead of stored: v_t = u_t - s_t (theta_t - V_reset)
        drop = threshold - v_reset  # what a spike subtracts, every step at once
        v_after = u_all - s_all * drop
        v_prev = torch.cat([v0.expand_as(u_all[0]).unsqueeze(0), v_after[:-1]])
        psi = ctx.surrogate.derivative(u_all - threshold)
        g_u = torch.zeros_like(u_all) if g_u is None else g_u
        dv = torch.zeros_like(u_all[0]) if g_v is None else g_v.expand_as(u_all[0]).clone()
        db = torch.zeros_like(u_all[0]) if g_b is None else g_b.expand_as(u_all[0]).clone()
        du_all = torch.empty_like(u_all)
        dth_all = torch.empty_like(u_all)
        db_all = torch.empty_like(u_all)
        dv_all = torch.empty_like(u_all)
        keep, detach = 1 - rho, ctx.detach
        for t in range(u_all.shape[0] - 1, -1, -1):
            db_all[t] = db
            dv_all[t] = dv
            ds = keep * db if detach else keep * db - drop[t] * dv
            du = g_u[t] + dv + psi[t] * ds
            dth = -(s_all[t] * dv + psi[t] * ds)
            du_all[t] = du
            dth_all[t] = dth
            db = torch.addcmul(rho * db, beta, dth)
            dv = d * du
        grads = (
            du_all,
            _sum_to(du_all * v_prev, d),
            _sum_to(db_all * (b_prev - s_all), rho),
            _sum_to(dth_all, v_th),
            _sum_to(dth_all * b_prev, beta),
            _sum_to(dv_all * s_all, v_reset),
            _sum_to(dv, v0),
            _sum_to(db, b0),
            None,
            None,
        )
        return tuple(g if need else None for g, need in zip(grads, ctx.needs_input_grad))


def alif_membrane_scan(c: Tensor, d: Tensor, rho: Tensor, v_th: Tensor, beta: Tensor, v_reset: Tensor,
                       v0: Tensor, b0: Tensor, surrogate: Surrogate, detach: bool = True
                       ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The membranes ``u [T, B, ...]``, the final ``(v, b)`` and the spikes ``s [T, B, ...]`` of the recurrence above.

    The spikes carry no gradient (the loss reaches them through ``u``); they are returned for
    counting (:class:`~spikeforge.learning.monitor.SpikeMonitor`).

    Every coefficient broadcasts against one step ``c[t]``; gradients flow to all tensors.
    ``detach``: the reset's spike carries no gradient (the default of every neuron).
    """
    as_tensor = lambda value: torch.as_tensor(value, dtype=c.dtype, device=c.device)  # noqa: E731
    return _ALIFMembraneScan.apply(c, *(as_tensor(a) for a in (d, rho, v_th, beta, v_reset, v0, b0)), surrogate,
                                    bool(detach))
