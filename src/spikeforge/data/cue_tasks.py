r"""The two memory tasks of the e-prop paper, generated on the fly (no files, no download).

Bellec, G. et al. "A solution to the learning dilemma for recurrent networks of spiking
neurons", Nat. Commun. 11, 3625 (2020): Fig. 3 (evidence accumulation) and the store-recall
task (Supplementary Note; first in Bellec et al. 2018, "Long short-term memory and
learning-to-learn in networks of spiking neurons"). Inputs are Poisson spike trains
(one step is ``dt``; a rate of ``f`` Hz fires with probability ``f * dt`` per step).

**Evidence accumulation** (:class:`EvidenceAccumulation`): four groups of ``channels``
input neurons: left cue, right cue, recall cue, background noise. ``n_cues`` cues (each on
the left or the right at random, ``cue_steps`` of ``cue_rate`` Hz on that group) separated
by ``gap_steps``, then a delay of ``delay_steps``, then the recall cue for ``recall_steps``;
the background group fires at ``noise_rate`` throughout. The answer is the side that had
more cues (``n_cues`` is odd). The paper: 7 cues of 100 ms, 50 ms gaps, 1050 ms delay,
150 ms recall, 40 Hz cues, 10 Hz noise, 10 neurons per group: ``T = 2250`` steps at 1 ms.

**Store-recall** (:class:`StoreRecall`): four groups: *store*, *recall*, *value 0*,
*value 1*. Time is cut into ``periods`` periods of ``period_steps``. In one random period
the store group and the group of a random bit fire; in a later random period (at most
``max_delay`` periods later) the recall group fires, and the answer during that period is
the stored bit. Active groups fire at ``rate`` Hz, all at ``noise_rate`` Hz otherwise.

Items: ``(x, y)`` with ``x`` float32 ``[T, 4 * channels]`` of 0/1 spikes and per-step
labels ``y`` int64 ``[T]``: the answer (0/1) in the recall window, ``-100`` elsewhere (the
``per_step`` objective's ``ignore_index``), so only the decision is scored and an online
rule gets its error at the time of the decision. Sample ``i`` of a split is drawn from
its own generator seeded by ``(seed, split, i)``: the same on every call and machine.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.utils.data import Dataset

__all__ = ["EvidenceAccumulation", "StoreRecall", "IGNORE"]

IGNORE = -100
"""Label of unscored steps."""


def _check_int(value: int, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def _check_rate(value: float, name: str, dt: float) -> float:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0 or value * dt > 1:
        raise ValueError(f"{name} must be a rate in Hz between 0 and 1/dt = {1 / dt:g}, got {value!r}")
    return float(value)


class _Generated(Dataset):
    is_sequence = True
    per_step_labels = True
    num_classes = 2

    def __init__(self, size: int, seed: int, train: bool, channels: int, dt: float) -> None:
        self.size = _check_int(size, "size", 1)
        self.seed = _check_int(seed, "seed", 0)
        self.train = bool(train)
        self.channels = _check_int(channels, "channels", 1)
        if not isinstance(dt, (int, float)) or dt <= 0:
            raise ValueError(f"dt must be a positive number of seconds, got {dt!r}")
        self.dt = float(dt)
        self.input_shape = (4 * self.channels,)

    def __len__(self) -> int:
        return self.size

    def _generator(self, index: int) -> torch.Generator:
        if not 0 <= index < self.size:
            raise IndexError(f"index {index} out of range for {type(self).__name__} of size {self.size}")
        return torch.Generator().manual_seed((self.seed * 2 + (0 if self.train else 1)) * 1_000_003 + index)

    def _spikes(self, rates: Tensor, g: torch.Generator) -> Tensor:
        """0/1 spikes ``[T, 4 * channels]`` from per-step, per-group rates ``[T, 4]`` in Hz."""
        p = (rates * self.dt).repeat_interleave(self.channels, dim=1)
        return (torch.rand(p.shape, generator=g) < p).float()


class EvidenceAccumulation(_Generated):
    """The evidence-accumulation task (see the module docstring); defaults are the paper's.

    Examples:
        >>> ds = EvidenceAccumulation(size=8, n_cues=3, delay_steps=100)
        >>> x, y = ds[0]
        >>> x.shape, ds.num_steps, int((y >= 0).sum())
        (torch.Size([700, 40]), 700, 150)
    """

    def __init__(self, size: int = 1000, *, seed: int = 0, train: bool = True, n_cues: int = 7,
                 cue_steps: int = 100, gap_steps: int = 50, delay_steps: int = 1050, recall_steps: int = 150,
                 cue_rate: float = 40.0, noise_rate: float = 10.0, channels: int = 10, dt: float = 1e-3) -> None:
        super().__init__(size, seed, train, channels, dt)
        self.n_cues = _check_int(n_cues, "n_cues", 1)
        if n_cues % 2 == 0:
            raise ValueError(f"n_cues must be odd so that one side always has more cues, got {n_cues}")
        self.cue_steps = _check_int(cue_steps, "cue_steps", 1)
        self.gap_steps = _check_int(gap_steps, "gap_steps", 0)
        self.delay_steps = _check_int(delay_steps, "delay_steps", 0)
        self.recall_steps = _check_int(recall_steps, "recall_steps", 1)
        self.cue_rate = _check_rate(cue_rate, "cue_rate", dt)
        self.noise_rate = _check_rate(noise_rate, "noise_rate", dt)
        self.num_steps = n_cues * (cue_steps + gap_steps) + delay_steps + recall_steps

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        g = self._generator(index)
        sides = torch.randint(0, 2, (self.n_cues,), generator=g)
        rates = torch.zeros(self.num_steps, 4)
        rates[:, 3] = self.noise_rate
        for k, side in enumerate(sides.tolist()):
            start = k * (self.cue_steps + self.gap_steps)
            rates[start:start + self.cue_steps, side] = self.cue_rate
        rates[-self.recall_steps:, 2] = self.cue_rate
        y = torch.full((self.num_steps,), IGNORE, dtype=torch.long)
        y[-self.recall_steps:] = int(2 * int(sides.sum()) > self.n_cues)  # 1: more cues on the right
        return self._spikes(rates, g), y


class StoreRecall(_Generated):
    """The store-recall task (see the module docstring).

    Examples:
        >>> ds = StoreRecall(size=8, periods=6, period_steps=20)
        >>> x, y = ds[0]
        >>> x.shape, int((y >= 0).sum())
        (torch.Size([120, 40]), 20)
    """

    def __init__(self, size: int = 1000, *, seed: int = 0, train: bool = True, periods: int = 10,
                 period_steps: int = 40, max_delay: int | None = None, rate: float = 50.0,
                 noise_rate: float = 0.0, channels: int = 10, dt: float = 1e-3) -> None:
        super().__init__(size, seed, train, channels, dt)
        self.periods = _check_int(periods, "periods", 2)
        self.period_steps = _check_int(period_steps, "period_steps", 1)
        self.max_delay = periods - 1 if max_delay is None else _check_int(max_delay, "max_delay", 1)
        if self.max_delay > periods - 1:
            raise ValueError(f"max_delay must be at most periods - 1 = {periods - 1}, got {max_delay}")
        self.rate = _check_rate(rate, "rate", dt)
        self.noise_rate = _check_rate(noise_rate, "noise_rate", dt)
        self.num_steps = periods * period_steps

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        g = self._generator(index)
        delay = int(torch.randint(1, self.max_delay + 1, (1,), generator=g))
        store = int(torch.randint(0, self.periods - delay, (1,), generator=g))
        bit = int(torch.randint(0, 2, (1,), generator=g))
        n = self.period_steps
        rates = torch.full((self.num_steps, 4), self.noise_rate)
        rates[store * n:(store + 1) * n, [0, 2 + bit]] = self.rate
        recall = store + delay
        rates[recall * n:(recall + 1) * n, 1] = self.rate
        y = torch.full((self.num_steps,), IGNORE, dtype=torch.long)
        y[recall * n:(recall + 1) * n] = bit
        return self._spikes(rates, g), y
