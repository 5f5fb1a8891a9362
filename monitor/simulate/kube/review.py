"""`POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews` on the simulated API server.

Answers "may I?" the way a real apiserver with RBAC does (Kubernetes API reference,
SelfSubjectAccessReview v1; docs/scenario.md): the review comes back with HTTP 201, its
`spec` echoed and a `status` of `allowed` (true or false) and, when allowed, a `reason`
naming what allowed it. A denial by RBAC carries neither `denied` nor a reason (RBAC has
no opinion; nothing allows it). The simulated grants are everything except the scenario's
`withhold` rules, matched exactly as the requests themselves are (`api.withheld`): a
review of `list secrets` in `linkerd` narrowed to `linkerd-identity-issuer` is denied by
a rule on that name, one for another name is allowed. Non-resource reviews (`/version`,
`/apis`, …) are allowed, as `system:discovery` allows them to every authenticated user.
A body without exactly one of `resourceAttributes` and `nonResourceAttributes` is
422 Invalid, as the apiserver answers.
"""

from __future__ import annotations

from typing import Any

from monitor.simulate.kube.api import withheld
from monitor.simulate.kube.model import KubeWorld
from monitor.simulate.kube.resources import ResourceIndex
from monitor.simulate.kube.status import ApiError

PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
RESOURCE = "selfsubjectaccessreviews.authorization.k8s.io"
_KIND = "SelfSubjectAccessReview"
_API_VERSION = "authorization.k8s.io/v1"
_ATTRIBUTES = ("namespace", "verb", "group", "version", "resource", "subresource", "name")


def _invalid(message: str) -> ApiError:
    cause = {"reason": "FieldValueInvalid", "message": message, "field": "spec"}
    return ApiError(
        422,
        "Invalid",
        f'{_KIND}.authorization.k8s.io "" is invalid: {message}',
        {"group": "authorization.k8s.io", "kind": _KIND, "causes": [cause]},
    )


def _text(attrs: dict[str, Any], key: str) -> str:
    value = attrs.get(key)
    return value if isinstance(value, str) else ""


def review(world: KubeWorld, index: ResourceIndex, body: Any) -> dict[str, Any]:
    """The answered review for a request `body` (parsed JSON); ApiError when invalid."""
    spec = body.get("spec") if isinstance(body, dict) else None
    if not isinstance(spec, dict):
        raise _invalid("spec: Required value")
    resource = spec.get("resourceAttributes")
    non_resource = spec.get("nonResourceAttributes")
    if (resource is None) == (non_resource is None):
        raise _invalid(
            "spec.resourceAttributes: Invalid value: exactly one of nonResourceAttributes or"
            " resourceAttributes must be specified"
        )
    if isinstance(non_resource, dict):
        echoed: dict[str, Any] = {"nonResourceAttributes": non_resource}
        allowed = True
    elif isinstance(resource, dict):
        attrs = {k: resource[k] for k in _ATTRIBUTES if isinstance(resource.get(k), str)}
        echoed = {"resourceAttributes": attrs}
        group, plural = _text(attrs, "group"), _text(attrs, "resource")
        known = index.by_plural(group, plural)
        namespaced = known.namespaced if known is not None else bool(_text(attrs, "namespace"))
        allowed = not withheld(
            world.withhold,
            group,
            plural,
            namespaced,
            _text(attrs, "namespace") or None,
            _text(attrs, "name") or None,
        )
    else:
        raise _invalid("spec: attributes must be objects")
    status: dict[str, Any] = {"allowed": allowed}
    if allowed:
        status["reason"] = f'RBAC: allowed by the simulated grants of User "{world.user}"'
    return {
        "kind": _KIND,
        "apiVersion": _API_VERSION,
        "metadata": {"creationTimestamp": None},
        "spec": echoed,
        "status": status,
    }
