"""`spikeforge bench speed` runs the real benchmark (smallest form) and prints its table."""

from spikeforge.cli.main import main


def test_bench_speed_quick(capsys):
    code = main(["bench", "speed", "--quick", "--kinds", "lif", "--libraries", "spikeforge:torch,torch_loop",
                 "--repeats", "2", "--no-memory"])
    out = capsys.readouterr().out
    assert code == 0
    rows = [line.split() for line in out.splitlines() if line.startswith(("spikeforge:torch", "torch_loop:eager"))]
    assert {r[0] for r in rows} == {"spikeforge:torch", "torch_loop:eager"}
    assert all(float(r[1]) > 0 for r in rows)  # a measured median in ms


def test_bench_needs_a_benchmark_name(capsys):
    assert main(["bench"]) == 2
    assert "benchmark" in capsys.readouterr().err


def test_bench_train_is_a_subcommand(capsys):
    try:
        main(["bench", "train", "--help"])
    except SystemExit as stop:
        assert stop.code == 0
    assert "tutorial SCNN" in capsys.readouterr().out
