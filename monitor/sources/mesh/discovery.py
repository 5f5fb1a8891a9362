"""Which optional kinds the cluster serves: Linkerd's policy CRDs and cert-manager's Certificate.

Owns the discovery GETs the mesh source makes at start-up (and again now and then, see
`MeshSource`): `GET /apis` (every group and its versions), then for policy.linkerd.io one
`GET /apis/policy.linkerd.io/<version>` per served version, and for cert-manager.io one
`GET /apis/cert-manager.io/v1`. The result says, per policy kind the monitor reads (Server,
ServerAuthorization, AuthorizationPolicy, MeshTLSAuthentication, NetworkAuthentication,
HTTPRoute; and, one GET per served version of gateway.networking.k8s.io, the Gateway API
HTTPRoute and GRPCRoute an AuthorizationPolicy may target), the newest version the
cluster serves (research/linkerd.md §5.1: Server goes v1beta1 → v1beta2 (2.15) → v1beta3
(2.16+); 2.10 serves none), and whether cert-manager
Certificates exist. Kinds that are not served are simply absent: not an error.

Failures raise `SourceFailure` with the usual reason codes; bodies are never logged.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from kubernetes import client

from monitor.sources.errors import SourceFailure
from monitor.sources.kube import transport as http
from monitor.sources.kube.errors import read_error
from monitor.sources.mesh.specs import CERT_MANAGER_GROUP, GATEWAY_GROUP, POLICY_GROUP, PolicyKind

POLICY_KINDS = {
    "servers": "Server",
    "serverauthorizations": "ServerAuthorization",
    "authorizationpolicies": "AuthorizationPolicy",
    "meshtlsauthentications": "MeshTLSAuthentication",
    "networkauthentications": "NetworkAuthentication",
    "httproutes": "HTTPRoute",  # AuthorizationPolicy targets (policy_target_missing)
}
# Gateway API routes an AuthorizationPolicy may target too (research/linkerd.md §5.1)
GATEWAY_KINDS = {"httproutes": "HTTPRoute", "grpcroutes": "GRPCRoute"}
CERT_MANAGER_VERSION = "v1"
_RBAC = '"get" on the discovery endpoints (ClusterRole system:discovery)'
_VERSION = re.compile(r"^v([0-9]{1,9})(?:(alpha|beta)([0-9]{1,9}))?$")


def version_key(version: str) -> tuple[int, int, int]:
    """Kubernetes' version order as a sort key, newest first: v2 < v1 < v1beta3 < v1beta1
    < v1alpha1 < anything that is not a Kubernetes version."""
    m = _VERSION.match(version)
    if not m:
        return (3, 0, 0)
    major, stage, minor = m.groups()
    return ({None: 0, "beta": 1, "alpha": 2}[stage], -int(major), -int(minor or 0))


@dataclass(frozen=True, slots=True)
class Discovered:
    # served policy kinds, newest version each (() on 2.10), then the Gateway API routes
    policy: tuple[PolicyKind, ...]
    cert_manager: bool  # cert-manager.io/v1 certificates are served


class Discovery:
    """One round of discovery GETs through `api`; `requests` counts them by HTTP status."""

    def __init__(
        self, api: client.ApiClient, timeout: float, max_body: int = http.MAX_BODY
    ) -> None:
        self._api, self._timeout, self._max_body = api, timeout, max_body
        self.requests: Counter[str] = Counter()

    def _get(self, path: str) -> dict[str, Any] | None:
        """The JSON document at `path`; None for 404 (not served)."""
        target = f"discovery {path}"
        try:
            resp = http.open_get(self._api, path, (), self._timeout)
        except Exception as err:
            self.requests["error"] += 1
            raise SourceFailure(read_error(err, target)) from None
        try:
            raw = http.read_body(resp, target, self._max_body, self._timeout)
        except Exception as err:
            resp.close()
            self.requests["error"] += 1
            if isinstance(err, SourceFailure):  # read_body's own (too large, too slow)
                raise
            raise SourceFailure(read_error(err, target)) from None
        resp.release_conn()
        self.requests[str(resp.status)] += 1
        if resp.status == 404:
            return None
        if resp.status != 200:
            problem = http.problem(resp.status, raw, str(resp.reason or ""), target, _RBAC)
            if isinstance(problem, SourceFailure):
                raise problem
            raise SourceFailure(read_error(problem, target)) from None
        return http.decode(raw, target)

    def _resources(self, group: str, version: str) -> set[str]:
        doc = self._get(f"/apis/{group}/{version}")
        items = doc.get("resources") if isinstance(doc, dict) else None
        return {
            str(r.get("name"))
            for r in (items if isinstance(items, list) else [])
            if isinstance(r, dict) and "/" not in str(r.get("name"))  # no subresources
        }

    def run(self) -> Discovered:
        doc = self._get("/apis")
        found = doc.get("groups") if isinstance(doc, dict) else None
        groups: dict[str, list[str]] = {}
        for group in found if isinstance(found, list) else []:
            if isinstance(group, dict) and isinstance(group.get("name"), str):
                listed = group.get("versions")
                versions = [v.get("version") for v in (listed if isinstance(listed, list) else [])
                            if isinstance(v, dict)]  # fmt: skip
                groups[group["name"]] = [v for v in versions if isinstance(v, str)]
        best: dict[str, str] = {}
        for version in sorted(groups.get(POLICY_GROUP, []), key=version_key):
            for plural in self._resources(POLICY_GROUP, version) & set(POLICY_KINDS):
                best.setdefault(plural, version)  # newest first
        policy = tuple(PolicyKind(p, POLICY_KINDS[p], best[p]) for p in POLICY_KINDS if p in best)
        routes: dict[str, str] = {}
        for version in sorted(groups.get(GATEWAY_GROUP, []), key=version_key):
            for plural in self._resources(GATEWAY_GROUP, version) & set(GATEWAY_KINDS):
                routes.setdefault(plural, version)
        policy += tuple(
            PolicyKind(p, GATEWAY_KINDS[p], routes[p], GATEWAY_GROUP)
            for p in GATEWAY_KINDS
            if p in routes
        )
        cert_manager = CERT_MANAGER_VERSION in groups.get(CERT_MANAGER_GROUP, []) and (
            "certificates" in self._resources(CERT_MANAGER_GROUP, CERT_MANAGER_VERSION)
        )
        return Discovered(policy, cert_manager)
