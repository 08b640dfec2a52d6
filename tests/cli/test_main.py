"""The spikeforge command: parser, help, version and exit codes."""

import subprocess
import sys

import pytest

import spikeforge
from spikeforge.cli import main
from spikeforge.cli.main import COMMANDS, build_parser


def test_help_lists_the_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: spikeforge" in out
    for module in COMMANDS:
        assert module.NAME in out


@pytest.mark.parametrize("module", COMMANDS, ids=lambda m: m.NAME)
def test_each_subcommand_has_help(module, capsys):
    assert main([module.NAME, "--help"]) == 0
    assert f"usage: spikeforge {module.NAME}" in capsys.readouterr().out


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"spikeforge {spikeforge.__version__}"


@pytest.mark.parametrize("argv", [["nope"], ["demo", "--steps", "0"], ["demo", "--batch", "x"],
                                  ["demo", "--seed", "-1"], ["demo", "--seed", str(2**64)],
                                  ["demo", "--bogus"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "usage: spikeforge" in err and "error:" in err


def test_run_time_error_exits_1(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert main(["demo", "--steps", "5", "--batch", "1", "--out", str(blocker / "sub")]) == 1
    assert "spikeforge demo: error:" in capsys.readouterr().err


def test_every_command_module_has_the_interface():
    build_parser()  # registers every command without error
    for module in COMMANDS:
        assert isinstance(module.NAME, str) and isinstance(module.HELP, str) and module.__doc__
        assert callable(module.add_arguments) and callable(module.run)


def test_python_dash_m_version():
    result = subprocess.run([sys.executable, "-m", "spikeforge", "--version"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"spikeforge {spikeforge.__version__}"
