"""The interleaved runner: libraries timed in rotating rounds; failures become notes."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from spikeforge.bench import interleaved
from spikeforge.bench.bandwidth import Bandwidth
from spikeforge.bench.interleaved import rotated, run_interleaved
from spikeforge.bench.peers import PeerUnavailable
from spikeforge.bench.runner import run_speed
from spikeforge.bench.workloads import LIFOnly

BW = Bandwidth(bytes_per_s=20e9, nbytes=1, median_s=1.0, device="cpu")


def test_rotated_starts_each_round_one_place_further():
    assert [rotated("abc", r) for r in range(4)] == [list("abc"), list("bca"), list("cab"), list("abc")]
    assert rotated([], 3) == []


def fake_adapters(log, *, unavailable=(), broken_at=None):
    """Adapters whose closures append their library name to ``log``; ``broken_at``: (name, call) raises."""
    calls = {}

    def adapter(name):
        def build(workload, device, variant):
            if name in unavailable:
                raise PeerUnavailable(f"{name} cannot run here")

            def fn():
                calls[name] = calls.get(name, 0) + 1
                if broken_at == (name, calls[name]):
                    raise RuntimeError(f"{name} broke\nsecond line")
                log.append(name)
            return fn
        return SimpleNamespace(available=lambda: True, build=build)
    return adapter


def test_every_library_is_called_once_per_round_in_rotating_order(monkeypatch):
    log = []
    monkeypatch.setattr(interleaved, "get_adapter", fake_adapters(log))
    pairs = [("a", "v"), ("b", "v"), ("c", "v")]
    rows = run_interleaved(LIFOnly(2, 1, 4), pairs, repeats=3, warmup=1, bandwidth=BW, measure_memory=False)
    assert log[:6] == ["a", "a", "b", "b", "c", "c"]  # first call and warm-up, one library after another
    assert log[6:] == ["a", "b", "c", "b", "c", "a", "c", "a", "b"]
    assert [r.label for r in rows] == ["a:v", "b:v", "c:v"]
    for row in rows:
        assert row.ok and len(row.all_ms) == 3 and row.min_ms <= row.median_ms and row.floor_ms > 0


def test_an_unavailable_or_failing_library_becomes_a_note_and_the_others_go_on(monkeypatch):
    log = []
    monkeypatch.setattr(interleaved, "get_adapter",
                        fake_adapters(log, unavailable={"b"}, broken_at=("c", 3)))  # c breaks in round 2
    rows = run_interleaved(LIFOnly(2, 1, 4), [("a", "v"), ("b", "v"), ("c", "v")], repeats=3, warmup=0,
                           measure_memory=False)
    a, b, c = rows
    assert a.ok and len(a.all_ms) == 3
    assert not b.ok and b.note == "skipped: b cannot run here"
    assert not c.ok and c.note == "failed: RuntimeError: c broke"


def test_run_speed_interleaved_times_the_real_libraries():
    rows = run_speed([LIFOnly(8, 2, 16)], ["spikeforge:torch", "torch_loop:eager"], "cpu", repeats=2, warmup=0,
                     bandwidth=BW, measure_memory=True, interleave=True)
    assert [r.label for r in rows] == ["spikeforge:torch", "torch_loop:eager"]
    for r in rows:
        assert r.ok and len(r.all_ms) == 2 and r.first_call_s > 0
        assert r.peak_mb is None or r.peak_mb >= 0


def test_repeats_must_be_positive():
    with pytest.raises(ValueError, match="repeats"):
        run_interleaved(LIFOnly(2, 1, 4), [("a", "v")], repeats=0)


def test_the_cli_flag_interleaves(capsys):
    from spikeforge.bench.speed import main

    code = main(["--quick", "--kinds", "lif", "--libraries", "torch_loop,spikeforge:torch", "--repeats", "2",
                 "--warmup", "0", "--no-memory", "--interleave"])
    assert code == 0
    text = capsys.readouterr().out
    assert "spikeforge:torch" in text and "torch_loop:eager" in text
