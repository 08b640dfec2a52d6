"""Generator states survive a weights-only checkpoint and replay the same draws."""

import random

import numpy as np
import torch

from spikeforge.learning.rng_state import rng_state, set_rng_state


def test_restored_state_replays_every_generator(tmp_path):
    torch.manual_seed(1), random.seed(2), np.random.seed(3)
    path = tmp_path / "rng.pt"
    torch.save(rng_state(), path)
    first = (torch.rand(3), random.random(), np.random.rand(2), np.random.randn())  # randn caches a gauss
    set_rng_state(torch.load(path, weights_only=True))
    again = (torch.rand(3), random.random(), np.random.rand(2), np.random.randn())
    assert torch.equal(first[0], again[0]) and first[1] == again[1]
    assert np.array_equal(first[2], again[2]) and first[3] == again[3]
