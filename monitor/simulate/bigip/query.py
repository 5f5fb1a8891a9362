"""Serving the simulated BIG-IP's objects: snapshots, URL resolution and query options.

A `Snapshot` is what one device serves at one moment; `update()` replaces it
whole.  Building one carries `generation` (and `createTime`/`creationTime`) over
from the previous snapshot and bumps `generation` (setting `lastUpdateTime` /
`lastModifiedTime` to the update time) only for objects whose content changed;
a pool counts as changed when its members changed, a virtual when its profiles did.

Requests never re-render: a collection GET filters (cached per snapshot), slices
the page and encodes only that page.  Query options (research/f5.md §3):
`$top`/`$skip` paging with `currentItemCount`, `itemsPerPage`, `pageIndex`,
`startIndex`, `totalItems`, `totalPages` and a `nextLink` on every page but the
last (`https://localhost/...?%24top=N&%24skip=M&<other options>`); `$select`;
`$filter=<field> eq <value>` (quoted or not; `partition eq k8s` includes folder
objects, which report `partition: k8s`); `expandSubcollections=true`; unknown
options are ignored.  UNVERIFIED and chosen here: `pageIndex`/`startIndex` are
1-based; the collection `selfLink` repeats the request's options before `ver=`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote_plus, unquote

from monitor.simulate.bigip.links import TM_PREFIX, collection_kind, link
from monitor.simulate.bigip.model import DeviceConfig

_VOLATILE = ("generation", "createTime", "creationTime", "lastUpdateTime", "lastModifiedTime")
_CREATED = ("createTime", "creationTime")
_TOUCHED = ("lastUpdateTime", "lastModifiedTime")
_SAFE = ",'"
_FILTER = re.compile(r"^\s*(\w+)\s+eq\s+(?:'([^']*)'|(\S+))\s*$")
# what icrd calls each kind in "01020036:3: The requested <name> (<path>) was not found."
# Only "Pool" is from a capture; the others are UNVERIFIED.
_KIND_NAMES = {
    "ltm/pool": "Pool",
    "ltm/pool/members": "Pool Member",
    "ltm/virtual": "Virtual Server",
    "ltm/virtual/profiles": "Profile",
    "ltm/virtual/policies": "Policy",
    "ltm/profile/server-ssl": "ServerSSL Profile",
    "ltm/profile/client-ssl": "ClientSSL Profile",
    "sys/file/ssl-cert": "Certificate File",
    "sys/crypto/cert": "Certificate",
    "sys/crypto/ca-bundle-manager": "CA Bundle Manager",
    "cm/device": "Device",
    "auth/partition": "Partition",
}


class QueryError(ValueError):
    """A query option with a value the simulator cannot honour (answered with 400)."""


def _strip(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _VOLATILE}


def _sub_paths(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(key, subcollection REST path) for each `...Reference` with isSubcollection."""
    out = []
    for key, value in item.items():
        if isinstance(value, dict) and value.get("isSubcollection") is True:
            out.append((key, _link_path(value["link"])))
    return out


def _link_path(link: Any) -> str:
    return str(link).removeprefix(TM_PREFIX).split("?", 1)[0]


class Snapshot:
    """The objects one device serves; read-only once built (requests share it)."""

    def __init__(self, config: DeviceConfig, served: dict[str, list[dict[str, Any]]]) -> None:
        self.config = config
        self.collections = served
        self.index = {p: {key_of(i): i for i in items} for p, items in served.items()}
        self._filtered: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def filtered(self, path: str, flt: tuple[str, str] | None) -> list[dict[str, Any]]:
        items = self.collections[path]
        if flt is None:
            return items
        key = (path, *flt)
        hit = self._filtered.get(key)
        if hit is None:
            name, value = flt
            hit = [i for i in items if name in i and _as_text(i[name]) == value]
            self._filtered[key] = hit
        return hit


