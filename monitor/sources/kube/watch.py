"""The watch layer: Kubernetes collections kept current by LIST + WATCH.

The public entry point. Owns `WatchSet`, the collections one cluster connection keeps:
`ensure(specs)` starts the watches the configured boundaries need and stops the ones no
longer wanted, `get(spec)` reads one, `stats()` adds up the counters of all of them
(including stopped ones, so exported counters never go backwards). The parts:

- `WatchSpec`, `CollectionView`, `WatchStats`, `object_key`, `secret_without_keys`
  (`spec`);
- `WatchedCollection`, one collection and its thread (`collection`): LIST then
  WATCH from the list's resourceVersion, re-WATCH after a clean end, reconnect with
  jittered backoff after a failure, relist once on 410 Gone, `absent` on 404;
- the raw HTTP and error mapping (`transport`).

Data is trustworthy when `view.synced and view.error is None`. Secrets are watched with
`transform=secret_without_keys`, so private keys are never stored.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable

from kubernetes import client

from monitor.sources.kube.collection import WatchedCollection
from monitor.sources.kube.spec import (
    CollectionView,
    WatchSpec,
    WatchStats,
)
from monitor.sources.kube.transport import MAX_BODY

__all__ = [
    "WatchSet",
]


class WatchSet:
    """The watched collections of one API client, keyed by spec (thread-safe).

    The keyword options are those of `WatchedCollection`, applied to every collection.
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        clock: Callable[[], float] = time.monotonic,
        watch_timeout: tuple[float, float] = (240.0, 300.0),
        backoff: tuple[float, float] = (0.5, 30.0),
        absent_recheck: float = 60.0,
        request_timeout: float = 10.0,
        page_size: int = 500,
        rng: random.Random | None = None,
        max_body: int = MAX_BODY,
    ) -> None:
        self._api, self._clock = api_client, clock
        self._options = (watch_timeout, backoff, absent_recheck, request_timeout, page_size)
        self._max_body = max_body
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._collections: dict[WatchSpec, WatchedCollection] = {}
        self._retired = WatchStats()

    def _new(self, spec: WatchSpec) -> WatchedCollection:
        watch_timeout, backoff, absent_recheck, request_timeout, page_size = self._options
        return WatchedCollection(
            self._api, spec, clock=self._clock, watch_timeout=watch_timeout, backoff=backoff,
            absent_recheck=absent_recheck, request_timeout=request_timeout,
            page_size=page_size, rng=random.Random(self._rng.random()), max_body=self._max_body,
        )  # fmt: skip

    def ensure(self, specs: Iterable[WatchSpec], stop_timeout: float = 2.0) -> None:
        """Watch exactly `specs`: start the new ones, stop (and join) the others."""
        wanted = dict.fromkeys(specs)
        with self._lock:
            gone = [self._collections.pop(s) for s in list(self._collections) if s not in wanted]
            started = [self._new(s) for s in wanted if s not in self._collections]
            self._collections.update((c.spec, c) for c in started)
        for collection in started:
            collection.start()
        self._retire(gone, stop_timeout)

    def _retire(self, gone: list[WatchedCollection], timeout: float) -> None:
        for collection in gone:
            collection.request_stop()  # all at once, then wait for them together
        deadline = time.monotonic() + timeout
        total = WatchStats()
        for collection in gone:
            collection.join(max(0.0, deadline - time.monotonic()))
            total += collection.stats()
        with self._lock:
            self._retired += total

    def specs(self) -> tuple[WatchSpec, ...]:
        with self._lock:
            return tuple(self._collections)

    def get(self, spec: WatchSpec) -> CollectionView:
        """The snapshot of a watched spec; KeyError when `ensure` did not ask for it."""
        with self._lock:
            collection = self._collections[spec]
        return collection.snapshot()

    def wait_synced(self, timeout: float) -> bool:
        """True when every collection synced within `timeout` (see WatchedCollection)."""
        with self._lock:
            collections = list(self._collections.values())
        deadline = time.monotonic() + timeout
        synced = [c.wait_synced(max(0.0, deadline - time.monotonic())) for c in collections]
        return all(synced)

    def retry_failed(self, timeout: float) -> None:
        """Every failed collection tries again now; wait up to `timeout` for those attempts
        to end (see WatchedCollection.retry_now)."""
        with self._lock:
            collections = list(self._collections.values())
        kicked = [(c, n) for c in collections if (n := c.retry_now()) is not None]
        deadline = time.monotonic() + timeout
        for collection, outcomes in kicked:
            collection.wait_retried(outcomes, max(0.0, deadline - time.monotonic()))

    def stats(self) -> WatchStats:
        """The counters of all collections, stopped ones included."""
        with self._lock:
            total, collections = self._retired, list(self._collections.values())
        for collection in collections:
            total += collection.stats()
        return total

    def stop_all(self, timeout: float = 2.0) -> None:
        """Stop every collection (idempotent); the set can be `ensure`d again later."""
        with self._lock:
            gone = list(self._collections.values())
            self._collections.clear()
        self._retire(gone, timeout)
