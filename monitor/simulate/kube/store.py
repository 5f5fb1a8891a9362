"""The versioned object store behind the simulated Kubernetes API (an etcd stand-in).

Owns the objects, the global monotonically increasing resourceVersion, and the
change history that watches replay and paged lists read their snapshots from.
Every change (ADDED, MODIFIED, DELETED, the last keeping a tombstone of the final
state) gets the next resourceVersion.  Compaction drops the history: watches and
continue tokens from before it answer 410 Gone.  Thread-safe; waiters block on
`cond` until something changes.

Stored objects are never mutated after they are stored: every change stores a new
top-level dict, so readers may hand them out without copying.  The store takes the
objects it is given as they are (no deep copy): callers must not mutate them later,
and rendered objects may share nested parts.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]
Resource = tuple[str, str]  # (group, plural)
Key = tuple[str, str, str, str]  # (group, plural, namespace or "", name)

_IGNORED_META = ("resourceVersion", "uid", "creationTimestamp", "generation")
_META_ORDER = (
    "name",
    "generateName",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
)


class Expired(Exception):
    """The requested resourceVersion is older than the compacted history."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class Conflict(Exception):
    """An update whose metadata.resourceVersion is not the stored one."""


@dataclass(frozen=True, slots=True)
class Change:
    rv: int
    type: str  # ADDED | MODIFIED | DELETED
    key: Key
    obj: Obj  # the object after the change; for DELETED its last state at the deletion rv
    prev: Obj | None  # the object before the change (None for ADDED)


def stamp(obj: Mapping[str, Any], rv: int, keep: Mapping[str, Any] | None = None) -> Obj:
    """A copy of `obj` with metadata.resourceVersion = rv (and uid etc. kept from `keep`)."""
    meta = dict(obj.get("metadata") or {})
    if keep is not None:
        for field in ("uid", "creationTimestamp"):
            if field in keep:
                meta[field] = keep[field]
    meta["resourceVersion"] = str(rv)
    ordered = {k: meta[k] for k in _META_ORDER if k in meta}
    ordered.update((k, v) for k, v in meta.items() if k not in ordered)
    return {**obj, "metadata": ordered}


def _content(obj: Mapping[str, Any]) -> Obj:
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in _IGNORED_META}
    return {**obj, "metadata": meta}


def _order(key: tuple[str, str]) -> str:
    """etcd's order: by the key `<namespace>/<name>` as a string."""
    return f"{key[0]}/{key[1]}"


