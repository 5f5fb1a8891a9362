"""Which form a GET, LIST or WATCH answer takes: the object, a Table, or its metadata only.

The apiserver reads the `Accept` header's media types in order and answers with the first it
can serve (`k8s.io/apiserver/pkg/endpoints/handlers/response.go`, `negotiation`):
- `as=Table;g=meta.k8s.io;v=v1` on a GET or LIST: a `meta.k8s.io/v1` Table with kubectl's
  columns, for the kinds that have a printer here (pods in `table`, Services, ConfigMaps,
  Secrets and Leases in `printers`); kubectl asks for it first and falls back to plain JSON;
- `as=PartialObjectMetadata;g=meta.k8s.io;v=v1` on a GET or a WATCH (each event's object), and
  `as=PartialObjectMetadataList` on a LIST (client-go's metadata client, the
  garbage collector and kubectl's `--output name` paths): the object's `metadata` only,
  as `meta.k8s.io/v1` PartialObjectMetadata (the list keeps its `ListMeta`);
- any media type without `as=`: the object itself (served as JSON here);
- when every entry asks for a form this request cannot take (e.g. only
  `as=PartialObjectMetadataList` on a GET, or a `g`/`v` that is not meta.k8s.io/v1): 406
  NotAcceptable, `only the following media types are accepted: ...`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.simulate.kube.printers import PRINTERS
from monitor.simulate.kube.status import ApiError
from monitor.simulate.kube.table import TABLE_KINDS as POD_TABLE
from monitor.simulate.kube.table import table as pod_table

META = "meta.k8s.io/v1"
ACCEPTED = (
    "application/json, application/yaml, application/vnd.kubernetes.protobuf, "
    "application/json;stream=watch, application/vnd.kubernetes.protobuf;stream=watch"
)
Obj = dict[str, Any]


@dataclass(frozen=True)
class Form:
    """What the answer is: "object", "table" or "partial"."""

    kind: str


OBJECT, TABLE, PARTIAL = Form("object"), Form("table"), Form("partial")


def _entries(accept: str) -> list[dict[str, str]]:
    out = []
    for entry in accept.split(","):
        parts = [p.strip() for p in entry.split(";")]
        if not parts[0]:
            continue
        params = {}
        for param in parts[1:]:
            key, _, value = param.partition("=")
            params[key.strip()] = value.strip()
        out.append(params)
    return out


def has_table(group: str, plural: str) -> bool:
    return (group, plural) in POD_TABLE or (group, plural) in PRINTERS


def form(accept: str, verb: str, group: str, plural: str) -> Form:
    """The form of the answer to a `verb` (get / list / watch) of `plural.group`."""
    entries = _entries(accept)
    if not entries:
        return OBJECT
    for params in entries:
        wanted = params.get("as")
        if wanted is None:
            return OBJECT
        if (params.get("g"), params.get("v")) != ("meta.k8s.io", "v1"):
            continue
        if wanted == "Table" and verb in ("get", "list") and has_table(group, plural):
            return TABLE
        if wanted == "PartialObjectMetadata" and verb in ("get", "watch"):
            return PARTIAL
        if wanted == "PartialObjectMetadataList" and verb == "list":
            return PARTIAL
    raise ApiError(406, "NotAcceptable", f"only the following media types are accepted: {ACCEPTED}")


def partial(obj: Mapping[str, Any]) -> Obj:
    """One object's PartialObjectMetadata."""
    return {"kind": "PartialObjectMetadata", "apiVersion": META, "metadata": obj.get("metadata")}


def _partial_list(doc: Mapping[str, Any]) -> Obj:
    items = doc.get("items") or []
    return {
        "kind": "PartialObjectMetadataList",
        "apiVersion": META,
        "metadata": doc.get("metadata") or {},
        "items": [partial(item) for item in items],
    }


def _table(doc: Mapping[str, Any], group: str, plural: str, now: datetime) -> Obj:
    if (group, plural) in POD_TABLE:
        return pod_table(doc, now)
    columns, row = PRINTERS[(group, plural)]
    items = doc.get("items") if "items" in doc else [doc]
    meta = doc.get("metadata") or {}
    return {
        "kind": "Table",
        "apiVersion": META,
        "metadata": {k: meta[k] for k in ("resourceVersion", "continue") if k in meta},
        "columnDefinitions": [
            {"name": n, "type": t, "format": f, "description": d, "priority": p}
            for n, t, f, p, d in columns
        ],
        "rows": [{"cells": row(item, now), "object": partial(item)} for item in items or []],
    }


def shape(doc: Obj, answer: Form, group: str, plural: str, now: datetime | None = None) -> Obj:
    """The GET or LIST answer `doc` in the negotiated form."""
    if answer is TABLE:
        return _table(doc, group, plural, now or datetime.now(UTC))
    if answer is PARTIAL:
        return _partial_list(doc) if "items" in doc else partial(doc)
    return doc


def event_shaper(answer: Form) -> Callable[[Obj], Obj] | None:
    """What a WATCH does to each event's object (None: nothing)."""
    return partial if answer is PARTIAL else None
