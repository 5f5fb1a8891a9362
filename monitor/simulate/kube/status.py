"""The apiserver's `Status` documents and the errors that carry them, as the real one words them.

`status_doc` builds a `Status` (kind, code, reason, message, details); `ApiError` is a
request that ends in one (with the `continue` token of a 410 on a stale LIST page);
`not_found`, `NOT_SERVED` and `METHOD_NOT_ALLOWED` are the fixed ones, and
`status_details` the `details` naming a resource, `forbidden_message` RBAC's words for
the `http403` fault. Used by `api`, `watch`, `review` and
the HTTP `server`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.simulate.kube.resources import ApiResource


def status_doc(
    code: int, reason: str, message: str, details: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if code < 400 else "Failure",
    }
    if message:
        out["message"] = message
    if reason:
        out["reason"] = reason
    out["details"] = dict(details or {})
    out["code"] = code
    return out


class ApiError(Exception):
    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: Mapping[str, Any] | None = None,
        continue_token: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message
        self.details = dict(details or {})
        self.continue_token = continue_token

    def status(self) -> dict[str, Any]:
        doc = status_doc(self.code, self.reason, self.message, self.details)
        if not self.details:
            del doc["details"]
        if self.continue_token:
            doc["metadata"] = {"continue": self.continue_token}
        return doc


def status_details(res: ApiResource, name: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if name:
        out["name"] = name
    if res.group:
        out["group"] = res.group
    out["kind"] = res.plural
    return out


def not_found(res: ApiResource, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{res.group_resource} "{name}" not found',
                    status_details(res, name))  # fmt: skip


NOT_SERVED = ApiError(404, "NotFound", "the server could not find the requested resource", {})
METHOD_NOT_ALLOWED = ApiError(
    405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
)


VERBS = {"POST": "create", "PUT": "update", "DELETE": "delete", "PATCH": "patch"}


def forbidden_message(method: str, path: str) -> str:
    """The apiserver's RBAC message, e.g. `pods is forbidden: User "…" cannot list resource
    "pods" in API group "" in the namespace "shop"` (k8s.io/apiserver authorization)."""
    parts = path.strip("/").split("/")
    group = "" if parts[0] == "api" else (parts[1] if len(parts) > 1 else "")
    namespace = parts[parts.index("namespaces") + 1] if "namespaces" in parts[:-1] else ""
    resource = parts[-1]
    verb = VERBS.get(method, "list")
    where = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
    return (
        f'{resource} is forbidden: User "system:serviceaccount:f5-linkerd-monitor:monitor" '
        f'cannot {verb} resource "{resource}" in API group "{group}"{where}'
    )
