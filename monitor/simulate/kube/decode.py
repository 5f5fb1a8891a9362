"""Decoding a written JSON body into its Go type, as the apiserver does, for the kinds other than
Lease that the monitor or kubectl write: SelfSubjectAccessReview (`doctor`, `kubectl auth
can-i`) and SelfSubjectReview (`kubectl auth whoami`).

As for a Lease (`validation`): a field of the wrong JSON type is 400 BadRequest `<Kind> in
version "v1" cannot be handled as a <Kind>: json: cannot unmarshal <json type> into Go struct
field <Struct>.<path> of type <go type>`; unknown and duplicate fields are refused with
`strict decoding error: unknown field "<path>"` under `fieldValidation=Strict`, are
`Warning: 299` headers under `Warn` (the default) and are dropped under `Ignore`. The
schemas are the 1.30 types of `k8s.io/api/authorization/v1` and
`k8s.io/api/authentication/v1` (the field and label selectors of ResourceAttributes came
in 1.31, so a 1.30 server does not know them). A protobuf body (kubectl's) has no field
names to check and is read by `protobuf`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from monitor.simulate.kube.status import ApiError
from monitor.simulate.kube.validation import _META, _check, _pairs, _TypeError

# field → (Go type as encoding/json names it, kind, nested schema for a struct)
Schema = Mapping[str, tuple[str, str, "Schema | None"]]

_OBJECT_META: Schema = {k: (go, kind, None) for k, (go, kind) in _META.items()}
_RESOURCE_ATTRIBUTES: Schema = {
    k: ("string", "string", None)
    for k in ("namespace", "verb", "group", "version", "resource", "subresource", "name")
}
_NON_RESOURCE_ATTRIBUTES: Schema = {"path": ("string", "string", None),
                                    "verb": ("string", "string", None)}  # fmt: skip
SELF_SUBJECT_ACCESS_REVIEW: Schema = {
    "apiVersion": ("string", "string", None),
    "kind": ("string", "string", None),
    "metadata": ("ObjectMeta", "struct", _OBJECT_META),
    "spec": ("SelfSubjectAccessReviewSpec", "struct", {
        "resourceAttributes": ("ResourceAttributes", "struct", _RESOURCE_ATTRIBUTES),
        "nonResourceAttributes": ("NonResourceAttributes", "struct", _NON_RESOURCE_ATTRIBUTES),
    }),
    "status": ("SubjectAccessReviewStatus", "struct", {
        "allowed": ("bool", "bool", None),
        "denied": ("bool", "bool", None),
        "reason": ("string", "string", None),
        "evaluationError": ("string", "string", None),
    }),
}  # fmt: skip
SELF_SUBJECT_REVIEW: Schema = {
    "apiVersion": ("string", "string", None),
    "kind": ("string", "string", None),
    "metadata": ("ObjectMeta", "struct", _OBJECT_META),
    "status": ("SelfSubjectReviewStatus", "struct", {
        "userInfo": ("UserInfo", "struct", {
            "username": ("string", "string", None),
            "uid": ("string", "string", None),
            "groups": ("[]string", "strlist", None),
            "extra": ("map[string]v1.ExtraValue", "extra", None),
        }),
    }),
}  # fmt: skip


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _fail(got: str, struct: str, path: str, go: str) -> _TypeError:
    return _TypeError(
        f"json: cannot unmarshal {got} into Go struct field {struct}.{path} of type {go}"
    )


def _walk(obj: Mapping[str, Any], schema: Schema, struct: str, prefix: str,
          unknown: list[str]) -> dict[str, Any]:  # fmt: skip
    kept: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if key not in schema:
            unknown.append(f'unknown field "{path}"')
            continue
        go, kind, nested = schema[key]
        if value is not None:
            got = _json_kind(value)
            if kind == "bool" and got != "bool":
                raise _fail(got, struct, path, go)
            if kind in ("struct", "extra") and got != "object":
                raise _fail(got, struct, path, go)
            if kind == "extra":
                for values in value.values():
                    if values is not None and _json_kind(values) != "array":
                        raise _fail(_json_kind(values), struct, path, "v1.ExtraValue")
                    for item in values or []:
                        if item is not None and _json_kind(item) != "string":
                            raise _fail(_json_kind(item), struct, path, "string")
            elif kind not in ("bool", "struct"):
                _check(value, go, kind, struct, path)
            if kind == "struct" and nested is not None:
                value = _walk(value, nested, go, f"{path}.", unknown)
        kept[key] = value
    return kept


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
