"""How the daemon's process spends memory and collector time: set at start, then per cycle.

- `tune_process()`, once at start (`serve`, and the benchmark that measures the daemon),
  before any thread allocates:
  - glibc's malloc keeps at most `ARENAS` arenas (`mallopt(M_ARENA_MAX)`), unless the
    environment sets `MALLOC_ARENA_MAX`: by default a thread that allocates while another
    does gets an arena of its own (up to 8 per CPU), memory freed in one arena serves only
    the threads of that arena, and with dozens of poll and watch threads the RSS grows and
    stays high (a tenth of the design's scale: 209 MiB peak with the default, 173 MiB with
    2, and 8 % growth over 20 cycles against under 1 %). Elsewhere (musl, macOS) nothing
    is done.
  - the collector's thresholds become `THRESHOLDS`: a cycle allocates a few million
    objects (the sources' parsed answers), which with CPython's default (700, 10, 10)
    start several full collections of the whole heap per cycle (2-5 s of a warm cycle's
    CPU at the design's scale); with these, young collections only (0.2-0.4 s).
- `Collector.cycled()`, after each cycle: after the first one, a full collection and then
  `gc.freeze()`, so that what the first cycle built and keeps (watch caches, clients) is
  never traversed again; every `REFREEZE` cycles, unfrozen, collected and frozen again,
  so that garbage among frozen objects (a source rebuilt by a reload) is reclaimed within
  an hour at the default interval. A full collection at the design's scale takes about a
  second: `REFREEZE` spreads it to tens of milliseconds a cycle.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
from typing import Final

log = logging.getLogger(__name__)

ARENAS: Final = 2
THRESHOLDS: Final = (200_000, 20, 100)
REFREEZE: Final = 60  # cycles between two full collections after the first
_M_ARENA_MAX: Final = -8  # glibc's malloc.h


def tune_process() -> None:
    """Malloc arenas and collector thresholds (module docstring); safe to call again."""
    gc.set_threshold(*THRESHOLDS)
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if not libc.mallopt(_M_ARENA_MAX, ARENAS):
            log.debug("mallopt(M_ARENA_MAX) refused")
    except (OSError, AttributeError):  # not glibc
        log.debug("no mallopt: malloc arenas left as they are")


class Collector:
    """After each cycle: freeze what the first built, collect and refreeze now and then."""

    def __init__(self, refreeze: int = REFREEZE) -> None:
        self._cycles = 0
        self._refreeze = refreeze

    def cycled(self) -> None:
        self._cycles += 1
        if self._cycles == 1 or self._cycles % self._refreeze == 0:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
