"""`WatchedCollection`: one Kubernetes collection kept current by LIST then WATCH.

Owns the background thread of one `WatchSpec`, which fills the state it keeps (the
objects, the resourceVersion, synced/absent/error: `CollectionState` in `state`, read
through `snapshot()`); the value types are in `spec`, the HTTP plumbing in `transport`,
`WatchSet` in `watch`.

The thread (DESIGN section 4, "Access"): a paged LIST (`limit`/`continue`, raw JSON, never
the generated models, each page reduced by the spec's transform as it arrives and then
dropped) stores every object keyed by `namespace/name` and remembers the list's
resourceVersion; a WATCH from it (`allowWatchBookmarks`, a jittered server-side
`timeoutSeconds`) applies ADDED/MODIFIED (replace; an object stored equal to the one it
replaces changes nothing, one the transform drops is removed), DELETED (remove) and
BOOKMARK (only the resourceVersion). The view's generation moves only when what it holds
changes (`CollectionView`), so a reader can tell an unchanged collection at a glance. A
stream that ends cleanly is re-watched from the last resourceVersion at once, without a
LIST and without an error; a transport or HTTP failure sets `error` and reconnects the
WATCH from the last resourceVersion after a fully jittered exponential backoff; 410 Gone
(HTTP status or `ERROR` event) relists once. A 404 on the collection means the kind is not
served (a Linkerd 2.10 cluster has no policy CRDs): the view is `absent` (synced, empty,
no error) and the LIST is retried every `absent_recheck` seconds. A failed LIST is retried
with backoff; items already stored stay (stale, with `error` set) until a LIST or WATCH
succeeds again.

Key material: `transform` runs on every object before it is stored (see
`secret_without_keys`); events and response bodies are never logged, and messages carry
only the apiserver's `Status.message`.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kubernetes import client

from monitor.model import SourceError
from monitor.sources.errors import SourceFailure
from monitor.sources.kube import transport as http
from monitor.sources.kube.errors import read_error
from monitor.sources.kube.items import prepared, stream_page
from monitor.sources.kube.spec import Json, WatchSpec, object_key
from monitor.sources.kube.state import CollectionState, namespace_of

log = logging.getLogger(__name__)

MIN_WATCH_SECONDS = 0.5  # a clean stream end sooner than this waits a backoff step
MAX_PAGES = 10_000
EVENT_TYPES = ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR")


class _Dropped(Exception):
    """A watch stream that was open broke off (not a refusal: the server had said yes)."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _Stopped(Exception):
    """stop() was called: leave the thread quietly."""


