"""The API resources the simulated Kubernetes API serves, and its discovery documents.

Owns the table of resource types (group, served versions, plural, kind, scope,
the field selectors the real apiserver accepts for each) and the discovery
answers built from it (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<group>[/<version>]`).
Which Linkerd policy CRDs exist, and in which versions, follows the Linkerd
release (research/linkerd.md §5.1); cert-manager and trust-manager types are
served only when the scenario installs them.
"""

from __future__ import annotations

import base64
import hashlib
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

READ = ("get", "list", "watch")
ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
META_FIELDS = ("metadata.name", "metadata.namespace")


@dataclass(frozen=True)
class ApiResource:
    """One resource type; `versions` are the served versions, preferred first."""

    group: str
    versions: tuple[str, ...]
    plural: str
    singular: str
    kind: str
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    builtin: bool = True  # typed list items carry no apiVersion/kind; custom resources' do
    fields: tuple[str, ...] = ()  # field selectors beyond metadata.name/metadata.namespace
    writable: bool = False  # the simulator accepts create/update/delete (leases only)

    @property
    def group_resource(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def api_version(self, version: str | None = None) -> str:
        version = version or self.versions[0]
        return f"{self.group}/{version}" if self.group else version

    @property
    def selectable_fields(self) -> tuple[str, ...]:
        return META_FIELDS + self.fields

    @property
    def verbs(self) -> tuple[str, ...]:
        return ALL_VERBS


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)

CORE_RESOURCES: tuple[ApiResource, ...] = (
    ApiResource(
        "",
        ("v1",),
        "namespaces",
        "namespace",
        "Namespace",
        False,
        ("ns",),
        (),
        True,
        ("status.phase",),
    ),
    ApiResource("", ("v1",), "nodes", "node", "Node", False, ("no",)),
    ApiResource("", ("v1",), "configmaps", "configmap", "ConfigMap", True, ("cm",)),
    ApiResource("", ("v1",), "secrets", "secret", "Secret", fields=("type",)),
    ApiResource("", ("v1",), "serviceaccounts", "serviceaccount", "ServiceAccount", True, ("sa",)),
    ApiResource("", ("v1",), "pods", "pod", "Pod", True, ("po",), ("all",), fields=_POD_FIELDS),
    ApiResource("", ("v1",), "services", "service", "Service", True, ("svc",), ("all",)),
    ApiResource("", ("v1",), "events", "event", "Event", True, ("ev",), fields=_EVENT_FIELDS),
    ApiResource(
        "apps", ("v1",), "deployments", "deployment", "Deployment", True, ("deploy",), ("all",)
    ),
    ApiResource(
        "apps", ("v1",), "replicasets", "replicaset", "ReplicaSet", True, ("rs",), ("all",)
    ),
    ApiResource("discovery.k8s.io", ("v1",), "endpointslices", "endpointslice", "EndpointSlice"),
    ApiResource("coordination.k8s.io", ("v1",), "leases", "lease", "Lease", writable=True),
)


