"""run_speed / format_table / the CLI on tiny shapes (seconds)."""

import json

from spikeforge.bench.bandwidth import Bandwidth
from spikeforge.bench.runner import Row, default_libraries, format_table, run_speed
from spikeforge.bench.speed import main
from spikeforge.bench.workloads import LIFOnly, SRNN

BW = Bandwidth(bytes_per_s=20e9, nbytes=1, median_s=1.0, device="cpu")


def test_run_speed_rows_and_table():
    rows = run_speed([LIFOnly(8, 2, 16)], ["spikeforge:torch", "torch_loop:eager", "spikeforge:triton"],
                     "cpu", repeats=2, warmup=0, bandwidth=BW, measure_memory=False)
    assert [r.label for r in rows] == ["spikeforge:torch", "torch_loop:eager", "spikeforge:triton"]
    for r in rows[:2]:
        assert r.ok and r.median_ms > 0 and r.first_call_s >= 0 and len(r.all_ms) == 2 and r.floor_ms > 0
        assert r.other_load is None or r.other_load >= 0
    assert rows[2].ok or rows[2].note.startswith(("skipped", "failed"))  # no GPU: a note, not a crash
    table = format_table(rows, BW)
    assert "copy bandwidth: 20.0 GB/s" in table
    assert "lif T=8 B=2 N=16" in table and "x spikeforge" in table and "1.00" in table


def test_a_row_measured_while_busy_is_measured_again():
    rows = run_speed([SRNN(4, 2, 3, input_size=2)], ["torch_loop:eager"], "cpu", repeats=1, warmup=0,
                     bandwidth=BW, measure_memory=False, quiet_threshold=-1.0, busy_retries=1)
    assert len(rows) == 1 and rows[0].ok  # every attempt counts as busy; the quietest is kept


def test_missing_peer_is_a_note():
    row = Row("w", "norse", "default", note="skipped: norse is not installed (pip install norse)")
    assert "norse:default: skipped" in format_table([row])


def test_quick_default_libraries_leave_out_compiled():
    assert all(v != "compiled" for _, v in default_libraries("cpu", compiled=False))
    assert ("spikingjelly", "compiled") in default_libraries("cpu")


def test_cli_quick(capsys, tmp_path):
    out = tmp_path / "rows.json"
    code = main(["--quick", "--kinds", "lif", "--libraries", "torch_loop,spikeforge:torch",
                 "--repeats", "1", "--warmup", "0", "--no-memory", "--json", str(out)])
    assert code == 0
    text = capsys.readouterr().out
    assert "copy bandwidth" in text and "spikeforge:torch" in text and "torch_loop:eager" in text
    data = json.loads(out.read_text())
    assert data["bandwidth_gb_s"] > 0 and len(data["rows"]) == 2 and "torch" in data["machine"]


def test_cli_rejects_bad_input(capsys):
    assert main(["--kinds", "conv", "--quick"]) == 2
    try:
        main(["--shape", "1,2"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a bad --shape must be an argparse error")


def test_the_quieter_attempt_is_kept_with_the_first_call_time_of_the_first():
    from spikeforge.bench.runner import _keep_quieter

    first = Row("w", "a", "v", median_ms=9.0, first_call_s=100.0, other_load=1.2)
    second = Row("w", "a", "v", median_ms=5.0, first_call_s=1.0, other_load=0.1)
    kept = _keep_quieter(first, second)
    assert kept.median_ms == 5.0 and kept.first_call_s == 100.0
    assert _keep_quieter(second, Row("w", "a", "v", note="failed: x")) is second
