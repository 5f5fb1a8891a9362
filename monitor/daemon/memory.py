"""How the daemon's process spends memory and collector time: set at start, then per cycle.

- `tune_process()`, once at start (`serve`, and the benchmark that measures the daemon),
  before any thread allocates; on glibc only (musl, macOS: the collector's part only),
  and not what the environment sets itself (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`):
  - malloc keeps at most `ARENAS` arenas (`M_ARENA_MAX`): by default a thread that
    allocates while another does gets an arena of its own (up to 8 per CPU), memory freed
    in one arena serves only the threads of that arena, and with dozens of poll and watch
    threads the RSS grows and stays high (a tenth of the design's scale: 209 MiB peak with
    the default, 173 MiB with 2, and 8 % growth over 20 cycles against under 1 %);
  - allocations of `MMAP_THRESHOLD` or more are mapped and unmapped on their own
    (`M_MMAP_THRESHOLD`; by default the threshold rises after each large free, up to
    32 MiB, and the pages, the documents and the JSON of every cycle then come from the
    heap and fragment it);
  - the collector's thresholds become `THRESHOLDS`: a cycle allocates a few million
    objects (the sources' parsed answers), which with CPython's default (700, 10, 10)
    start several full collections of the whole heap per cycle (2-5 s of a warm cycle's
    CPU at the design's scale); with these, young collections only (0.1-0.4 s).
- `Collector.cycled()`, after each cycle:
  - after the first one, a full collection and then `gc.freeze()`, so that what the first
    cycle built and keeps (watch caches, clients) is never traversed again; every
    `REFREEZE` cycles the same again (unfrozen first), so that garbage among frozen
    objects (a source rebuilt by a reload) is reclaimed within an hour at the default
    interval (about a second at the design's scale);
  - otherwise a collection of the young generations (what this cycle allocated and
    keeps, a few milliseconds): each cycle leaves reference cycles behind (the HTTP
    client's requests and responses, about 2 MiB at the design's scale), which the raised
    thresholds would let pile up until a full collection; and every `COLLECT` cycles, of
    all that was not frozen (what a young collection missed because it grew old);
  - malloc returns the free pages of its heaps to the system (`malloc_trim`, about 2 ms).
  Design scale: after 10 warm cycles RSS was 326 MiB without the mapping threshold and
  the trims, 297 with them (before the sources reused their states); with the sources'
  reuse, it grew by 2 MiB a cycle between two collections of the unfrozen heap.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import os
import sys
from typing import Any, Final

log = logging.getLogger(__name__)

ARENAS: Final = 2
MMAP_THRESHOLD: Final = 256 * 1024
THRESHOLDS: Final = (200_000, 20, 100)
REFREEZE: Final = 60  # cycles between two full collections after the first
COLLECT: Final = 10  # cycles between two collections of what is not frozen
_M_ARENA_MAX: Final = -8  # glibc's malloc.h
_M_MMAP_THRESHOLD: Final = -3


def _glibc() -> Any | None:
    """The C library when it is glibc (it has `mallopt` and `malloc_trim`), else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt  # noqa: B018 (a lookup: AttributeError when absent)
        libc.malloc_trim  # noqa: B018
    except (OSError, AttributeError):
        return None
    return libc


_LIBC: Final = _glibc()


def tune_process() -> None:
    """Malloc arenas and mapping threshold, collector thresholds (module docstring); safe
    to call again."""
    gc.set_threshold(*THRESHOLDS)
    if _LIBC is None:
        log.debug("not glibc: malloc left as it is")
        return
    if "MALLOC_ARENA_MAX" not in os.environ:
        _LIBC.mallopt(_M_ARENA_MAX, ARENAS)
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        _LIBC.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)


class Collector:
    """After each cycle: freeze what the first built, collect now and then, give the free
    heap pages back (module docstring)."""

    def __init__(self, refreeze: int = REFREEZE, collect: int = COLLECT) -> None:
        self._cycles = 0
        self._refreeze, self._collect = refreeze, collect

    def cycled(self) -> None:
        self._cycles += 1
        if self._cycles == 1 or self._cycles % self._refreeze == 0:
            gc.unfreeze()
            gc.collect()
            gc.freeze()
        elif self._cycles % self._collect == 0:
            gc.collect()
        else:
            gc.collect(1)  # this cycle's reference cycles, while they are young
        if _LIBC is not None:
            _LIBC.malloc_trim(0)