class WatchedCollection(CollectionState):
    """One collection kept current by one background thread (see the module docstring).

    Options: `clock` stamps `synced_at` / `error_since`; `watch_timeout` is the range the
    server-side `timeoutSeconds` of each WATCH is drawn from; `backoff` (initial, max)
    seconds, fully jittered, between attempts after a failure; `absent_recheck` seconds
    between LISTs of a kind that is not served; `request_timeout` seconds for a LIST page
    and for connecting a WATCH (whose read timeout is its `timeoutSeconds` plus this);
    `page_size` the LIST `limit`; `rng` the jitter source (tests pass a seeded one).
    """

    def __init__(
        self,
        api_client: client.ApiClient,
        spec: WatchSpec,
        *,
        clock: Callable[[], float] = time.monotonic,
        watch_timeout: tuple[float, float] = (240.0, 300.0),
        backoff: tuple[float, float] = (0.5, 30.0),
        absent_recheck: float = 60.0,
        request_timeout: float = 10.0,
        page_size: int = 500,
        rng: random.Random | None = None,
        max_body: int = http.MAX_BODY,
    ) -> None:
        super().__init__(spec, clock)
        self._max_body = max_body
        self._api, self._rng = api_client, rng or random.Random()
        self._watch_timeout, self._backoff = watch_timeout, backoff
        self._absent_recheck, self._timeout, self._page_size = (
            absent_recheck, request_timeout, page_size)  # fmt: skip
        self._rbac = spec.rbac_hint
        selectors = (("labelSelector", spec.label_selector), ("fieldSelector", spec.field_selector))
        self._base_query = [(k, v) for k, v in selectors if v]
        self._failures = 0  # consecutive failures: the backoff exponent
        self._listed = False  # the next WATCH connect directly follows a LIST
        self._expired_in_row = 0  # 410s with no good watch event between them
        self._response: Any = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the thread; later calls (also after stop()) do nothing."""
        with self._cond:
            if self._thread is not None:
                return
            self._thread = threading.Thread(
                target=self._run, name=f"watch {self.spec.target}", daemon=True
            )
        self._thread.start()

    def request_stop(self) -> None:
        """Tell the thread to stop and interrupt its request; do not wait (see stop())."""
        self._stopping.set()
        self._wake.set()
        with self._cond:
            resp, self._watching = self._response, False
            self._cond.notify_all()
        if resp is not None:
            with contextlib.suppress(Exception):
                resp.shutdown()  # unblocks a read in the thread (urllib3 >= 2.3)

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread: its open stream is shut down at once; waits up to `timeout`."""
        self.request_stop()
        self.join(timeout)

    def join(self, timeout: float = 2.0) -> None:
        """Wait up to `timeout` seconds for the thread to end."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    @property
    def alive(self) -> bool:
        """The thread is running."""
        return self._thread is not None and self._thread.is_alive()

    # -- the thread --------------------------------------------------------------------------
    def _run(self) -> None:
        relist = True
        while not self._stopping.is_set():
            delay, started = 0.0, time.monotonic()
            try:
                if relist:
                    self._list()
                    relist = False
                started = time.monotonic()
                self._watch()
                if time.monotonic() - started < MIN_WATCH_SECONDS:
                    delay = self._backoff_delay(1)  # a server that ends streams at once
            except _Stopped:
                break
            except http.Expired:
                relist = True
                self._expired_in_row += 1
                self._count("relists")
                if self._expired_in_row > 1:  # 410 again with no event between: slow down
                    delay = self._backoff_delay(self._expired_in_row - 1)
            except http.NotServed:
                relist = True
                self._set_absent()
                delay = self._absent_recheck * self._rng.uniform(0.8, 1.0)
            except SourceFailure as fail:
                if self._stopping.is_set():
                    break
                self._failures += 1
                self._fail(fail.error)
                delay = self._backoff_delay(self._failures)
            except _Dropped as drop:
                if self._stopping.is_set():
                    break
                self._failures += 1
                if self._failures > 1 or time.monotonic() - started < MIN_WATCH_SECONDS:
                    self._fail(read_error(drop.cause, self.spec.target))
                    delay = self._backoff_delay(self._failures)
                else:  # reconnect at once; only a reconnect that fails is an error
                    log.debug("%s: watch stream cut; reconnecting", self.spec.target)
            except Exception as err:  # a transport failure while reading a body
                if self._stopping.is_set():
                    break
                self._failures += 1
                self._fail(read_error(err, self.spec.target))
                delay = self._backoff_delay(self._failures)
            if delay > 0 and self._pause(delay):
                break
        with self._cond:
            self._watching = False
            self._cond.notify_all()

    def _pause(self, delay: float) -> bool:
        """Wait `delay` seconds, or less after `retry_now`; True when stopping."""
        self._wake.wait(delay)
        self._wake.clear()
        return self._stopping.is_set()

    def _backoff_delay(self, attempt: int) -> float:
        """Full jitter: uniform(0, min(max, initial * 2^(attempt-1)))."""
        initial, cap = self._backoff
        return self._rng.uniform(0.0, min(cap, initial * 2 ** min(attempt - 1, 30)))

    def _open(self, query: list[tuple[str, str]], timeout: float | tuple[float, float]) -> Any:
        """A 200 response with its body unread; raises Expired/NotServed/SourceFailure."""
        if self._stopping.is_set():
            raise _Stopped
        try:
            resp = http.open_get(self._api, self.spec.api_path, query, timeout)
        except Exception as err:
            raise SourceFailure(read_error(err, self.spec.target)) from None
        with self._cond:
            self._response = resp
        if self._stopping.is_set():
            self._close(resp, reuse=False)
            raise _Stopped
        if resp.status == 200:
            return resp
        try:
            raw: bytes = resp.read()
        except Exception:
            raw = b""
        finally:
            self._close(resp, reuse=False)
        raise http.problem(resp.status, raw, str(resp.reason or ""), self.spec.target, self._rbac)

    def _close(self, resp: Any, reuse: bool) -> None:
        with self._cond:
            if self._response is resp:
                self._response = None
        with contextlib.suppress(Exception):
            if reuse and not self._stopping.is_set():
                resp.release_conn()
            else:
                resp.close()

    def _list(self) -> None:
        """One complete, paged LIST, stored atomically."""
        self._count("lists")
        objects: dict[str, Any] = {}
        token: str | None = None
        seen: set[str] = set()
        while True:
            query = [*self._base_query, ("limit", str(self._page_size))]
            if token:
                query.append(("continue", token))
            resp = self._open(query, self._timeout)
            reuse = False
            try:
                raw = http.read_body(resp, self.spec.target, self._max_body, self._timeout)
                reuse = True
            finally:
                self._close(resp, reuse=reuse)
            doc, items = stream_page(raw, self.spec.target)
            del raw
            self._store_page(items, objects)  # items decoded and reduced one by one
            self._count("list_pages")
            meta = doc.get("metadata")
            meta = meta if isinstance(meta, dict) else {}
            token = str(meta.get("continue") or "") or None
            if token is None:
                rv = str(meta.get("resourceVersion") or "") or None
                break
            if token in seen or len(seen) >= MAX_PAGES:
                message = f"{self.spec.target}: the LIST's continue tokens repeat"
                raise SourceFailure(SourceError("paging_loop", message, self.spec.target))
            seen.add(token)
        with self._cond:
            self._replace_all(objects)
            if (self._synced, self._absent) != (True, False):
                self._bump()
            self._rv = rv
            self._synced, self._absent, self._synced_at = True, False, self._clock()
            self._cleared()
        self._listed, self._failures = True, 0

    def _store_page(self, items: Iterable[tuple[str, Json]], objects: dict[str, Any]) -> None:
        for key, item in items:
            stored = self._prepare(item, key)
            if stored is not None:
                objects[key] = stored

    def _prepare(self, obj: Json, key: str) -> Any:
        """The object as stored: after the spec's transform (None: not kept)."""
        return prepared(self.spec.transform, obj, key, self.spec.target)

    def _watch(self) -> None:
        """One WATCH stream from the kept resourceVersion, applied until it ends."""
        seconds = max(1, round(self._rng.uniform(*self._watch_timeout)))
        query = [*self._base_query, ("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(seconds))]  # fmt: skip
        if self._rv:
            query.append(("resourceVersion", self._rv))
        resp = self._open(query, (self._timeout, seconds + self._timeout))
        with self._cond:
            self._counts["watch_connects"] += 1
            self._counts["watch_reconnects"] += 0 if self._listed else 1
            self._watching = True
            self._cleared()
        self._listed, self._failures = False, 0
        clean = False
        try:
            for line in http.lines(resp, self.spec.target, self._max_body):
                self._apply(http.decode(line, self.spec.target))
            clean = True
        except (http.Expired, SourceFailure):
            raise
        except Exception as err:  # the stream was cut: a restart, an idle timeout, a NAT
            if self._stopping.is_set():
                raise _Stopped from None
            raise _Dropped(err) from None
        finally:
            with self._cond:
                self._watching = False
            self._close(resp, reuse=clean)
        if self._stopping.is_set():
            raise _Stopped
        self._expired_in_row = 0
        self._count("watch_ends")

    def _apply(self, event: Json) -> None:
        """One watch event: store, remove, advance the resourceVersion, or raise."""
        kind, obj = str(event.get("type") or ""), event.get("object")
        with self._cond:
            self._events[kind if kind in EVENT_TYPES else "other"] += 1
        if kind == "ERROR":
            raise http.status_event(obj, self.spec.target, self._rbac)
        self._expired_in_row = 0
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if not isinstance(obj, dict) or not isinstance(meta, dict):
            message = f"{self.spec.target}: a {kind or 'watch'} event without an object"
            raise SourceFailure(SourceError("bad_json", message, self.spec.target))
        rv = str(meta.get("resourceVersion") or "") or None
        key = object_key(obj)
        stored = self._prepare(obj, key) if kind in ("ADDED", "MODIFIED") and key else None
        with self._cond:
            before = self._objects.get(key) if key is not None else None
            if stored is not None and key is not None:
                if before is None or before != stored:  # an equal one changes nothing
                    self._objects[key] = stored
                    self._items = None
                    self._bump((namespace_of(key),))
            elif (
                kind in ("ADDED", "MODIFIED", "DELETED")
                and key is not None
                and key in self._objects
            ):
                # DELETED, or a MODIFIED object the transform no longer keeps
                del self._objects[key]
                self._items = None
                self._bump((namespace_of(key),))
            if rv:
                self._rv = rv
            self._cond.notify_all()

    # -- state changes (callers hold self._cond where noted) ---------------------------------
    def _cleared(self) -> None:
        """The collection is healthy again (caller holds the lock)."""
        self._outcomes += 1
        if self._error is not None:
            log.info("%s: reading again after %s", self.spec.target, self._error.reason)
            self._bump()
        self._error = self._error_since = None
        self._cond.notify_all()

    def _fail(self, error: SourceError) -> None:
        with self._cond:
            if self._error is None:
                self._error_since = self._clock()
            same = self._error == error
            if not same:
                self._bump()
            self._error = error
            self._outcomes += 1
            self._errors[error.reason] += 1
            self._cond.notify_all()
        (log.debug if same else log.warning)("%s", error.message)

    def _set_absent(self) -> None:
        with self._cond:
            was_absent = self._absent
            self._counts["absent_checks"] += 1
            self._replace_all({})
            if (self._synced, self._absent) != (True, True):
                self._bump()
            self._rv = None
            self._synced, self._absent, self._synced_at = True, True, self._clock()
            self._cleared()
        if not was_absent:
            log.info("%s: the API server does not serve this kind", self.spec.target)
