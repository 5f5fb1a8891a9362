"""The two "about me" reviews of the simulated API server: SelfSubjectAccessReview (may I?,
answered by `review`) and SelfSubjectReview (who am I?, `kubectl auth whoami`).

`POST /apis/authentication.k8s.io/v1/selfsubjectreviews` answers 201 with the review's
`status.userInfo` as the authenticator saw the caller (the registry's `Create` in
`pkg/registry/authentication/selfsubjectreview`, GA in 1.28): `metadata.creationTimestamp`
the server's time, `username` the scenario's `user`, and for a ServiceAccount user
(`system:serviceaccount:<ns>:<name>`) the account's `uid`, the groups
`system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`, and the
`extra` `authentication.kubernetes.io/credential-id` (`JTI=<token id>`) that bound tokens
carry since 1.29; any other user has the one group `system:authenticated` and neither uid
nor extra. UNVERIFIED: a token minted for a pod also names the pod and node in `extra`; the
simulated token is bound to no pod.

Both reviews decode a JSON body strictly (`decode`, honouring `fieldValidation`) and take
kubectl's protobuf bodies (`protobuf`); another method than POST is 405.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.simulate.kube.decode import SELF_SUBJECT_ACCESS_REVIEW, SELF_SUBJECT_REVIEW, decode
from monitor.simulate.kube.meta import timestamp, uid_for
from monitor.simulate.kube.model import KubeWorld
from monitor.simulate.kube.protobuf import MEDIA_TYPE as PROTOBUF
from monitor.simulate.kube.protobuf import review_from_protobuf
from monitor.simulate.kube.resources import ResourceIndex
from monitor.simulate.kube.review import PATH as ACCESS_REVIEW_PATH
from monitor.simulate.kube.review import RESOURCE as ACCESS_REVIEW_RESOURCE
from monitor.simulate.kube.review import review
from monitor.simulate.kube.status import ApiError
from monitor.simulate.kube.validation import field_validation

SELF_REVIEW_PATH = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
SELF_REVIEW_RESOURCE = "selfsubjectreviews.authentication.k8s.io"
PATHS = {ACCESS_REVIEW_PATH: ACCESS_REVIEW_RESOURCE, SELF_REVIEW_PATH: SELF_REVIEW_RESOURCE}
_METHOD_NOT_ALLOWED = ApiError(
    405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
)


@dataclass(frozen=True)
class Answer:
    code: int
    doc: dict[str, Any]
    warnings: tuple[str, ...] = ()


def user_info(user: str) -> dict[str, Any]:
    """What the authenticator says of `user` (see the module docstring)."""
    parts = user.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"]:
        namespace, name = parts[2], parts[3]
        token_id = uuid.uuid5(uuid.NAMESPACE_URL, f"token:{user}")
        return {
            "username": user,
            "uid": uid_for(namespace, "ServiceAccount", name),
            "groups": [
                "system:serviceaccounts",
                f"system:serviceaccounts:{namespace}",
                "system:authenticated",
            ],
            "extra": {"authentication.kubernetes.io/credential-id": [f"JTI={token_id}"]},
        }
    return {"username": user, "groups": ["system:authenticated"]}


def answer(
    path: str,
    method: str,
    content_type: str,
    query: Mapping[str, str],
    body: bytes,
    world: KubeWorld,
    index: ResourceIndex,
) -> Answer:
    """The answer to a request on one of `PATHS`; ApiError when refused."""
    if method != "POST":
        raise _METHOD_NOT_ALLOWED
    directive = field_validation(query, "create")
    protobuf = content_type.startswith(PROTOBUF)
    warnings: list[str] = []
    if path == ACCESS_REVIEW_PATH:
        if protobuf:  # kubectl auth can-i
            doc: Any = review_from_protobuf(body)
        else:
            kind = "SelfSubjectAccessReview"
            doc, warnings = decode(body, SELF_SUBJECT_ACCESS_REVIEW, kind, "v1", directive)
        return Answer(201, review(world, index, doc), tuple(warnings))
    if not protobuf:
        _, warnings = decode(body, SELF_SUBJECT_REVIEW, "SelfSubjectReview", "v1", directive)
    elif body and not body.startswith(b"k8s\x00"):
        raise ApiError(400, "BadRequest", "provided data does not appear to be a protobuf message")
    doc = {
        "kind": "SelfSubjectReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": timestamp(datetime.now(UTC))},
        "status": {"userInfo": user_info(world.user)},
    }
    return Answer(201, doc, tuple(warnings))
