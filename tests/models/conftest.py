"""The zoo tests use tiny tensors: one intra-op thread is faster than two, and far faster
when the cores are shared (threads then spin waiting for each other)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
