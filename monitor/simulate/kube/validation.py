"""What the apiserver accepts as a written Lease, and the words it refuses the rest with.

Three stages, as in `k8s.io/apiserver` (handlers `create.go`/`update.go`/`patch.go`):
- decoding (`decode.decode` with `decode.LEASE`): a JSON object, fields of the Go types
  (`string`, `int32`, `MicroTime`…); a wrong type or malformed timestamp is 400 BadRequest
  `Lease in version "v1" cannot be handled as a Lease: json: cannot unmarshal string into
  Go struct field LeaseSpec.spec.leaseDurationSeconds of type int32`; unknown or duplicate
  fields are refused the same way under `fieldValidation=Strict` (`strict decoding error:
  unknown field "spec.foo"`), are `Warning: 299` headers under `Warn` (the default since
  1.27) and dropped under `Ignore`; the directive itself is read here (`field_validation`);
- validation (`validate_lease`, `pkg/apis/coordination/validation`): the name a DNS-1123
  subdomain, `leaseDurationSeconds` > 0, `leaseTransitions` ≥ 0, `preferredHolder` only
  with `strategy`: 422 Invalid with `details.causes` (`invalid`);
- the namespace must exist (admission `NamespaceLifecycle`: 404 `namespaces "x" not found`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from monitor.simulate.kube.status import ApiError

DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex "
    "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
VALIDATION_DIRECTIVES = ("Ignore", "Warn", "Strict")


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
