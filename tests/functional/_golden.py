"""Helpers for hand-computed golden sequences."""

import torch


def seq(values, dtype=torch.float64):
    """A [T, 1, 1] input from a list of per-step values."""
    return torch.tensor(values, dtype=dtype).reshape(-1, 1, 1)


def flat(t):
    return t.reshape(t.shape[0], -1)[:, 0].tolist()