_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version ordering as a sort key: v2 < v1 < v1beta2 < v1beta1 < v1alpha1."""
    m = _VERSION.match(version)
    if not m:
        return (3, 0, 0)
    major, stage, minor = m.groups()
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -int(major), -int(minor or 0))


def _crd(
    group: str,
    versions: tuple[str, ...],
    plural: str,
    kind: str,
    short: tuple[str, ...] = (),
    categories: tuple[str, ...] = (),
    namespaced: bool = True,
) -> ApiResource:
    return ApiResource(
        group,
        tuple(sorted(versions, key=version_priority)),
        plural,
        kind.lower(),
        kind,
        namespaced,
        short,
        categories,
        builtin=False,
    )


def linkerd_resources(minor: int) -> tuple[ApiResource, ...]:
    """policy.linkerd.io (and workload.linkerd.io) CRDs of a Linkerd 2.<minor> install."""
    if minor < 11:
        return ()
    policy = "policy.linkerd.io"
    cat = ("policy",)
    server = ["v1alpha1", "v1beta1"] + (["v1beta2"] if minor >= 15 else [])
    server += ["v1beta3"] if minor >= 16 else []
    out = [
        _crd(policy, tuple(server), "servers", "Server", ("srv",), cat),
        _crd(
            policy,
            ("v1alpha1", "v1beta1"),
            "serverauthorizations",
            "ServerAuthorization",
            ("saz", "serverauthz", "srvauthz"),
            cat,
        ),
    ]
    if minor >= 12:
        routes = ["v1alpha1", "v1beta1"] + (["v1beta2"] if minor >= 13 else [])
        routes += ["v1beta3"] if minor >= 14 else []
        out += [
            _crd(
                policy,
                ("v1alpha1",),
                "authorizationpolicies",
                "AuthorizationPolicy",
                ("authzpolicy",),
                cat,
            ),
            _crd(
                policy,
                ("v1alpha1",),
                "meshtlsauthentications",
                "MeshTLSAuthentication",
                ("meshtlsauthn",),
                cat,
            ),
            _crd(
                policy,
                ("v1alpha1",),
                "networkauthentications",
                "NetworkAuthentication",
                ("netauthn", "networkauthn"),
                cat,
            ),
            _crd(policy, tuple(routes), "httproutes", "HTTPRoute", (), cat),
        ]
    if minor >= 15:
        out.append(
            _crd(
                "workload.linkerd.io",
                ("v1alpha1", "v1beta1"),
                "externalworkloads",
                "ExternalWorkload",
            )
        )
    if minor >= 17:
        out += [
            _crd(policy, ("v1alpha1",), "egressnetworks", "EgressNetwork", (), cat),
            _crd(
                policy,
                ("v1alpha1",),
                "httplocalratelimitpolicies",
                "HTTPLocalRateLimitPolicy",
                (),
                cat,
            ),
        ]
    return tuple(out)


CERT_MANAGER_RESOURCES: tuple[ApiResource, ...] = (
    _crd(
        "cert-manager.io",
        ("v1",),
        "certificates",
        "Certificate",
        ("cert", "certs"),
        ("cert-manager",),
    ),
    _crd(
        "cert-manager.io",
        ("v1",),
        "certificaterequests",
        "CertificateRequest",
        ("cr", "crs"),
        ("cert-manager",),
    ),
    _crd("cert-manager.io", ("v1",), "issuers", "Issuer", (), ("cert-manager",)),
    _crd(
        "cert-manager.io",
        ("v1",),
        "clusterissuers",
        "ClusterIssuer",
        (),
        ("cert-manager",),
        namespaced=False,
    ),
)
TRUST_MANAGER_RESOURCES: tuple[ApiResource, ...] = (
    _crd("trust.cert-manager.io", ("v1alpha1",), "bundles", "Bundle", (), (), namespaced=False),
)


class ResourceIndex:
    """Lookups over a set of served resources."""

    def __init__(self, resources: Iterable[ApiResource]) -> None:
        self.resources = tuple(resources)
        self._by_path = {(r.group, r.plural): r for r in self.resources}
        self._by_kind: dict[tuple[str, str], ApiResource] = {}
        for r in self.resources:
            self._by_kind[(r.group, r.kind)] = r

    def find(self, group: str, version: str, plural: str) -> ApiResource | None:
        res = self._by_path.get((group, plural))
        return res if res is not None and version in res.versions else None

    def by_plural(self, group: str, plural: str) -> ApiResource | None:
        return self._by_path.get((group, plural))

    def by_kind(self, api_version: str, kind: str) -> ApiResource | None:
        group, _, version = api_version.rpartition("/")
        res = self._by_kind.get((group, kind))
        return res if res is not None and version in res.versions else None

    def named(self, text: str) -> ApiResource | None:
        """`secrets`, `leases`, `servers.policy.linkerd.io`: by plural, optionally with group."""
        plural, _, group = text.partition(".")
        hits = [r for r in self.resources if r.plural == plural and (not group or r.group == group)]
        return hits[0] if len(hits) == 1 else None

    def groups(self) -> dict[str, list[str]]:
        """group → served versions in priority order (the core group excluded)."""
        out: dict[str, set[str]] = {}
        for r in self.resources:
            if r.group:
                out.setdefault(r.group, set()).update(r.versions)
        return {g: sorted(vs, key=version_priority) for g, vs in out.items()}


def _group_doc(name: str, versions: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "versions": [{"groupVersion": f"{name}/{v}", "version": v} for v in versions],
        "preferredVersion": {"groupVersion": f"{name}/{versions[0]}", "version": versions[0]},
    }


def api_versions_doc(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    }


def api_group_list_doc(index: ResourceIndex) -> dict[str, Any]:
    groups = index.groups()
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_doc(g, vs) for g, vs in groups.items()],
    }


def api_group_doc(index: ResourceIndex, group: str) -> dict[str, Any] | None:
    versions = index.groups().get(group)
    if versions is None:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group_doc(group, versions)}


def _storage_hash(res: ApiResource) -> str:
    digest = hashlib.sha256(f"{res.group}/{res.versions[0]}/{res.plural}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def resource_list_doc(index: ResourceIndex, group: str, version: str) -> dict[str, Any] | None:
    """The APIResourceList of one group/version, or None when it is not served."""
    served = [r for r in index.resources if r.group == group and version in r.versions]
    if not served:
        return None
    resources: list[Mapping[str, Any]] = []
    for r in served:
        doc: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            doc["shortNames"] = list(r.short_names)
        if r.categories:
            doc["categories"] = list(r.categories)
        doc["storageVersionHash"] = _storage_hash(r)
        resources.append(doc)
    if not group:  # the core list carries no apiVersion, as the real apiserver answers
        return {"kind": "APIResourceList", "groupVersion": version, "resources": resources}
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}",
        "resources": resources,
    }


def version_doc(server_version: str) -> dict[str, Any]:
    """`/version` as the apiserver of that release answers it."""
    core = server_version.split("-")[0].split("+")[0]
    major, minor, _ = core.lstrip("v").split(".")
    return {
        "major": major,
        "minor": minor,
        "gitVersion": server_version,
        "gitCommit": uuid.uuid5(uuid.NAMESPACE_URL, server_version).hex + "00000000",
        "gitTreeState": "clean",
        "buildDate": "2024-08-14T19:29:46Z",
        "goVersion": "go1.22.5",
        "compiler": "gc",
        "platform": "linux/amd64",
    }
