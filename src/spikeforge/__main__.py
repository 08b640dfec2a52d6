"""``python -m spikeforge``: the same as the ``spikeforge`` command."""

import sys

from .cli.main import main

sys.exit(main())
