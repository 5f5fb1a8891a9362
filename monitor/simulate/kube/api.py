"""Kubernetes API request semantics over the store, independent of HTTP.

Owns what the apiserver answers: path parsing into (resource, version, namespace,
name), which `Status` error when (NotFound, Forbidden from missing RBAC, Expired,
BadRequest; the documents are in `status`, writes in `writes`), LIST with label/field
selectors, `limit`/`continue` paging over a consistent snapshot, GET, and the event
filtering of WATCH (a MODIFIED object that stops matching a selector is DELETED for that
watch).  Lists of built-in types carry no apiVersion/kind on their items, custom resources'
lists do.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.model import WithholdRule
from monitor.simulate.kube.resources import ApiResource, ResourceIndex
from monitor.simulate.kube.select import (
    FieldTerm,
    Requirement,
    SelectorError,
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from monitor.simulate.kube.status import (
    NOT_SERVED,
    ApiError,
    not_found,
    status_details,
    status_doc,
)
from monitor.simulate.kube.store import Change, Expired, KubeStore, Obj, stamp
from monitor.simulate.kube.validation import list_options_errors

CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list."
)


@dataclass(frozen=True)
class Target:
    resource: ApiResource
    version: str
    namespace: str | None
    name: str | None


def parse_path(parts: Sequence[str], index: ResourceIndex) -> Target:
    """`api/v1/...` or `apis/<group>/<version>/...` split on `/`; NOT_SERVED when unknown."""
    if parts[0] == "api" and len(parts) >= 3:
        group, version, rest = "", parts[1], list(parts[2:])
    elif parts[0] == "apis" and len(parts) >= 4:
        group, version, rest = parts[1], parts[2], list(parts[3:])
    else:
        raise NOT_SERVED
    namespace = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    if len(rest) > 2:
        raise NOT_SERVED  # subresources are not simulated
    res = index.find(group, version, rest[0])
    if res is None or (namespace is not None and not res.namespaced):
        raise NOT_SERVED
    name = rest[1] if len(rest) == 2 else None
    if namespace is None and res.namespaced and name is not None:
        raise NOT_SERVED
    return Target(res, version, namespace, name)


def forbidden(user: str, verb: str, target: Target, name: str | None) -> ApiError:
    res = target.resource
    subject = f'{res.group_resource} "{name}"' if name else res.group_resource
    namespace = target.namespace
    if res.plural == "namespaces" and name:
        namespace = name  # the apiserver authorizes a namespace in its own namespace
    scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{res.plural}" '
        f'in API group "{res.group}" {scope}'
    )
    return ApiError(403, "Forbidden", message, status_details(res, name))


def check_access(
    rules: Sequence[WithholdRule], user: str, verb: str, target: Target, name: str | None
) -> None:
    """Raise Forbidden when a withhold rule covers the request (see docs/scenario.md)."""
    res = target.resource
    if withheld(rules, res.group, res.plural, res.namespaced, target.namespace, name):
        raise forbidden(user, verb, target, name)


def withheld(
    rules: Sequence[WithholdRule],
    group: str,
    plural: str,
    namespaced: bool,
    namespace: str | None,
    name: str | None,
) -> bool:
    """Whether a withhold rule covers `plural.group` in `namespace` (None: all namespaces,
    or a cluster-scoped resource), of the object `name` (None: not narrowed to one)."""
    for rule in rules:
        if rule.resource != plural or rule.group != group:
            continue
        scoped = namespaced and rule.namespace is not None and namespace is not None
        if scoped and rule.namespace != namespace:
            continue
        if rule.name is not None and name is not None and rule.name != name:
            continue  # a name-narrowed request for another object (resourceNames RBAC)
        return True
    return False


def narrowed_name(query: Mapping[str, str]) -> str | None:
    """The object a list/watch is narrowed to by `fieldSelector=metadata.name=X`.

    The apiserver authorizes such a request against RBAC `resourceNames` as if it named X.
    """
    terms = [t.strip() for t in query.get("fieldSelector", "").split(",") if t.strip()]
    if len(terms) == 1:
        key, sep, value = terms[0].partition("=")
        if sep and key == "metadata.name" and value and not value.startswith("="):
            return value
    return None


def present(obj: Obj, res: ApiResource, version: str, item: bool = False) -> Obj:
    """The object as served under `version`; typed list items carry no apiVersion/kind."""
    if item and res.builtin:
        return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}
    return {"apiVersion": res.api_version(version), "kind": res.kind,
            **{k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}}  # fmt: skip


def _sort_key(obj: Obj) -> str:
    meta = obj["metadata"]
    return f"{meta.get('namespace', '')}/{meta['name']}"


def encode_continue(rv: int, start: str) -> str:
    blob = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(blob.encode()).decode().rstrip("=")


def decode_continue(token: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        doc = json.loads(raw)
        return int(doc["rv"]), str(doc["start"])
    except (binascii.Error, ValueError, KeyError, TypeError):
        raise ApiError(400, "BadRequest", "continue key is not valid: incorrect encoded start "
                       "resourceVersion (version meta.k8s.io/v1)") from None  # fmt: skip


@dataclass(frozen=True)
class Selection:
    namespace: str | None
    labels: tuple[Requirement, ...]
    fields: tuple[FieldTerm, ...]

    def matches(self, obj: Obj) -> bool:
        meta = obj.get("metadata") or {}
        if self.namespace is not None and meta.get("namespace") != self.namespace:
            return False
        return labels_match(self.labels, meta.get("labels")) and fields_match(self.fields, obj)


def selection(target: Target, query: Mapping[str, str]) -> Selection:
    try:
        labels = parse_label_selector(query.get("labelSelector"))
        fields = parse_field_selector(query.get("fieldSelector"), target.resource.selectable_fields)
    except SelectorError as err:
        raise ApiError(400, "BadRequest", str(err)) from None
    return Selection(target.namespace, labels, fields)


def _int(query: Mapping[str, str], name: str) -> int | None:
    text = query.get(name)
    if text in (None, ""):
        return None
    try:
        return int(str(text))
    except ValueError:
        raise ApiError(400, "BadRequest", f'{name}: Invalid value: "{text}"') from None


def list_objects(store: KubeStore, target: Target, query: Mapping[str, str]) -> Obj:
    res = target.resource
    list_options_errors(query, watch=False)
    sel = selection(target, query)
    limit = _int(query, "limit") or 0
    resource = (res.group, res.plural)
    start = ""
    token = query.get("continue")
    if token:
        rv, start = decode_continue(token)
        try:
            objs = store.list_at(resource, rv)
        except Expired:
            fresh = encode_continue(store.rv, start)
            raise ApiError(410, "Expired", CONTINUE_EXPIRED, continue_token=fresh) from None
    elif query.get("resourceVersionMatch") == "Exact" and _int(query, "resourceVersion"):
        rv = _int(query, "resourceVersion") or 0
        try:
            objs = store.list_at(resource, rv)
        except Expired:
            raise ApiError(410, "Expired", "The resourceVersion for the provided list is too "
                           "old.") from None  # fmt: skip
    else:
        rv, objs = store.snapshot(resource)
    # A page is read from its start key on, and a selected one stops one object past the
    # limit, as the apiserver reads a page from storage (the whole match is counted only
    # for remainingItemCount, which it gives without selectors alone).
    counted = not sel.labels and not sel.fields
    matched = []
    for obj in objs:
        if _sort_key(obj) >= start and sel.matches(obj):
            matched.append(obj)
            if limit and not counted and len(matched) > limit:
                break
    meta: dict[str, Any] = {"resourceVersion": str(rv)}
    if limit and len(matched) > limit:
        rest = len(matched) - limit
        matched = matched[:limit]
        meta["continue"] = encode_continue(rv, _sort_key(matched[-1]) + "\x00")
        if not sel.labels and not sel.fields:
            meta["remainingItemCount"] = rest
    return {
        "kind": f"{res.kind}List",
        "apiVersion": res.api_version(target.version),
        "metadata": meta,
        "items": [present(o, res, target.version, item=True) for o in matched],
    }


def get_object(store: KubeStore, target: Target) -> Obj:
    res, name = target.resource, str(target.name)
    obj = store.get((res.group, res.plural, target.namespace or "", name))
    if obj is None:
        raise not_found(res, name)
    return present(obj, res, target.version)


def watch_event(change: Change, target: Target, sel: Selection) -> Obj | None:
    """The event one watch sees for a change, after its namespace and selectors."""
    res, version = target.resource, target.version
    now_matches = change.type != "DELETED" and sel.matches(change.obj)
    was = change.prev is not None and sel.matches(change.prev)
    if change.type == "DELETED":
        kind, obj = ("DELETED", change.obj) if was else (None, None)
    elif now_matches:
        kind, obj = ("MODIFIED" if was else "ADDED"), change.obj
    elif was and change.prev is not None:
        kind, obj = "DELETED", stamp(change.prev, change.rv)
    else:
        return None
    if kind is None or obj is None:
        return None
    return {"type": kind, "object": present(obj, res, version)}


def expired_event(err: Expired) -> Obj:
    return {"type": "ERROR", "object": status_doc(410, "Expired", str(err))}


def bookmark(target: Target, rv: int) -> Obj:
    res = target.resource
    return {
        "type": "BOOKMARK",
        "object": {
            "kind": res.kind,
            "apiVersion": res.api_version(target.version),
            "metadata": {"resourceVersion": str(rv), "creationTimestamp": None},
        },
    }
