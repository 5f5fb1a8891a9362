"""Decoding a written JSON body into its Go type, as the apiserver does (handlers
`create.go`/`update.go`/`patch.go` of `k8s.io/apiserver`), for every kind the monitor or
kubectl write: Lease (the leader election), SelfSubjectAccessReview (`doctor`, `kubectl auth
can-i`) and SelfSubjectReview (`kubectl auth whoami`).

A body that is not a JSON object is 400 BadRequest `couldn't get version/kind; json parse
error`. A field of the wrong JSON type, or a malformed timestamp, is 400 BadRequest `<Kind>
in version "v1" cannot be handled as a <Kind>: json: cannot unmarshal <json type> into Go
struct field <Struct>.<path> of type <go type>` (encoding/json `UnmarshalTypeError`, wrapped
by `transformDecodeError`). Unknown and duplicate fields are refused the same way with
`strict decoding error: unknown field "<path>"` under `fieldValidation=Strict`, are `Warning:
299` headers under `Warn` (the default since 1.27) and are dropped under `Ignore`. The
schemas are the 1.30 types of `k8s.io/api/coordination/v1`, `k8s.io/api/authorization/v1`
and `k8s.io/api/authentication/v1` (the field and label selectors of ResourceAttributes came
in 1.31, so a 1.30 server does not know them). A protobuf body (kubectl's) has no field
names to check and is read by `protobuf`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitor.simulate.kube.gotime import parse_error
from monitor.simulate.kube.status import ApiError

# field → (Go type as encoding/json names it, kind, nested schema for a struct)
Schema = Mapping[str, tuple[str, str, "Schema | None"]]

_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)
_STRING = ("string", "string", None)

_OBJECT_META: Schema = {
    "name": _STRING,
    "generateName": _STRING,
    "namespace": _STRING,
    "selfLink": _STRING,
    "uid": ("types.UID", "string", None),
    "resourceVersion": _STRING,
    "generation": ("int64", "int64", None),
    "creationTimestamp": ("Time", "time", None),
    "deletionTimestamp": ("Time", "time", None),
    "deletionGracePeriodSeconds": ("int64", "int64", None),
    "labels": ("map[string]string", "strmap", None),
    "annotations": ("map[string]string", "strmap", None),
    "ownerReferences": ("[]v1.OwnerReference", "array", None),
    "finalizers": ("[]string", "strlist", None),
    "managedFields": ("[]v1.ManagedFieldsEntry", "array", None),
}
LEASE: Schema = {
    "apiVersion": _STRING,
    "kind": _STRING,
    "metadata": ("ObjectMeta", "struct", _OBJECT_META),
    "spec": ("LeaseSpec", "struct", {
        "holderIdentity": _STRING,
        "leaseDurationSeconds": ("int32", "int32", None),
        "acquireTime": ("MicroTime", "microtime", None),
        "renewTime": ("MicroTime", "microtime", None),
        "leaseTransitions": ("int32", "int32", None),
        "strategy": _STRING,
        "preferredHolder": _STRING,
    }),
}  # fmt: skip
_RESOURCE_ATTRIBUTES: Schema = {
    k: _STRING for k in ("namespace", "verb", "group", "version", "resource", "subresource", "name")
}
SELF_SUBJECT_ACCESS_REVIEW: Schema = {
    "apiVersion": _STRING,
    "kind": _STRING,
    "metadata": ("ObjectMeta", "struct", _OBJECT_META),
    "spec": ("SelfSubjectAccessReviewSpec", "struct", {
        "resourceAttributes": ("ResourceAttributes", "struct", _RESOURCE_ATTRIBUTES),
        "nonResourceAttributes": ("NonResourceAttributes", "struct",
                                  {"path": _STRING, "verb": _STRING}),
    }),
    "status": ("SubjectAccessReviewStatus", "struct", {
        "allowed": ("bool", "bool", None),
        "denied": ("bool", "bool", None),
        "reason": _STRING,
        "evaluationError": _STRING,
    }),
}  # fmt: skip
SELF_SUBJECT_REVIEW: Schema = {
    "apiVersion": _STRING,
    "kind": _STRING,
    "metadata": ("ObjectMeta", "struct", _OBJECT_META),
    "status": ("SelfSubjectReviewStatus", "struct", {
        "userInfo": ("UserInfo", "struct", {
            "username": _STRING,
            "uid": _STRING,
            "groups": ("[]string", "strlist", None),
            "extra": ("map[string]v1.ExtraValue", "extra", None),
        }),
    }),
}  # fmt: skip


class _TypeError(Exception):
    pass


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _check(value: Any, go: str, kind: str, struct: str, path: str) -> None:
    """Raise _TypeError with encoding/json's message when a non-null `value` does not decode
    into a field of Go type `go` (a nested struct's own fields are `_walk`'s)."""

    def fail(what: str, go_type: str = go) -> None:
        raise _TypeError(
            f"json: cannot unmarshal {what} into Go struct field {struct}.{path} of type {go_type}"
        )

    got = _json_kind(value)
    if kind in ("int32", "int64"):
        low, high = _INT32 if kind == "int32" else _INT64
        if got != "number":
            fail(got)
        if isinstance(value, float) and not value.is_integer():
            fail(f"number {value}")
        if not low <= int(value) <= high:
            fail(f"number {value}")
    elif kind in ("string", "time", "microtime"):
        if got != "string":
            fail(got, "string")
        if kind != "string":
            message = parse_error(value, micro=kind == "microtime")
            if message:
                raise _TypeError(message)
    elif (
        (kind == "bool" and got != "bool")
        or (kind in ("strmap", "struct", "extra") and got != "object")
        or (kind in ("array", "strlist") and got != "array")
    ):
        fail(got)
    elif kind == "strmap":
        for item in value.values():
            if item is not None and _json_kind(item) != "string":
                fail(_json_kind(item), "string")
    elif kind == "strlist":
        for item in value:
            if item is not None and _json_kind(item) != "string":
                fail(_json_kind(item), "string")
    elif kind == "extra":
        for values in value.values():
            if values is not None and _json_kind(values) != "array":
                fail(_json_kind(values), "v1.ExtraValue")
            for item in values or []:
                if item is not None and _json_kind(item) != "string":
                    fail(_json_kind(item), "string")


def _walk(
    obj: Mapping[str, Any], schema: Schema, struct: str, prefix: str, unknown: list[str]
) -> dict[str, Any]:
    """The object as its Go type keeps it (unknown fields dropped and listed in `unknown`)."""
    kept: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if key not in schema:
            unknown.append(f'unknown field "{path}"')
            continue
        go, kind, nested = schema[key]
        if value is not None:  # null leaves a Go field at its zero value
            _check(value, go, kind, struct, path)
            if nested is not None:
                value = _walk(value, nested, go, f"{path}.", unknown)
        kept[key] = value
    return kept


def _pairs(duplicates: list[str]) -> Any:
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                duplicates.append(f'duplicate field "{key}"')
            seen[key] = value
        return seen

    return hook


def decode(
    raw: bytes, schema: Schema, kind: str, version: str, directive: str
) -> tuple[dict[str, Any], list[str]]:
    """The body as its Go type keeps it and the warnings to send; ApiError 400 when it does
    not decode (see the module docstring)."""
    prefix = f'{kind} in version "{version}" cannot be handled as a {kind}: '
    duplicates: list[str] = []
    try:
        obj = json.loads(raw or b"null", object_pairs_hook=_pairs(duplicates))
    except ValueError as err:
        message = f"couldn't get version/kind; json parse error: {err}"
        raise ApiError(400, "BadRequest", message) from None
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", "couldn't get version/kind; json parse error")
    strict: list[str] = []
    try:
        obj = _walk(obj, schema, kind, "", strict)
    except _TypeError as err:
        raise ApiError(400, "BadRequest", prefix + str(err)) from None
    strict = duplicates + strict
    if strict and directive == "Strict":
        raise ApiError(400, "BadRequest", prefix + "strict decoding error: " + ", ".join(strict))
    return obj, (strict if directive == "Warn" else [])
