"""The WATCH stream of the simulated Kubernetes API.

Owns what happens on a watch connection after the 200 headers: chunked,
newline-delimited `{"type": …, "object": …}` events — the current objects as ADDED
when no resourceVersion is given, otherwise the history after it — then live changes
until `timeoutSeconds` (a `sendInitialEvents` watch is refused as a 1.30 server with the
WatchList gate off refuses it: `validation.list_options_errors`), BOOKMARK events when
allowed, an `ERROR` event with Status 410 `Expired` when the history no longer reaches
back (or is compacted under an open watch), and the end of the stream when the server
stops or the client goes away.
"""

from __future__ import annotations

import contextlib
import io
import json
import select
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.api import (
    Selection,
    Target,
    bookmark,
    expired_event,
    present,
    selection,
    watch_event,
)
from monitor.simulate.kube.status import ApiError
from monitor.simulate.kube.store import Expired, KubeStore
from monitor.simulate.kube.validation import list_options_errors


@dataclass(frozen=True)
class WatchRequest:
    target: Target
    selection: Selection
    start: int | None  # None: begin with the current objects as ADDED
    timeout: float
    bookmarks: bool


def parse_watch(target: Target, query: Mapping[str, str], default_timeout: float) -> WatchRequest:
    """The watch parameters of a request; BadRequest for a malformed resourceVersion."""
    list_options_errors(query, watch=True)
    sel = selection(target, query)
    rv_text = query.get("resourceVersion", "")
    start: int | None = None
    if rv_text not in ("", "0"):
        try:
            start = int(rv_text)
        except ValueError:
            message = f'resourceVersion: Invalid value: "{rv_text}": invalid resource version'
            raise ApiError(400, "BadRequest", message) from None
    timeout = default_timeout
    if query.get("timeoutSeconds"):
        with contextlib.suppress(ValueError):
            timeout = float(query["timeoutSeconds"])
    bookmarks = query.get("allowWatchBookmarks", "").lower() in ("true", "1")
    return WatchRequest(target, sel, start, timeout, bookmarks)


class WatchStream:
    """Writes one watch response body (chunked) to a client connection."""

    def __init__(
        self, wfile: io.BufferedIOBase, connection: socket.socket, store: KubeStore, truncate: bool
    ) -> None:
        self.wfile, self.connection, self.store, self.truncate = wfile, connection, store, truncate
        self.shaper: Callable[[Any], Any] | None = None  # e.g. to PartialObjectMetadata

    def _chunk(self, payload: Any) -> None:
        if self.shaper is not None and payload.get("type") != "ERROR":
            payload = {**payload, "object": self.shaper(payload["object"])}
        data = json.dumps(payload, separators=(",", ":")).encode() + b"\n"
        if self.truncate:  # the fault: half a chunk, then the connection is dropped
            self.wfile.write(b"%x\r\n" % len(data) + data[: len(data) // 2])
            self.wfile.flush()
            raise ConnectionAbortedError("truncated by fault")
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _client_gone(self) -> bool:
        """A watch client sends nothing: a readable socket means it closed."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def run(self, req: WatchRequest, bookmark_interval: float) -> bool:
        """Stream until done; False when the connection must be closed afterwards."""
        store, target, sel = self.store, req.target, req.selection
        res = target.resource
        resource = (res.group, res.plural)
        epoch, drops = store.epoch, store.drops
        deadline = time.monotonic() + req.timeout
        next_bookmark = time.monotonic() + bookmark_interval
        try:
            if self.truncate:
                self._chunk(bookmark(target, store.rv))
            if req.start is None:
                sent, objs = store.snapshot(resource)
                for obj in objs:
                    if sel.matches(obj):
                        self._chunk({"type": "ADDED", "object": present(obj, res, target.version)})
            else:
                sent = req.start
            while True:
                try:
                    changes, current = store.changes_since(sent, resource)
                except Expired as err:
                    self._chunk(expired_event(err))
                    break
                for change in changes:
                    event = watch_event(change, target, sel)
                    if event is not None:
                        self._chunk(event)
                sent = max(sent, current)
                now = time.monotonic()
                if req.bookmarks and (now >= next_bookmark or now >= deadline):
                    self._chunk(bookmark(target, sent))
                    next_bookmark = now + bookmark_interval
                if store.drops != drops:
                    return False  # dropped: no final chunk, the connection is closed
                if now >= deadline or store.closed:
                    break
                wait = min(0.5, deadline - now, max(next_bookmark - now, 0.01))
                mark = sent
                store.wait(lambda: store.rv > mark or store.epoch != epoch, wait)  # noqa: B023
                epoch = store.epoch
                if store.drops != drops:
                    return False
                if self._client_gone():
                    return False
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            return True
        except (OSError, ValueError):
            return False
