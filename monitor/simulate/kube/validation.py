"""What the apiserver accepts as a written Lease, and the words it refuses the rest with.

Three stages, as in `k8s.io/apiserver` (handlers `create.go`/`update.go`/`patch.go`):
- decoding (`decode_lease`): a JSON object, fields of the Go types (`string`, `int32`,
  `MicroTime`…); a wrong type or malformed timestamp is 400 BadRequest `Lease in version
  "v1" cannot be handled as a Lease: json: cannot unmarshal string into Go struct field
  LeaseSpec.spec.leaseDurationSeconds of type int32` (encoding/json `UnmarshalTypeError`,
  wrapped by `transformDecodeError`); unknown or duplicate fields are refused the same way
  under `fieldValidation=Strict` (`strict decoding error: unknown field "spec.foo"`), are
  `Warning: 299` headers under `Warn` (the default since 1.27) and dropped under `Ignore`;
- validation (`validate_lease`, `pkg/apis/coordination/validation`): the name a DNS-1123
  subdomain, `leaseDurationSeconds` > 0, `leaseTransitions` ≥ 0, `preferredHolder` only
  with `strategy`: 422 Invalid with `details.causes` (`invalid`);
- the namespace must exist (admission `NamespaceLifecycle`: 404 `namespaces "x" not found`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.gotime import parse_error
from monitor.simulate.kube.status import ApiError

DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
VALIDATION_DIRECTIVES = ("Ignore", "Warn", "Strict")
_INT32 = (-(2**31), 2**31 - 1)
_INT64 = (-(2**63), 2**63 - 1)

# Go field types: name → (Go type as encoding/json names it, kind)
_META: dict[str, tuple[str, str]] = {
    "name": ("string", "string"),
    "generateName": ("string", "string"),
    "namespace": ("string", "string"),
    "selfLink": ("string", "string"),
    "uid": ("types.UID", "string"),
    "resourceVersion": ("string", "string"),
    "generation": ("int64", "int64"),
    "creationTimestamp": ("Time", "time"),
    "deletionTimestamp": ("Time", "time"),
    "deletionGracePeriodSeconds": ("int64", "int64"),
    "labels": ("map[string]string", "strmap"),
    "annotations": ("map[string]string", "strmap"),
    "ownerReferences": ("[]v1.OwnerReference", "array"),
    "finalizers": ("[]string", "strlist"),
    "managedFields": ("[]v1.ManagedFieldsEntry", "array"),
}
_LEASE_SPEC: dict[str, tuple[str, str]] = {
    "holderIdentity": ("string", "string"),
    "leaseDurationSeconds": ("int32", "int32"),
    "acquireTime": ("MicroTime", "microtime"),
    "renewTime": ("MicroTime", "microtime"),
    "leaseTransitions": ("int32", "int32"),
    "strategy": ("string", "string"),
    "preferredHolder": ("string", "string"),
}
_LEASE: dict[str, tuple[str, str]] = {
    "apiVersion": ("string", "string"),
    "kind": ("string", "string"),
    "metadata": ("ObjectMeta", "meta"),
    "spec": ("LeaseSpec", "spec"),
}
_STRUCTS = {"meta": ("ObjectMeta", _META), "spec": ("LeaseSpec", _LEASE_SPEC)}


@dataclass(frozen=True)
class FieldError:
    """One `field.Error`: its path, type (`FieldValueInvalid`…) and body after the field."""

    field: str
    reason: str
    body: str

    def __str__(self) -> str:
        return f"{self.field}: {self.body}"


def invalid(group: str, kind: str, name: str, errors: Sequence[FieldError]) -> ApiError:
    """`apierrors.NewInvalid`: 422, `Kind.group "name" is invalid: <errors>`."""
    qualified = f"{kind}.{group}" if group else kind
    text = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
    causes = [{"reason": e.reason, "message": e.body, "field": e.field} for e in errors]
    details: dict[str, Any] = {"name": name, "group": group, "kind": kind, "causes": causes}
    if not name:
        del details["name"]
    return ApiError(422, "Invalid", f'{qualified} "{name}" is invalid: {text}', details)


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


class _TypeError(Exception):
    pass


def _check(value: Any, go: str, kind: str, struct: str, path: str) -> None:
    """Raise _TypeError with encoding/json's message when `value` does not decode."""
    if value is None:
        return  # null leaves a Go field at its zero value

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
    elif (kind in ("strmap", "meta", "spec") and got != "object") or (
        kind in ("array", "strlist") and got != "array"
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


def _walk(
    obj: Mapping[str, Any],
    fields: Mapping[str, tuple[str, str]],
    struct: str,
    prefix: str,
    unknown: list[str],
) -> dict[str, Any]:
    """The object as its Go type keeps it (unknown fields dropped and listed in `unknown`)."""
    kept: dict[str, Any] = {}
    for key, value in obj.items():
        path = f"{prefix}{key}"
        if key not in fields:
            unknown.append(f'unknown field "{path}"')
            continue
        go, kind = fields[key]
        _check(value, go, kind, struct, path)
        if kind in _STRUCTS and isinstance(value, dict):
            name, inner = _STRUCTS[kind]
            value = _walk(value, inner, name, f"{path}.", unknown)
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


def decode_lease(raw: bytes, directive: str) -> tuple[dict[str, Any], list[str]]:
    """The Lease in a request body and the warnings to send; ApiError 400 when it does not
    decode (see the module docstring)."""
    prefix = 'Lease in version "v1" cannot be handled as a Lease: '
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
        obj = _walk(obj, _LEASE, "Lease", "", strict)
    except _TypeError as err:
        raise ApiError(400, "BadRequest", prefix + str(err)) from None
    strict = duplicates + strict
    if strict and directive == "Strict":
        raise ApiError(400, "BadRequest", prefix + "strict decoding error: " + ", ".join(strict))
    return obj, (strict if directive == "Warn" else [])


def field_validation(query: Mapping[str, str], verb: str) -> str:
    """The `fieldValidation` directive (default Warn); 422 for an unknown one
    (`ValidateFieldValidation`: NotSupported, the allowed values sorted)."""
    value = query.get("fieldValidation") or "Warn"
    if value not in VALIDATION_DIRECTIVES:
        kind = {"create": "CreateOptions", "patch": "PatchOptions"}.get(verb, "UpdateOptions")
        cause = FieldError(
            "fieldValidation",
            "FieldValueNotSupported",
            f'Unsupported value: "{value}": supported values: "", "Ignore", "Strict", "Warn"',
        )
        raise invalid("meta.k8s.io", kind, "", [cause])
    return value


def _name_errors(name: str, path: str) -> list[FieldError]:
    out = []
    if len(name) > 253:
        out.append(
            FieldError(
                path,
                "FieldValueInvalid",
                f'Invalid value: "{name}": must be no more than 253 characters',
            )
        )
    if not DNS1123_SUBDOMAIN.fullmatch(name):
        out.append(
            FieldError(
                path, "FieldValueInvalid", f'Invalid value: "{name}": {DNS1123_SUBDOMAIN_MSG}'
            )
        )
    return out


def validate_lease(lease: Mapping[str, Any]) -> list[FieldError]:
    """`ValidateLease`: the object meta's name, then the spec."""
    meta = lease.get("metadata") or {}
    errors = _name_errors(str(meta.get("name") or ""), "metadata.name")
    spec = lease.get("spec") or {}
    duration, transitions = spec.get("leaseDurationSeconds"), spec.get("leaseTransitions")
    if duration is not None and int(duration) <= 0:
        errors.append(
            FieldError(
                "spec.leaseDurationSeconds",
                "FieldValueInvalid",
                f"Invalid value: {int(duration)}: must be greater than 0",
            )
        )
    if transitions is not None and int(transitions) < 0:
        errors.append(
            FieldError(
                "spec.leaseTransitions",
                "FieldValueInvalid",
                f"Invalid value: {int(transitions)}: must be greater than or equal to 0",
            )
        )
    if spec.get("preferredHolder") and not spec.get("strategy"):
        errors.append(
            FieldError(
                "spec.preferredHolder",
                "FieldValueForbidden",
                "Forbidden: may only be specified if `strategy` is defined",
            )
        )
    return errors


def namespace_missing(namespace: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'namespaces "{namespace}" not found',
        {"name": namespace, "kind": "namespaces"},
    )


def list_options_errors(query: Mapping[str, str], watch: bool) -> None:
    """`ValidateListOptions` of a 1.30 apiserver with the WatchList feature gate off (its
    default until 1.32): a `sendInitialEvents` watch is 422 `ListOptions.meta.k8s.io ""
    is invalid: sendInitialEvents: Forbidden: sendInitialEvents is forbidden for watch unless
    the WatchList feature gate is enabled`, on which client-go and kubectl fall back to
    LIST + WATCH."""
    initial = "sendInitialEvents" in query
    match = query.get("resourceVersionMatch", "")
    errors: list[FieldError] = []

    def forbid(path: str, detail: str) -> None:
        errors.append(FieldError(path, "FieldValueForbidden", f"Forbidden: {detail}"))

    if not watch:
        if initial:
            forbid("sendInitialEvents", "sendInitialEvents is forbidden for list")
    else:
        if initial:
            if match != "NotOlderThan":
                forbid(
                    "resourceVersionMatch",
                    "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan",
                )
            forbid(
                "sendInitialEvents",
                "sendInitialEvents is forbidden for watch unless the WatchList feature gate "
                "is enabled",
            )
        if match:
            if not initial:
                forbid(
                    "resourceVersionMatch",
                    "resourceVersionMatch is forbidden for watch unless sendInitialEvents is "
                    "provided",
                )
            if match != "NotOlderThan":
                errors.append(
                    FieldError(
                        "resourceVersionMatch",
                        "FieldValueNotSupported",
                        f'Unsupported value: "{match}": supported values: "NotOlderThan"',
                    )
                )
    if errors:
        raise invalid("meta.k8s.io", "ListOptions", "", errors)