def key_of(item: Mapping[str, Any]) -> str:
    """An item's key: its `fullPath`, or the `id` of a REST worker's item (a discovery task)."""
    return str(item["fullPath"] if "fullPath" in item else item["id"])


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build_snapshot(config: DeviceConfig, previous: Snapshot | None, now_iso: str) -> Snapshot:
    if previous is None:
        return Snapshot(config, config.collections)
    old_raw = previous.config.collections
    raw_index = {p: {key_of(i): i for i in items} for p, items in old_raw.items()}
    served: dict[str, list[dict[str, Any]]] = {}
    for path, items in config.collections.items():
        before_raw = raw_index.get(path, {})
        before = previous.index.get(path, {})
        subs = [key for key, _ in _sub_paths(items[0])] if items else []
        out = []
        for item in items:
            full = key_of(item)
            old = before_raw.get(full)
            if old is None:
                new = dict(item)
                for key in (*_CREATED, *_TOUCHED):
                    if key in new:
                        new[key] = now_iso
                out.append(new)
                continue
            kept = before[full]
            if (old is item or old == item) and not _subs_differ(
                item, subs, old_raw, config.collections
            ):
                out.append(kept)  # unchanged: serve the previous object as it was
                continue
            new = dict(item)
            for key in _CREATED:
                if key in new and key in kept:
                    new[key] = kept[key]
            if _changed(old, item, old_raw, config.collections):
                new["generation"] = int(kept["generation"]) + 1
                for key in _TOUCHED:
                    if key in new:
                        new[key] = now_iso
            else:
                new["generation"] = kept["generation"]
                for key in _TOUCHED:
                    if key in new and key in kept:
                        new[key] = kept[key]
            out.append(new)
        served[path] = out
    return Snapshot(config, served)


def _subs_differ(
    item: Mapping[str, Any],
    keys: list[str],
    old_all: Mapping[str, list[dict[str, Any]]],
    new_all: Mapping[str, list[dict[str, Any]]],
) -> bool:
    """Did a subcollection of `item` change at all? (`keys`: its subcollection references)"""
    for key in keys:
        sub = _link_path(item[key]["link"])
        if old_all.get(sub) != new_all.get(sub):
            return True
    return False


def _changed(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    old_all: Mapping[str, list[dict[str, Any]]],
    new_all: Mapping[str, list[dict[str, Any]]],
) -> bool:
    if _strip(old) != _strip(new):
        return True
    for _, sub in _sub_paths(new):
        before = [_strip(i) for i in old_all.get(sub, [])]
        if before != [_strip(i) for i in new_all.get(sub, [])]:
            return True
    return False


@dataclass(frozen=True)
class Query:
    top: int | None = None
    skip: int = 0
    select: tuple[str, ...] | None = None
    filter: tuple[str, str] | None = None
    expand: bool = False
    options: tuple[tuple[str, str], ...] = ()  # every option but ver, in request order


def parse_query(raw: str) -> Query:
    pairs = [(k, v) for k, v in parse_qsl(raw, keep_blank_values=True) if k != "ver"]
    opts = dict(pairs)

    def count(name: str, minimum: int) -> int | None:
        if name not in opts:
            return None
        try:
            value = int(opts[name])
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise QueryError(f"invalid value for {name}: {opts[name]!r}")
        return value

    flt = None
    if "$filter" in opts:
        m = _FILTER.match(opts["$filter"])
        if not m:
            raise QueryError(f"unsupported $filter expression: {opts['$filter']!r}")
        flt = (m.group(1), m.group(2) if m.group(2) is not None else m.group(3))
    select = None
    if "$select" in opts:
        select = tuple(s.strip() for s in opts["$select"].split(",") if s.strip())
    return Query(
        top=count("$top", 1),
        skip=count("$skip", 0) or 0,
        select=select,
        filter=flt,
        expand=opts.get("expandSubcollections", "").lower() == "true",
        options=tuple(pairs),
    )


def _encode(pairs: tuple[tuple[str, str], ...]) -> str:
    return "&".join(f"{k.replace('$', '%24')}={quote_plus(v, safe=_SAFE)}" for k, v in pairs)


def with_options(path: str, q: Query, version: str) -> str:
    """A selfLink that repeats the request's options, then `ver=`."""
    if not q.options:
        return link(path, version)
    return f"{TM_PREFIX}{path}?{_encode(q.options)}&ver={version}"


