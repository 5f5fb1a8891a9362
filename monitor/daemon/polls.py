"""The sources' polls of one cycle: each contained, on its own thread, within the cycle's deadline.

Owns how `monitor.daemon.cycle.Monitor` runs a source's `poll()`:
- contained: an exception escaping a poll (a bug, a `RecursionError` on hostile input)
  makes that source down with reason `internal_error`, naming the exception's type only
  (`monitor.sources.errors.internal_error`); one log line when it starts (the stack
  without the exception's message at debug level), not one per cycle;
- on a daemon thread of its own, so a poll stuck in a request never keeps the process
  from exiting (a `ThreadPoolExecutor` joins its workers at interpreter exit);
- awaited until the cycle's deadline (`deadline`: 90 % of `poll.interval`) or until
  `abort()` (shutdown); a poll still running then makes its source down with reason
  `timeout`, and the cycle goes on without it; once aborted, or once its source was
  closed and built again (`forget`, a reload), a poll that ends by raising (its source
  closed under it) is logged at debug level only;
- never twice at once: while a source's earlier poll is still running, the source is not
  polled again on top of it (it is reported down, `timeout`) — one thread per stuck
  source at most, however long it stays stuck.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, InvalidStateError, wait
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Generic, Literal, TypeVar

from monitor.model import SourceError, SourceStatus
from monitor.sources.errors import FailureLog, internal_error

log = logging.getLogger(__name__)

T = TypeVar("T")
Kind = Literal["bigip", "kubernetes", "oidc"]
POLL_SHARE: Final = 0.9  # of poll.interval the cycle waits for its sources
_POLL_FAILED: Final = (
    "%s: the poll failed with an unexpected %s; the source is reported down"
    " (internal_error) while it does%s"
)


def deadline(interval: timedelta) -> float:
    """Seconds a cycle waits for its sources' polls: 90 % of the interval, so that the
    checks and the publication still fit in it."""
    return POLL_SHARE * interval.total_seconds()


def _down(source: str, kind: Kind, message: str, seconds: float) -> SourceStatus:
    error = SourceError("timeout", message, source)
    return SourceStatus(source, kind, False, (error,), seconds)


@dataclass
class Pending(Generic[T]):
    """One source's poll in this cycle; `outcome()` once the waiting is over."""

    source: str
    kind: Kind
    unread: Callable[[], T]  # the state of a source that read nothing
    future: Future[tuple[T, SourceStatus]]
    started: float  # monotonic
    again: bool = False  # an earlier poll was still running: this cycle did not poll
    aborted: bool = False  # the waiting ended by shutdown

    def outcome(self, limit: float) -> tuple[T, SourceStatus]:
        """The poll's result; or the source down (`timeout`) when it has not ended."""
        if self.future.done():
            return self.future.result()
        age = time.monotonic() - self.started
        if self.again:
            message = (
                f"{self.source}: the previous poll, started {age:.0f}s ago, has not ended;"
                " not polled again until it does"
            )
        elif self.aborted:
            message = f"{self.source}: the poll had not ended at shutdown; abandoned"
        else:
            message = (
                f"{self.source}: the poll did not end within the cycle's {round(limit, 1):g}s"
                " (90% of poll.interval); left running, the source is reported down"
            )
        return self.unread(), _down(self.source, self.kind, message, age)


class Polls:
    """The polls in flight, by source name, kept across cycles (module docstring)."""

    def __init__(self) -> None:
        self._running: dict[str, tuple[Future[Any], float]] = {}  # future, monotonic start
        self._failing: dict[str, FailureLog] = {}  # source → its failure last logged
        self._generation: dict[str, int] = {}  # source → times forgotten (closed, rebuilt)
        self._stop: Future[None] = Future()  # done once aborted

    def start(
        self,
        source: str,
        kind: Kind,
        poll: Callable[[], tuple[T, SourceStatus]],
        unread: Callable[[], T],
    ) -> Pending[T]:
        """Poll `source` on a thread of its own, unless its previous poll still runs."""
        earlier = self._running.get(source)
        if earlier is not None and not earlier[0].done():
            return Pending(source, kind, unread, earlier[0], earlier[1], again=True)
        future: Future[tuple[T, SourceStatus]] = Future()
        pending = Pending(source, kind, unread, future, time.monotonic())
        self._running[source] = (future, pending.started)
        generation = self._generation.get(source, 0)

        def run() -> None:
            future.set_running_or_notify_cancel()
            try:
                future.set_result(self._contained(source, kind, poll, unread, generation))
            except BaseException as err:  # SystemExit from a poll: not this thread's to end
                future.set_exception(err)

        threading.Thread(target=run, name=f"poll {source}", daemon=True).start()
        return pending

    def _contained(
        self,
        source: str,
        kind: Kind,
        poll: Callable[[], tuple[T, SourceStatus]],
        unread: Callable[[], T],
        generation: int,
    ) -> tuple[T, SourceStatus]:
        started = time.monotonic()
        try:
            result = poll()
        except Exception as err:
            self._report(source, err, generation)
            error = internal_error(err, source, "the poll")
            status = SourceStatus(source, kind, False, (error,), time.monotonic() - started)
            return unread(), status
        if self._generation.get(source, 0) == generation:
            self._failing.pop(source, None)
        return result

    def _report(self, source: str, err: Exception, generation: int) -> None:
        """One line when a source starts failing (or fails differently), not every cycle;
        after `abort()`, or for a poll of a source since closed and built again
        (`forget`), only at debug level: the poll was abandoned, its source closed under
        it (a pool shut down, a client closed), and nobody reads its result."""
        kind = type(err).__name__
        if self._stop.done():
            log.debug("%s: the poll abandoned at shutdown ended with %s", source, kind)
            return
        if self._generation.get(source, 0) != generation:
            log.debug("%s: the poll of the closed source ended with %s", source, kind)
            return
        failing = self._failing.setdefault(source, FailureLog(log, _POLL_FAILED))
        failing.failing({(source, kind): err})

    def wait(self, pending: Iterable[Pending[Any]], seconds: float) -> None:
        """Until every poll of `pending` has ended, `seconds` have passed, or `abort()`."""
        items = list(pending)
        futures: set[Future[Any]] = {p.future for p in items}
        end = time.monotonic() + seconds
        while futures and not self._stop.done():
            left = end - time.monotonic()
            if left <= 0:
                break
            done, _ = wait({*futures, self._stop}, timeout=left, return_when=FIRST_COMPLETED)
            futures -= done
        if self._stop.done():
            for p in items:
                p.aborted = True

    def abort(self) -> None:
        """Shutdown: the cycle waiting now (and any later one) stops waiting at once."""
        with contextlib.suppress(InvalidStateError):
            self._stop.set_result(None)

    def forget(self, sources: Iterable[str]) -> None:
        """These sources were closed and built again: their new pollers start afresh."""
        for source in sources:
            self._running.pop(source, None)
            self._failing.pop(source, None)
            self._generation[source] = self._generation.get(source, 0) + 1
