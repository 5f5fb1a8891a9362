"""What the watch layer is asked to watch and what it hands back: the value types.

Owns `WatchSpec` (a collection path narrowed by label and field selectors, the human
target name for messages, an optional per-object `transform` that may reduce an object to
a compact record of its few facts or drop it, the RBAC grant a 403 names),
`CollectionView` (a frozen snapshot of one watched collection, with a generation that
changes exactly when what it holds changes), `WatchStats`
(its counters, addable), `object_key` (the `namespace/name` items are keyed and ordered
by) and `secret_without_keys` (the transform that keeps a Secret's private keys out of
every cache). Pure: no I/O.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from monitor.model import SourceError
from monitor.sources.kube import transport as http

Json = dict[str, Any]
_PRIVATE_META = ("annotations", "managedFields")


def object_key(obj: Json) -> str | None:
    """`namespace/name` (`name` for cluster-scoped objects); None without a name."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not meta.get("name"):
        return None
    ns = meta.get("namespace")
    return f"{ns}/{meta['name']}" if ns else str(meta["name"])


def secret_without_keys(obj: Json) -> Json:
    """A Secret without private keys (`tls.key`, `key.pem`, `*.key`) and annotations.

    kubectl's last-applied-configuration annotation repeats the whole Secret, so the
    annotations go too. Meant as `WatchSpec.transform` for Secrets, and for a ConfigMap
    that publishes a certificate (a key published there by mistake is not kept either).
    """
    out = dict(obj)
    meta = out.get("metadata")
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k not in _PRIVATE_META}
    data = out.get("data")
    if isinstance(data, dict):
        out["data"] = {k: v for k, v in data.items() if k != "key.pem" and not k.endswith(".key")}
    out.pop("stringData", None)
    return out


@dataclass(frozen=True)
class WatchSpec:
    """One watched collection; equal specs are the same watch (keep `transform` a stable,
    module-level function, or a new spec — and a new watch — is made every time)."""

    api_path: str  # /api/v1/namespaces/linkerd/configmaps, /apis/<group>/<version>/...
    target: str  # names the object(s) in messages: "configmap linkerd/linkerd-config"
    label_selector: str = ""
    field_selector: str = ""  # "metadata.name=x": what RBAC with resourceNames allows
    # runs before an object is stored: what it returns is stored (a dict, or a compact
    # record), None drops the object (not one the monitor needs)
    transform: Callable[[Json], Any] | None = None
    rbac: str = ""  # the grant a 403 names; "" = derived from the path and selectors

    def __post_init__(self) -> None:
        http.split_path(self.api_path)  # ValueError for a path that is no collection

    @classmethod
    def of(
        cls,
        plural: str,
        namespace: str | None = None,
        *,
        group: str = "",
        version: str = "v1",
        name: str | None = None,
        label_selector: str = "",
        target: str | None = None,
        transform: Callable[[Json], Any] | None = None,
        rbac: str = "",
    ) -> WatchSpec:
        """The spec of `plural` in `namespace` (None: all), optionally of one `name`."""
        where = f"{namespace}/{name}" if namespace and name else (name or namespace or "all")
        default = f"{plural} {where}" + (f" ({label_selector})" if label_selector else "")
        return cls(
            http.collection_path(plural, namespace, group, version),
            target or default,
            label_selector,
            f"metadata.name={name}" if name else "",
            transform,
            rbac,
        )

    @property
    def rbac_hint(self) -> str:
        return self.rbac or http.rbac_hint(self.api_path, self.field_selector)


def stored_key(obj: Any) -> str | None:
    """The `namespace/name` of a stored item: a dict's, or a compact record's `key`."""
    if isinstance(obj, dict):
        return object_key(obj)
    key = getattr(obj, "key", None)
    return key if isinstance(key, str) else None


@dataclass(frozen=True)
class CollectionView:
    """A consistent snapshot; the data is trustworthy when `synced and error is None`.

    `generation` changes whenever the items, `synced`, `absent` or `error` change (not for
    bookmarks, nor for a MODIFIED object whose stored form is equal to the one it
    replaces, nor for a relist that found what was stored): equal generations hold the
    same data (generations are unique across the collections of the process).
    `namespaces` maps a namespace ("" for cluster-scoped objects) to the generation of
    the last change of its items, so a reader can tell which namespaces changed.
    """

    items: tuple[Any, ...]  # ordered by namespace/name; treat them as read-only
    synced: bool  # a complete LIST has been stored (or the kind is absent)
    error: SourceError | None  # the failure since the last successful LIST / WATCH connect
    absent: bool  # the apiserver does not serve the kind (404 on the collection)
    resource_version: str | None
    watching: bool = False  # a WATCH stream is open now
    synced_at: float | None = None  # clock() of the last complete LIST
    error_since: float | None = None  # clock() when the current error began
    generation: int = 0
    by_key: Mapping[str, Any] | None = None  # the items by key (None: found by a scan)
    namespaces: Mapping[str, int] = field(default_factory=dict)

    def find(self, namespace: str | None, name: str) -> Any:
        """The item `namespace/name` (namespace None: a cluster-scoped object), if stored."""
        key = f"{namespace}/{name}" if namespace else name
        if self.by_key is not None:
            return self.by_key.get(key)
        return next((o for o in self.items if stored_key(o) == key), None)

    def changed_in(self, namespace: str) -> int:
        """The generation of the last change of the items in `namespace` (0: never)."""
        return self.namespaces.get(namespace, 0)


@dataclass(frozen=True)
class WatchStats:
    """Counters since start; `events` by event type, `errors` by reason code."""

    lists: int = 0  # LISTs started (a paged LIST counts once; absent re-checks included)
    relists: int = 0  # of those, started because of 410 Gone
    list_pages: int = 0  # LIST page requests that answered 200
    watch_connects: int = 0  # WATCH requests that answered 200
    watch_reconnects: int = 0  # of those, resumed from a kept resourceVersion (no LIST before)
    watch_ends: int = 0  # streams the server ended cleanly (timeoutSeconds)
    absent_checks: int = 0  # LIST / WATCH answers of 404: the kind is not served
    events: Mapping[str, int] = field(default_factory=dict)  # ADDED MODIFIED DELETED BOOKMARK ERROR
    errors: Mapping[str, int] = field(default_factory=dict)

    def __add__(self, other: WatchStats) -> WatchStats:
        counts = {f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)
                  if f.name not in ("events", "errors")}  # fmt: skip
        events = Counter(self.events) + Counter(other.events)
        errors = Counter(self.errors) + Counter(other.errors)
        return WatchStats(**counts, events=dict(events), errors=dict(errors))
