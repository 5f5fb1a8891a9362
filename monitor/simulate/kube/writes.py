"""Writes to the simulated API (Leases: the only writable kind), as `k8s.io/apiserver`'s
generic registry store (`registry/generic/registry/store.go`) and the Lease strategy
(`pkg/registry/coordination/lease/strategy.go`) answer them.

- create (POST): decoded (`decode`) and validated (`validation`), the namespace must
  exist, 409 AlreadyExists; a missing name is 422 `metadata.name: Required value`;
- update (PUT): the Lease strategy allows create-on-update (a PUT of a missing Lease
  creates it: 201) but no unconditional update: a PUT without `metadata.resourceVersion` is
  422 `leases.coordination.k8s.io "x" is invalid: metadata.resourceVersion: Invalid value:
  0x0: must be specified for an update`, a stale one 409 Conflict; `uid` and
  `creationTimestamp` are kept from the stored object (`rest.BeforeUpdate`);
- patch (PATCH, `patch`): on a missing Lease 404 (the patchers' `createNewObject`), the
  result decoded, validated and stored like an update (a `resourceVersion` in the patch is
  a precondition);
- delete (DELETE): the body's `DeleteOptions.preconditions` honoured (409), a Status with
  the deleted object's uid.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.api import Target, present
from monitor.simulate.kube.decode import LEASE, decode
from monitor.simulate.kube.patch import apply_patch, media_type
from monitor.simulate.kube.status import (
    METHOD_NOT_ALLOWED,
    ApiError,
    not_found,
    status_details,
    status_doc,
)
from monitor.simulate.kube.store import Conflict, KubeStore, Obj
from monitor.simulate.kube.validation import (
    FieldError,
    invalid,
    namespace_missing,
    validate_lease,
)


@dataclass(frozen=True)
class Write:
    """One write request: what the handler read off the wire."""

    verb: str  # create / update / patch / delete
    body: bytes
    directive: str  # fieldValidation: Ignore / Warn / Strict
    content_type: str
    now: str  # creationTimestamp for a created object


@dataclass(frozen=True)
class Written:
    code: int
    doc: Obj
    warnings: tuple[str, ...] = ()


def _conflict(target: Target, name: str, why: str) -> ApiError:
    res = target.resource
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {res.group_resource} "{name}": {why}',
        status_details(res, name),
    )


_MODIFIED = (
    "the object has been modified; please apply your changes to the latest version and try again"
)


def _check_identity(target: Target, body: Obj) -> dict[str, Any]:
    res = target.resource
    meta = body.get("metadata") or {}
    if body.get("kind") not in (None, "", res.kind):
        raise ApiError(400, "BadRequest", f"the body kind {body.get('kind')} is not {res.kind}")
    if meta.get("namespace") not in (None, "", target.namespace or ""):
        raise ApiError(
            400,
            "BadRequest",
            "the namespace of the provided object does not match the namespace sent on the request",
        )
    if target.name is not None and meta.get("name") not in (None, "", target.name):
        raise ApiError(
            400,
            "BadRequest",
            f"the name of the object ({meta.get('name')}) does "
            f"not match the name on the URL ({target.name})",
        )
    return dict(meta)


def _validated(target: Target, obj: Obj, name: str) -> None:
    errors = validate_lease(obj)
    if errors:
        raise invalid(target.resource.group, target.resource.kind, name, errors)


def _create(store: KubeStore, target: Target, body: Obj, meta: dict[str, Any], now: str) -> Obj:
    res, ns = target.resource, target.namespace or ""
    name = meta.get("name") or target.name or ""
    if not name and meta.get("generateName"):
        name = f"{meta['generateName']}{uuid.uuid4().hex[:5]}"
    if not name:
        cause = FieldError(
            "metadata.name",
            "FieldValueRequired",
            "Required value: name or generateName is required",
        )
        raise invalid(res.group, res.kind, "", [cause])
    if store.get(("", "namespaces", "", ns)) is None:
        raise namespace_missing(ns)
    meta.pop("resourceVersion", None)
    meta.update(name=name, namespace=ns, uid=str(uuid.uuid4()), creationTimestamp=now)
    obj = {
        **body,
        "apiVersion": res.api_version(target.version),
        "kind": res.kind,
        "metadata": meta,
    }
    _validated(target, obj, name)
    created = store.create((res.group, res.plural, ns, name), obj)
    if created is None:
        raise ApiError(
            409,
            "AlreadyExists",
            f'{res.group_resource} "{name}" already exists',
            status_details(res, name),
        )
    return created


def _update(store: KubeStore, target: Target, body: Obj, meta: dict[str, Any], old: Obj) -> Obj:
    res, ns, name = target.resource, target.namespace or "", str(target.name)
    expected = str(meta.pop("resourceVersion", "") or "")
    if not expected:
        cause = FieldError(
            "metadata.resourceVersion",
            "FieldValueInvalid",
            "Invalid value: 0x0: must be specified for an update",
        )
        raise invalid(res.group, res.plural, name, [cause])  # qualified by resource, as Go does
    if expected != old["metadata"]["resourceVersion"]:
        raise _conflict(target, name, _MODIFIED)
    meta.update(name=name, namespace=ns)
    for system in ("uid", "creationTimestamp"):
        meta.setdefault(system, old["metadata"].get(system))
    if meta["uid"] != old["metadata"].get("uid"):
        cause = FieldError(
            "metadata.uid",
            "FieldValueInvalid",
            f'Invalid value: "{meta["uid"]}": field is immutable',
        )
        raise invalid(res.group, res.kind, name, [cause])
    meta["creationTimestamp"] = old["metadata"].get("creationTimestamp")
    obj = {
        **body,
        "apiVersion": res.api_version(target.version),
        "kind": res.kind,
        "metadata": meta,
    }
    _validated(target, obj, name)
    try:
        updated = store.update((res.group, res.plural, ns, name), obj, expected)
    except Conflict:
        raise _conflict(target, name, _MODIFIED) from None
    if updated is None:
        raise not_found(res, name)
    return updated


def _delete(store: KubeStore, target: Target, raw: bytes) -> Obj:
    res, name = target.resource, str(target.name)
    key = (res.group, res.plural, target.namespace or "", name)
    old = store.get(key)
    if old is None:
        raise not_found(res, name)
    try:
        options = json.loads(raw) if raw.strip() else {}
    except ValueError as err:
        raise ApiError(400, "BadRequest", f"error decoding DeleteOptions: {err}") from None
    pre = (options.get("preconditions") if isinstance(options, dict) else None) or {}
    have = old["metadata"]
    if pre.get("uid") not in (None, have.get("uid")):
        raise _conflict(
            target,
            name,
            f"Precondition failed: UID in precondition: {pre['uid']}, "
            f"UID in object meta: {have.get('uid')}",
        )
    if pre.get("resourceVersion") not in (None, have.get("resourceVersion")):
        raise _conflict(
            target,
            name,
            "Precondition failed: ResourceVersion in precondition: "
            f"{pre['resourceVersion']}, ResourceVersion in object meta: "
            f"{have.get('resourceVersion')}",
        )
    obj = store.delete(key)
    if obj is None:
        raise not_found(res, name)
    details = {**status_details(res, name), "uid": obj["metadata"].get("uid")}
    return status_doc(200, "", "", details)


def write_object(store: KubeStore, target: Target, req: Write) -> Written:
    """A write of a writable resource (Lease): the response or an ApiError."""
    res = target.resource
    if not res.writable:
        raise METHOD_NOT_ALLOWED
    if req.verb == "delete":
        return Written(200, _delete(store, target, req.body))
    key = (res.group, res.plural, target.namespace or "", str(target.name))
    if req.verb == "patch":
        patch_type = media_type(req.content_type)
        old = store.get(key)
        if old is None:
            raise not_found(res, str(target.name))
        patched = apply_patch(present(old, res, target.version), patch_type, req.body)
        raw = json.dumps(patched).encode()
    else:
        raw = req.body
    body, warnings = decode(raw, LEASE, "Lease", "v1", req.directive)
    meta = _check_identity(target, body)
    if req.verb == "create":
        obj = _create(store, target, body, meta, req.now)
        return Written(201, present(obj, res, target.version), tuple(warnings))
    old = store.get(key)
    if old is None:  # AllowCreateOnUpdate: a PUT of a missing Lease creates it
        obj = _create(store, target, body, meta, req.now)
        return Written(201, present(obj, res, target.version), tuple(warnings))
    obj = _update(store, target, body, meta, old)
    return Written(200, present(obj, res, target.version), tuple(warnings))
