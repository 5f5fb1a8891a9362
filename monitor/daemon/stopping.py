"""How the daemon stops: the signals that stop it, and the threads it does not wait for.

`stop_on_signals` turns SIGTERM/SIGINT (and SIGHUP) into events the daemon's main loop
waits on. `abandon_stuck_threads` is the last step of the `run` command, and of the
one-shot `check` and `rotation` (`monitor.cli`): a poll stuck in a request (a peer that
never answers) cannot be interrupted in CPython, and the interpreter joins at exit every
non-daemon thread and every `concurrent.futures` worker; so the process exits without
them once everything else is done (`monitor.daemon.serve`, `monitor.daemon.cycle.check_once`).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Collection
from concurrent.futures import thread as futures_thread
from types import FrameType
from typing import Final

log = logging.getLogger(__name__)

EXIT_GRACE: Final = 0.2  # seconds the remaining threads get before the process leaves them


def abandon_stuck_threads(
    code: int, grace: float = EXIT_GRACE, *, others: Collection[threading.Thread] = ()
) -> int:
    """For the `run` command once `serve` returned, and for `check` and `rotation` once
    they printed: the threads that would keep the interpreter from exiting (non-daemon
    threads, and every worker of a `concurrent.futures` pool, which the interpreter joins
    at exit) get `grace` seconds to end. Those still running are blocked in a request
    nothing can interrupt: the process exits now with `code` (logs flushed first) instead
    of waiting for them. `others`: threads that were running before the command started
    (those of a process that calls `monitor.cli.main` itself, a test's): neither waited
    for nor a reason to leave."""
    end = time.monotonic() + grace
    for thread in _blocking_exit(others):
        thread.join(max(0.0, end - time.monotonic()))
    stuck = _blocking_exit(others)
    if not stuck:
        return code
    names = ", ".join(sorted(t.name for t in stuck))
    log.info("exiting without waiting for %d blocked threads (%s)", len(stuck), names)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _blocking_exit(others: Collection[threading.Thread] = ()) -> list[threading.Thread]:
    # concurrent.futures keeps its workers here and joins them all at interpreter exit,
    # daemon threads or not
    pooled = set(getattr(futures_thread, "_threads_queues", {}))
    me = threading.current_thread()
    return [
        t
        for t in threading.enumerate()
        if t is not me and t not in others and t.is_alive() and (not t.daemon or t in pooled)
    ]


def stop_on_signals(
    stop: threading.Event, hup: threading.Event | None = None, wake: threading.Event | None = None
) -> None:
    """SIGTERM and SIGINT set `stop`; SIGHUP sets `hup` (when given); both set `wake`.
    Only the main thread can install handlers: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        log.info("received %s", signal.Signals(signum).name)
        (hup if signum == signal.SIGHUP and hup is not None else stop).set()
        if wake is not None:
            wake.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
    if hup is not None:
        signal.signal(signal.SIGHUP, handler)
