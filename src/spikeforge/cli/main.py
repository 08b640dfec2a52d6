"""Entry point of the ``spikeforge`` command: the parser and the subcommand registry.

Adding a subcommand: write ``cli/<name>.py`` with ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int`` (its module docstring becomes
the ``--help`` description), then add the module to :data:`COMMANDS`.

Exit codes: 0 success, 1 a run-time error (reported on one line), 2 bad arguments
(argparse's message), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
from types import ModuleType

from .. import __version__
from . import bench, demo, evaluate, export, recipes, report, train

COMMANDS: tuple[ModuleType, ...] = (demo, train, evaluate, recipes, bench, export, report)
"""The registered subcommands, in the order ``--help`` lists them."""

DEFAULT_COMMAND = "demo"


def build_parser() -> argparse.ArgumentParser:
    """The ``spikeforge`` parser with one subparser per module in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog="spikeforge",
        description="Spiking neural networks for neuromorphic hardware.",
        epilog=f"With no command, runs '{DEFAULT_COMMAND}'. "
        "Run 'spikeforge <command> --help' for a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="<command>", title="commands")
    for module in COMMANDS:
        p = sub.add_parser(
            module.NAME,
            help=module.HELP,
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(p)
        p.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``spikeforge`` with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        args = parser.parse_args(argv or [DEFAULT_COMMAND])
    except SystemExit as exc:  # --help, --version, or a usage error (argparse printed it)
        return 0 if exc.code is None else exc.code if isinstance(exc.code, int) else 2
    if args.command is None:  # only global options were given
        args = parser.parse_args([DEFAULT_COMMAND])
    try:
        return args.run(args)
    except (OSError, ValueError) as exc:
        print(f"spikeforge {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"spikeforge {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
