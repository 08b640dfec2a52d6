"""The generated memory tasks of the e-prop paper: shapes, labels, determinism, errors."""

from __future__ import annotations

import pytest
import torch

from spikeforge.data import EvidenceAccumulation, StoreRecall, build_dataset, collate_for
from spikeforge.data.cue_tasks import IGNORE


def test_evidence_layout_and_answer():
    ds = EvidenceAccumulation(size=20, n_cues=5, cue_steps=20, gap_steps=10, delay_steps=30, recall_steps=15,
                              cue_rate=500.0, noise_rate=0.0, channels=4)
    assert ds.num_steps == 5 * 30 + 30 + 15 and ds.input_shape == (16,)
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == (ds.num_steps, 16) and set(x.unique().tolist()) <= {0.0, 1.0}
        assert (y[:-15] == IGNORE).all() and (y[-15:] == y[-1]).all() and int(y[-1]) in (0, 1)
        # count the cues from the spikes: group 0 is left, group 1 right
        cue_windows = x[:150].reshape(5, 30, 4, 4)[:, :20].sum((1, 3))  # [cue, group]
        right = int((cue_windows[:, 1] > cue_windows[:, 0]).sum())
        assert int(y[-1]) == int(right > 2)
        assert x[-15:, 8:12].sum() > 0 and x[150:180].sum() == 0  # recall cue; silent delay


def test_store_recall_answer_is_the_stored_bit():
    ds = StoreRecall(size=30, periods=6, period_steps=10, rate=800.0, channels=3)
    for i in range(len(ds)):
        x, y = ds[i]
        groups = x.reshape(6, 10, 4, 3).sum((1, 3))  # [period, group]
        store, recall = int(groups[:, 0].argmax()), int(groups[:, 1].argmax())
        assert store < recall
        bit = int(groups[store, 3] > groups[store, 2])
        scored = (y != IGNORE).nonzero().flatten()
        assert scored.tolist() == list(range(recall * 10, recall * 10 + 10))
        assert (y[scored] == bit).all()


def test_samples_are_deterministic_and_splits_differ():
    a = EvidenceAccumulation(size=3, seed=1, delay_steps=10)
    b = EvidenceAccumulation(size=3, seed=1, delay_steps=10)
    test = EvidenceAccumulation(size=3, seed=1, delay_steps=10, train=False)
    assert torch.equal(a[2][0], b[2][0]) and not torch.equal(a[2][0], test[2][0])
    with pytest.raises(IndexError):
        a[3]


def test_registry_and_batching():
    ds = build_dataset("store_recall", train=False, test_size=5, periods=4, period_steps=5)
    assert len(ds) == 5 and ds.per_step_labels and ds.is_sequence
    x, y = collate_for(ds)([ds[i] for i in range(5)])
    assert x.shape == (20, 5, 40) and y.shape == (20, 5)
    assert len(build_dataset("evidence", train=True, train_size=7)) == 7


@pytest.mark.parametrize("kwargs, match", [({"n_cues": 4}, "odd"), ({"cue_rate": 2000.0}, "rate"),
                                           ({"size": 0}, "size"), ({"dt": -1.0}, "dt")])
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        EvidenceAccumulation(**kwargs)
    with pytest.raises(ValueError, match="max_delay"):
        StoreRecall(periods=3, max_delay=5)
