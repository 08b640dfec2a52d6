"""The ``spikeforge`` command line (also ``python -m spikeforge``).

Each subcommand is one module here defining ``NAME``, ``HELP``,
``add_arguments(parser)`` and ``run(args) -> int``, registered by one line in
:data:`spikeforge.cli.main.COMMANDS`.
"""

from .main import main

__all__ = ["main"]
