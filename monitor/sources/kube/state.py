"""What one watched collection keeps, and how the poll reads it: `CollectionState`.

The objects by `namespace/name` (as the spec's transform stored them), the
resourceVersion, synced/absent/watching, the last error and since when, the generations
(`CollectionView.generation`, per namespace too) and the counters since start, all behind
one condition; read
through `snapshot()`, `wait_synced()` and `stats()`, and the handshake by which a poll
asks a failed collection to try again now (`retry_now`, `wait_retried`). The thread that
fills it is `collection.WatchedCollection`, a subclass; the value types are in `spec`.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from monitor.model import SourceError
from monitor.sources.kube.spec import CollectionView, WatchSpec, WatchStats

# Generations are drawn from one counter for every collection of the process, so that no two
# states of any collections share one (a watch stopped and started again starts afresh).
_GENERATIONS = itertools.count(1)


def namespace_of(key: str) -> str:
    """The namespace part of an item key ("" for a cluster-scoped object)."""
    namespace, sep, _ = key.partition("/")
    return namespace if sep else ""


class CollectionState:
    """The state of one collection, shared by its thread and its readers under `_cond`."""

    def __init__(self, spec: WatchSpec, clock: Callable[[], float]) -> None:
        self.spec = spec
        self._clock = clock
        self._cond = threading.Condition()
        self._objects: dict[str, Any] = {}
        self._items: tuple[Any, ...] | None = ()
        self._by_key: dict[str, Any] = {}
        self._generation = 0
        self._namespaces: dict[str, int] = {}  # namespace → generation of its last change
        self._synced = self._absent = self._watching = False
        self._error: SourceError | None = None
        self._error_since: float | None = None
        self._synced_at: float | None = None
        self._rv: str | None = None
        self._counts: Counter[str] = Counter()
        self._events: Counter[str] = Counter()
        self._errors: Counter[str] = Counter()
        self._stopping = threading.Event()
        self._wake = threading.Event()  # ends a backoff wait early (`retry_now`, `stop`)
        self._outcomes = 0  # attempts that ended, cleared or failed: what `wait_retried` awaits

    # -- reads -------------------------------------------------------------------------------
    def snapshot(self) -> CollectionView:
        """The current state; cheap while nothing changes (the item tuple is cached)."""
        with self._cond:
            if self._items is None:
                self._items = tuple(self._objects[k] for k in sorted(self._objects))
                self._by_key = dict(self._objects)
            return CollectionView(
                self._items, self._synced, self._error, self._absent, self._rv,
                self._watching, self._synced_at, self._error_since, self._generation,
                self._by_key, dict(self._namespaces),
            )  # fmt: skip

    # -- changes (callers hold self._cond) ----------------------------------------------------
    def _bump(self, namespaces: Iterable[str] = ()) -> None:
        """What the view holds changed (in `namespaces`, for item changes)."""
        self._generation = next(_GENERATIONS)
        for namespace in namespaces:
            self._namespaces[namespace] = self._generation

    def _replace_all(self, objects: dict[str, Any]) -> None:
        """Store a complete LIST's objects; the generation changes only where they differ."""
        old = self._objects
        changed = {namespace_of(k) for k in old.keys() - objects.keys()}
        for key, value in objects.items():
            before = old.get(key)
            if before is not None and before == value:
                objects[key] = before  # the same object: readers memoised by identity hold
            else:
                changed.add(namespace_of(key))
        self._objects = objects
        if changed:
            self._items = None
            self._bump(changed)

    def wait_synced(self, timeout: float) -> bool:
        """True once synced; False after `timeout`, or at once when the collection has
        never synced and its last attempt failed (the error is in `snapshot()`)."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._synced or self._error is not None or self._stopping.is_set(),
                timeout,
            )
            return self._synced

    def stats(self) -> WatchStats:
        """The counters since start (see WatchStats)."""
        with self._cond:
            return WatchStats(**self._counts, events=dict(self._events), errors=dict(self._errors))

    # -- retries asked by a poll -------------------------------------------------------------
    def retry_now(self) -> int | None:
        """A failed collection tries again now instead of at the end of its backoff (a poll
        asks, so that a fault that ended is over by the next cycle whatever the backoff
        reached). The number to pass to `wait_retried`; None when nothing failed."""
        with self._cond:
            if self._error is None:
                return None
            self._wake.set()
            return self._outcomes

    def wait_retried(self, outcomes: int, timeout: float) -> None:
        """Wait up to `timeout` for the attempt after `retry_now` to end, well or not."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._outcomes > outcomes or self._stopping.is_set(), timeout
            )

    def _count(self, name: str) -> None:
        with self._cond:
            self._counts[name] += 1
