"""Small data sets and models for the trainer tests (importable by spawned processes)."""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch.utils.data import Dataset

import spikeforge.nn as snn


class ToyImages(Dataset):
    """``n`` static samples ``x [F]`` in [0, 1], label the arg-max of a fixed projection (learnable)."""

    is_sequence = False
    per_step_labels = False

    def __init__(self, n: int = 96, features: int = 6, classes: int = 3, seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.rand(n, features, generator=g)
        w = torch.randn(features, classes, generator=torch.Generator().manual_seed(1234))
        self.y = (self.x @ w).argmax(1)
        self.num_classes, self.input_shape = classes, (features,)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]


class ToySequences(Dataset):
    """``n`` sequences ``x [T, F]``; labels per sequence ``[]`` or per step ``[T]``."""

    is_sequence = True

    def __init__(self, n: int = 32, steps: int = 12, features: int = 3, classes: int = 3, per_step: bool = False,
                 seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.x = torch.rand(n, steps, features, generator=g)
        self.per_step_labels = per_step
        if per_step:
            self.y = (self.x.cumsum(1) * torch.arange(1, features + 1)).sum(-1).long() % classes
        else:
            self.y = self.x.sum((1, 2)).argsort().argsort() * classes // n
        self.num_classes, self.input_shape = classes, (features,)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[Tensor, Tensor]:
        return self.x[i], self.y[i]


def collate_time_major(batch):
    xs, ys = zip(*batch)
    return torch.stack(xs, 1), torch.stack(ys, -1)


class Repeat(nn.Module):
    """A spiking classifier for static ``x [B, F]`` (repeated over ``steps``) or sequences ``[T, B, F]``."""

    def __init__(self, features: int = 6, classes: int = 3, hidden: int = 16, steps: int = 5,
                 dropout: float = 0.0, recurrent: bool = False) -> None:
        super().__init__()
        self.steps = steps
        layers: list[nn.Module] = []
        if recurrent:
            layers.append(snn.RecurrentLIF(features, hidden, tau_mem=5e-3, backend="torch"))
        else:
            layers += [nn.Linear(features, hidden), snn.LIF(hidden, tau_mem=5e-3, r=2.0, backend="torch")]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.Linear(hidden, classes), snn.LI(classes, tau_mem=10e-3, backend="torch")]
        self.net = snn.Sequential(*layers)

    def forward(self, x: Tensor, state=None):
        if x.dim() == 2:
            x = x.unsqueeze(0).expand(self.steps, *x.shape)
        return self.net(x, state)


def toy_model(seed: int = 0, **kwargs) -> Repeat:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return Repeat(**kwargs)


def weights(model: nn.Module) -> dict[str, Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
