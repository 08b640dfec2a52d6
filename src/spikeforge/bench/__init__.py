"""Measurement harness for the speed benchmark (issue 3).

- :mod:`~spikeforge.bench.timing`: :func:`time_fn` (first call, warm-up, median);
- :mod:`~spikeforge.bench.memory`: peak extra memory of one call (Linux RSS, CUDA);
- :mod:`~spikeforge.bench.bandwidth`: copy bandwidth measured on the spot, time floors;
- :mod:`~spikeforge.bench.workloads`: LIF-only, Linear+LIF and SRNN, with the issue's shapes;
- :mod:`~spikeforge.bench.peers`: one adapter per library (spikeforge, a plain torch
  loop, snnTorch, SpikingJelly, Norse), each imported lazily;
- :mod:`~spikeforge.bench.runner` and :mod:`~spikeforge.bench.speed`: run and tabulate
  (``python -m spikeforge.bench.speed --quick``).

Nothing here needs a peer library installed; missing peers are skipped with a note.
"""

from .bandwidth import Bandwidth, copy_bandwidth, floor_seconds, lif_bytes
from .memory import peak_bytes
from .timing import TimingResult, time_fn
from .workloads import SRNN, LIFOnly, LinearLIF

__all__ = [
    "Bandwidth", "LIFOnly", "LinearLIF", "SRNN", "TimingResult",
    "copy_bandwidth", "floor_seconds", "lif_bytes", "peak_bytes", "time_fn",
]
