"""Transparent huge pages for torch's large CPU tensors (a process-wide default).

A sequence kernel writes whole ``[T, B, N]`` tensors that torch allocates fresh at every
call (outputs, saved histories, gradients); glibc maps each large block from the
kernel anew and the first write to each 4 KiB page faults. On virtual machines a fault
costs microseconds, so touching a new 51 MB tensor took 44-54 ms where refilling an
old one took 4-8 ms (2-core VM, 2026-12-04), and an SRNN step at (784, 64, 256) spent
more time faulting pages than computing.

PyTorch's CPU allocator aligns blocks of 2 MiB and more to 2 MiB and asks the kernel
for huge pages (``madvise(MADV_HUGEPAGE)``) when the environment variable
``THP_MEM_ALLOC_ENABLE`` is set: a 51 MB tensor then takes 25 faults, not 12,500
(measured: 16 ms to touch, against 54). Importing spikeforge sets that variable unless
the user has set it (``THP_MEM_ALLOC_ENABLE=0`` keeps torch's default). Torch reads it
once, at its first allocation of 2 MiB or more, so it takes effect when spikeforge is
imported before the process allocates a large tensor; the Linux kernel must allow
huge pages on request (``/sys/kernel/mm/transparent_hugepage/enabled`` set to
``madvise`` or ``always``, the common default). Values are unchanged; only page size.
"""

from __future__ import annotations

import os

VARIABLE = "THP_MEM_ALLOC_ENABLE"


def request_huge_pages() -> bool:
    """Set ``THP_MEM_ALLOC_ENABLE=1`` unless it is set already; returns whether it is on."""
    value = os.environ.setdefault(VARIABLE, "1")
    return value.strip() not in ("", "0")