def project(snap: Snapshot, item: dict[str, Any], q: Query) -> dict[str, Any]:
    out = item
    if q.expand:
        out = dict(item)
        for key, sub in _sub_paths(item):
            sub_items = snap.collections.get(sub)
            if sub_items:
                out[key] = {**item[key], "items": sub_items}
    if q.select is not None:
        out = {k: out[k] for k in q.select if k in out}
    return out


def collection_body(snap: Snapshot, path: str, q: Query, version: str) -> dict[str, Any]:
    items = snap.filtered(path, q.filter)
    total = len(items)
    start = min(q.skip, total)
    end = total if q.top is None else min(total, start + q.top)
    body: dict[str, Any] = {
        "kind": collection_kind(path),
        "selfLink": with_options(path, q, version),
    }
    if q.top is not None:
        body["currentItemCount"] = end - start
        body["itemsPerPage"] = q.top
        body["pageIndex"] = start // q.top + 1
        body["startIndex"] = start + 1
        body["totalItems"] = total
        body["totalPages"] = math.ceil(total / q.top)
    if end > start:
        body["items"] = [project(snap, i, q) for i in items[start:end]]
    if q.top is not None and end < total:
        rest = tuple((k, v) for k, v in q.options if k not in ("$top", "$skip"))
        tail = f"&{_encode(rest)}" if rest else ""
        body["nextLink"] = f"{TM_PREFIX}{path}?%24top={q.top}&%24skip={end}{tail}"
    return body


def object_body(snap: Snapshot, item: dict[str, Any], q: Query) -> dict[str, Any]:
    out = project(snap, item, q)
    if q.options and "selfLink" in out:
        base, _, ver = str(item["selfLink"]).partition("?ver=")
        out = {**out, "selfLink": f"{base}?{_encode(q.options)}&ver={ver}"}
    return out


@dataclass(frozen=True)
class Target:
    """What a path below /mgmt/tm names."""

    kind: str  # collection | object | stats | missing | unregistered
    path: str = ""
    item: dict[str, Any] | None = None
    message: str = ""


def served(snap: Snapshot) -> list[str]:
    """Every REST path below /mgmt/tm the snapshot answers (collections and stats)."""
    return [*snap.collections, *snap.config.stats]


def resolve(snap: Snapshot, tm_path: str) -> Target:
    raw = [unquote(s) for s in tm_path.strip("/").split("/")]
    segs = [s.replace("%", "%25") for s in raw]
    path = "/".join(segs)
    if path in snap.config.stats:
        return Target("stats", path)
    if path in snap.collections:
        return Target("collection", path)
    for cut in range(len(segs) - 1, 0, -1):
        parent = "/".join(segs[:cut])
        if parent not in snap.collections:
            continue
        item = _lookup(snap.index[parent], raw[cut])
        if item is None:
            return Target("missing", parent, message=_not_found(parent, raw[cut]))
        if cut == len(segs) - 1:
            return Target("object", parent, item)
        break
    return Target("unregistered")


def _lookup(index: Mapping[str, dict[str, Any]], segment: str) -> dict[str, Any] | None:
    if segment.startswith("~"):
        return index.get(segment.replace("~", "/"))
    return index.get(segment) or index.get(f"/Common/{segment}")


def _not_found(collection: str, segment: str) -> str:
    full = segment.replace("~", "/") if segment.startswith("~") else f"/Common/{segment}"
    parts = collection.split("/")
    kind = "/".join(p for p in parts if not p.startswith("~"))
    name = _KIND_NAMES.get(kind, "object")
    if kind == "ltm/pool/members":
        pool = parts[2].replace("~", "/")
        node, sep, port = full.rpartition(":")
        if ":" in node.rsplit("/", 1)[-1] or not sep:  # IPv6 members end in .<port>
            node, sep, port = full.rpartition(".")
        full = f"{pool} {node} {port}" if sep else f"{pool} {full}"
    return f"01020036:3: The requested {name} ({full}) was not found."