def key_of(group: str, plural: str, obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return (group, plural, str(meta.get("namespace") or ""), str(meta["name"]))


class KubeStore:
    def __init__(self, first_rv: int = 1000, history_limit: int = 100_000) -> None:
        self.cond = threading.Condition()
        self._objects: dict[Resource, dict[tuple[str, str], Obj]] = {}
        self._rv = first_rv
        self._compacted = first_rv  # a watch from X needs X >= compacted
        self._history: list[Change] = []
        self._history_rvs: list[int] = []
        self._limit = history_limit
        self._sorted: dict[Resource, tuple[int, list[Obj]]] = {}
        self._last_change: dict[Resource, int] = {}
        self.epoch = 0  # bumped to end every open watch
        self.drops = 0  # bumped to drop every open watch without a word (`watchDrop`)
        self.closed = False

    # -- reading -----------------------------------------------------------
    @property
    def rv(self) -> int:
        return self._rv

    @property
    def compacted(self) -> int:
        return self._compacted

    def get(self, key: Key) -> Obj | None:
        with self.cond:
            return self._objects.get(key[:2], {}).get(key[2:])

    def list_at(self, resource: Resource, rv: int | None = None) -> list[Obj]:
        """Objects of a resource in key order (`<namespace>/<name>`), as they were at `rv`."""
        with self.cond:
            current = self._rv
            if rv is None or rv >= current:
                return self._current_sorted(resource)
            if rv < self._compacted:
                raise Expired(rv, self._compacted)
            state = dict(self._objects.get(resource, {}))
            start = bisect.bisect_right(self._history_rvs, rv)
            for change in reversed(self._history[start:]):
                if change.key[:2] != resource:
                    continue
                if change.prev is None:
                    state.pop(change.key[2:], None)
                else:
                    state[change.key[2:]] = change.prev
            return [state[k] for k in sorted(state, key=_order)]

    def _current_sorted(self, resource: Resource) -> list[Obj]:
        stamp_rv = self._last_change.get(resource, 0)
        cached = self._sorted.get(resource)
        if cached is None or cached[0] != stamp_rv:
            objs = self._objects.get(resource, {})
            cached = (stamp_rv, [objs[k] for k in sorted(objs, key=_order)])
            self._sorted[resource] = cached
        return cached[1]

    def snapshot(self, resource: Resource) -> tuple[int, list[Obj]]:
        """(current resourceVersion, objects), taken atomically."""
        with self.cond:
            return self._rv, self._current_sorted(resource)

    def changes_since(self, rv: int, resource: Resource) -> tuple[list[Change], int]:
        """(changes after rv, current resourceVersion), taken atomically."""
        with self.cond:
            return self.changes_after(rv, resource), self._rv

    def changes_after(self, rv: int, resource: Resource) -> list[Change]:
        """Changes of `resource` after rv; Expired when the history no longer has them."""
        with self.cond:
            if rv < self._compacted:
                raise Expired(rv, self._compacted)
            start = bisect.bisect_right(self._history_rvs, rv)
            return [c for c in self._history[start:] if c.key[:2] == resource]

    # -- writing -----------------------------------------------------------
    def _record(self, kind: str, key: Key, obj: Obj, prev: Obj | None) -> Change:
        self._rv += 1
        stored = stamp(obj, self._rv, keep=None if prev is None else prev.get("metadata"))
        bucket = self._objects.setdefault(key[:2], {})
        if kind == "DELETED":
            bucket.pop(key[2:], None)
        else:
            bucket[key[2:]] = stored
        change = Change(self._rv, kind, key, stored, prev)
        self._history.append(change)
        self._history_rvs.append(self._rv)
        self._last_change[key[:2]] = self._rv
        if len(self._history) > self._limit:
            drop = len(self._history) // 2
            self._compacted = self._history_rvs[drop - 1]
            del self._history[:drop]
            del self._history_rvs[:drop]
        return change

    def sync(self, objects: Iterable[tuple[Key, Obj]], previous: set[Key]) -> list[Change]:
        """Make the store hold `objects`; keys in `previous` that are gone get deleted.

        Unchanged objects keep their resourceVersion; changed ones keep uid and
        creationTimestamp and bump `metadata.generation` when they carry one and
        their spec changed.  Objects the clients created (not in `previous`) stay.
        """
        changes: list[Change] = []
        with self.cond:
            seen: set[Key] = set()
            for key, obj in objects:
                seen.add(key)
                old = self._objects.get(key[:2], {}).get(key[2:])
                if old is None:
                    changes.append(self._record("ADDED", key, obj, None))
                elif _content(old) != _content(obj):
                    old_meta = old.get("metadata") or {}
                    if "generation" in old_meta:
                        bump = old.get("spec") != obj.get("spec")
                        generation = old_meta["generation"] + int(bump)
                        obj = {**obj, "metadata": {**obj["metadata"], "generation": generation}}
                    changes.append(self._record("MODIFIED", key, obj, old))
            for key in sorted(previous - seen):
                old = self._objects.get(key[:2], {}).get(key[2:])
                if old is not None:
                    changes.append(self._record("DELETED", key, old, old))
            if changes:
                self.cond.notify_all()
        return changes

    def create(self, key: Key, obj: Obj) -> Obj | None:
        """Store a new object; None when the key exists already."""
        with self.cond:
            if key[2:] in self._objects.get(key[:2], {}):
                return None
            change = self._record("ADDED", key, obj, None)
            self.cond.notify_all()
            return change.obj

    def update(self, key: Key, obj: Obj, expected_rv: str | None) -> Obj | None:
        """Replace an object (None when missing); Conflict when expected_rv is stale.

        An update that changes nothing keeps the stored resourceVersion, as the real
        apiserver skips no-op writes.
        """
        with self.cond:
            old = self._objects.get(key[:2], {}).get(key[2:])
            if old is None:
                return None
            if expected_rv and expected_rv != old["metadata"]["resourceVersion"]:
                raise Conflict()
            if _content(old) == _content(obj):
                return old
            change = self._record("MODIFIED", key, obj, old)
            self.cond.notify_all()
            return change.obj

    def delete(self, key: Key) -> Obj | None:
        with self.cond:
            old = self._objects.get(key[:2], {}).get(key[2:])
            if old is None:
                return None
            change = self._record("DELETED", key, old, old)
            self.cond.notify_all()
            return change.obj

    def compact(self) -> None:
        """Forget all history and end every open watch (the `watchExpire` fault).

        The resourceVersion advances by one, as it does on a real cluster where other
        writes never stop, so every resourceVersion a client holds is now too old.
        """
        with self.cond:
            self._rv += 1
            self._compacted = self._rv
            self._history.clear()
            self._history_rvs.clear()
            self.epoch += 1
            self.cond.notify_all()

    def drop_watches(self) -> None:
        """Cut every open watch connection with no final chunk and no ERROR event, as a
        restarted API server or a NAT that forgot the connection does (`watchDrop`)."""
        with self.cond:
            self.drops += 1
            self.epoch += 1
            self.cond.notify_all()

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.epoch += 1
            self.cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.cond:
            return self.cond.wait_for(predicate, timeout)
