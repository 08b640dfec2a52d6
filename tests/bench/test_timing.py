"""time_fn: call counts, first-call separation, sane numbers for a sleep."""

import time

import pytest

from spikeforge.bench.timing import TimingResult, time_fn


def test_sleep_is_timed_sanely():
    r = time_fn(lambda: time.sleep(0.01), repeats=3, warmup=1)
    assert isinstance(r, TimingResult)
    assert len(r.all_s) == 3
    assert 0.009 <= r.median_s < 0.1
    assert min(r.all_s) <= r.median_s <= max(r.all_s)
    assert r.first_call_s >= 0.009


def test_first_call_warmup_and_repeats_are_counted_apart():
    calls = []

    def fn():
        calls.append(len(calls))
        if len(calls) == 1:
            time.sleep(0.05)  # the "compile" call

    r = time_fn(fn, repeats=5, warmup=2)
    assert len(calls) == 1 + 2 + 5
    assert r.first_call_s >= 0.05
    assert max(r.all_s) < 0.05


def test_sync_is_called_around_the_timed_calls():
    syncs = []
    time_fn(lambda: None, repeats=2, warmup=0, sync=lambda: syncs.append(1))
    assert len(syncs) >= 2 + 1


@pytest.mark.parametrize("kwargs", [{"repeats": 0}, {"warmup": -1}])
def test_bad_counts_raise(kwargs):
    with pytest.raises(ValueError):
        time_fn(lambda: None, **kwargs)


def test_faults_per_call_counts_fresh_pages():
    mmap = pytest.importorskip("mmap")
    pytest.importorskip("resource")
    pages = 256

    def touch_fresh_pages():
        m = mmap.mmap(-1, pages * mmap.PAGESIZE)  # a new mapping: every page faults once
        for k in range(pages):
            m[k * mmap.PAGESIZE] = 1
        m.close()

    r = time_fn(touch_fresh_pages, repeats=3, warmup=0)
    assert pages <= r.faults_per_call < 4 * pages
    assert time_fn(lambda: None, repeats=3, warmup=0).faults_per_call < pages
