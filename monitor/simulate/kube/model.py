"""The `kubernetes:` section of a scenario, rendered into the objects a real cluster serves.

Pure: reads the scenario through `Node` (every mistake is a `ScenarioError` naming
its path), takes the generated certificates and the world's start time, and returns
a `KubeWorld` — the complete API objects (namespaces, the Linkerd install, pods,
ServiceAccounts, Services, EndpointSlices, and `objects:` passed through verbatim),
the bearer token, the server version, the RBAC gaps to simulate (`withhold`), the
faults armed from the start, and the API resources the cluster serves.  The
simulated API server (`server`) serves a `KubeWorld`; `update()` diffs the next.
"""

from __future__ import annotations

import copy
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from difflib import get_close_matches
from typing import Any

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.faults import Fault
from monitor.simulate.kube.apps import app_objects
from monitor.simulate.kube.controlplane import install_objects
from monitor.simulate.kube.linkerd import LinkerdInstall, component_labels, control_plane
from monitor.simulate.kube.linkerd import parse_linkerd as _parse_linkerd
from monitor.simulate.kube.meta import ServiceInput, Workload, string_map, timestamp, uid_for
from monitor.simulate.kube.nodes import node_objects
from monitor.simulate.kube.pods import render_pods, service_account
from monitor.simulate.kube.releases import LinkerdRelease
from monitor.simulate.kube.resources import (
    CERT_MANAGER_RESOURCES,
    CORE_RESOURCES,
    TRUST_MANAGER_RESOURCES,
    ApiResource,
    ResourceIndex,
    linkerd_resources,
)
from monitor.simulate.kube.services import render_services
from monitor.simulate.kube.workloads import (
    check_target_ports,
    dns_name,
    parse_service,
    parse_workload,
)
from monitor.simulate.spec import Node, ScenarioError

DEFAULT_USER = "system:serviceaccount:monitoring:f5-linkerd-monitor"
DEFAULT_SERVER_VERSION = "v1.30.4"
BUILTIN_NAMESPACES = ("default", "kube-node-lease", "kube-public", "kube-system")
_KEYS = (
    "token", "serverVersion", "user", "withhold", "linkerd", "namespaces", "workloads",
    "services", "objects", "faults",
)  # fmt: skip
_SERVER_VERSION = re.compile(r"^v1\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]+)?$")


@dataclass(frozen=True)
class WithholdRule:
    """Missing RBAC on `resource` (plural) of `group` in `namespace` / `name` (None: all)."""

    resource: str
    namespace: str | None
    name: str | None
    group: str = ""


@dataclass
class KubeWorld:
    objects: list[dict[str, Any]]
    token: str
    server_version: str
    withhold: tuple[WithholdRule, ...] = ()
    faults: tuple[Fault, ...] = ()
    user: str = DEFAULT_USER
    resources: tuple[ApiResource, ...] = CORE_RESOURCES
    linkerd: LinkerdRelease | None = None

    @property
    def server_minor(self) -> int:
        m = _SERVER_VERSION.match(self.server_version)
        return int(m.group(1)) if m else 0


def _server_version(node: Node) -> tuple[str, int]:
    text = node.text(DEFAULT_SERVER_VERSION)
    m = _SERVER_VERSION.match(text)
    if not m:
        raise node.fail(f'expected a Kubernetes version like v1.30.4, got "{text}"')
    minor = int(m.group(1))
    if minor < 21:
        raise node.fail("the simulated API serves discovery.k8s.io/v1, which needs v1.21 or later")
    return text, minor


def _served(install: LinkerdInstall | None) -> tuple[ApiResource, ...]:
    out = list(CORE_RESOURCES)
    if install is not None:
        out += linkerd_resources(install.release.minor)
        if install.cert_manager is not None:
            out += CERT_MANAGER_RESOURCES
        if install.external_ca:
            out += TRUST_MANAGER_RESOURCES
    return tuple(out)


def _withhold(node: Node, index: ResourceIndex) -> WithholdRule:
    node.mapping(("resource", "namespace", "name"))
    text = node.require("resource").text()
    res = index.named(text)
    if res is None:
        names = sorted({r.plural for r in index.resources})
        hint = get_close_matches(text, names, n=1)
        extra = f' (did you mean "{hint[0]}"?)' if hint else ""
        raise node.get("resource").fail(f'unknown resource "{text}"{extra}')
    namespace = node.get("namespace").opt_text()
    if namespace is not None and not res.namespaced:
        raise node.get("namespace").fail(f"{res.plural} are not namespaced")
    return WithholdRule(res.plural, namespace, node.get("name").opt_text(), res.group)


def _fault(node: Node) -> Fault:
    value = node.mapping()
    target = value.get("target", "kubernetes")
    if target != "kubernetes":
        raise node.get("target").fail('faults under kubernetes have target "kubernetes"')
    fault = Fault.parse(Node({**value, "target": "kubernetes"}, node.path))
    if fault.type == "expireTokens":
        raise node.get("type").fail("expireTokens applies to BIG-IP devices, not to Kubernetes")
    return fault


def _namespace(
    name: str, labels: Mapping[str, str], annotations: Mapping[str, str]
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    meta["labels"] = {"kubernetes.io/metadata.name": name, **labels}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": meta,
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }


class _Objects:
    """Collects objects, refusing duplicates and filling uid/creationTimestamp/generation."""

    def __init__(self, index: ResourceIndex, now: datetime) -> None:
        self.index, self.now = index, now
        self.items: list[dict[str, Any]] = []
        self.origin: dict[tuple[str, str, str, str], str] = {}

    def add(self, obj: dict[str, Any], path: str) -> None:
        res = self.index.by_kind(str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
        assert res is not None, obj.get("kind")
        meta = obj["metadata"]
        ns = str(meta.get("namespace", ""))
        key = (res.group, res.plural, ns, str(meta["name"]))
        if key in self.origin:
            where = f"{ns}/{meta['name']}" if ns else str(meta["name"])
            raise ScenarioError(
                path, f"{obj['kind']} {where} already exists (from {self.origin[key]})"
            )
        self.origin[key] = path
        meta.setdefault("uid", uid_for(ns, str(obj["kind"]), str(meta["name"])))
        meta.setdefault("creationTimestamp", timestamp(self.now))
        if not res.builtin:
            meta.setdefault("generation", 1)
        self.items.append(obj)


def _verbatim(node: Node, index: ResourceIndex, namespaces: set[str]) -> dict[str, Any]:
    value = node.mapping()
    api_version = node.require("apiVersion").text()
    kind = node.require("kind").text()
    res = index.by_kind(api_version, kind)
    if res is None:
        raise node.fail(f"{api_version} {kind} is not served by this simulated cluster")
    meta_node = node.require("metadata")
    meta_node.mapping()
    dns_name(meta_node.require("name"), 253)
    ns = meta_node.get("namespace").opt_text()
    if res.namespaced and ns is None:
        raise meta_node.get("namespace").fail(f"required for a namespaced {kind}")
    if not res.namespaced and ns is not None:
        raise meta_node.get("namespace").fail(f"{kind} is not namespaced")
    if ns is not None and ns not in namespaces:
        raise meta_node.get("namespace").fail(f'namespace "{ns}" does not exist')
    return copy.deepcopy(dict(value))


def render_kubernetes(
    section: Node, certs: Mapping[str, GeneratedCert], now: datetime, default_token: str
) -> KubeWorld:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    if section.value is None:
        section = Node({}, section.path or "kubernetes")
    section.mapping(_KEYS)
    server_version, k8s_minor = _server_version(section.get("serverVersion"))
    install = _parse_linkerd(section.get("linkerd"), certs)
    index = ResourceIndex(_served(install))
    objects = _Objects(index, now)

    ns_annotations: dict[str, dict[str, str]] = {n: {} for n in BUILTIN_NAMESPACES}
    namespace_objs = [_namespace(n, {}, {}) for n in BUILTIN_NAMESPACES]
    linkerd_objs: list[dict[str, Any]] = []
    if install is not None:
        linkerd_objs = install_objects(install, now)
        ns_obj = linkerd_objs.pop(0)
        meta = ns_obj["metadata"]
        namespace_objs.append(_namespace(meta["name"], meta["labels"], meta["annotations"]))
        ns_annotations[install.namespace] = dict(meta["annotations"])
    declared: list[tuple[str, str]] = []  # (namespace, ServiceAccount) of `serviceAccounts`
    for node in section.get("namespaces").items():
        node.mapping(("name", "labels", "annotations", "serviceAccounts"))
        name = dns_name(node.require("name"))
        for sa_node in node.get("serviceAccounts").items():
            declared.append((name, dns_name(sa_node, 253)))
        if name in ns_annotations:
            raise node.get("name").fail(f'namespace "{name}" already exists')
        annotations = string_map(node.get("annotations"))
        ns_annotations[name] = annotations
        namespace_objs.append(_namespace(name, string_map(node.get("labels")), annotations))
    user = section.get("user").text(DEFAULT_USER)
    own = _own_namespace(user)
    if own is not None and own not in ns_annotations:  # the monitor's service account lives there
        ns_annotations[own] = {}
        namespace_objs.append(_namespace(own, {}, {}))
    for obj in namespace_objs:
        objects.add(obj, "kubernetes.namespaces")
    for obj in linkerd_objs:
        objects.add(obj, "kubernetes.linkerd")

    workloads: list[Workload] = []
    services: list[ServiceInput] = []
    if install is not None:
        workloads, services = control_plane(install)
    names: dict[tuple[str, str], str] = {}
    for node in section.get("workloads").items():
        ns_node = node.get("namespace")
        if ns_node.value is not None and ns_node.value not in ns_annotations:
            raise ns_node.fail(f'namespace "{ns_node.value}" is not declared')
        w = parse_workload(
            node, certs, install, ns_annotations.get(str(ns_node.value), {}), k8s_minor
        )
        if (w.namespace, w.name) in names:
            raise node.get("name").fail(f"workload {w.namespace}/{w.name} is declared twice")
        names[(w.namespace, w.name)] = node.path
        workloads.append(w)
    seen_services = {(s.namespace, s.name) for s in services}
    for node in section.get("services").items():
        ns_node = node.get("namespace")
        if ns_node.value is not None and ns_node.value not in ns_annotations:
            raise ns_node.fail(f'namespace "{ns_node.value}" is not declared')
        svc = parse_service(node)
        if (svc.namespace, svc.name) in seen_services:
            raise node.get("name").fail(f"service {svc.namespace}/{svc.name} is declared twice")
        seen_services.add((svc.namespace, svc.name))
        services.append(svc)
    for svc in services:
        check_target_ports(svc, workloads)
    _check_ips(workloads)

    accounts: dict[tuple[str, str], Mapping[str, str] | None] = {
        (n, "default"): None for n in ns_annotations
    }
    pods: list[dict[str, Any]] = []
    for w in workloads:
        labels: Mapping[str, str] | None = (
            None
            if install is None or w.component is None
            else component_labels(install, w.component)
        )
        accounts.setdefault((w.namespace, w.service_account), labels)
        for pod in render_pods(w, install, now, k8s_minor):
            pods.append(pod)
            objects.add(pod, w.path)
    if own is not None:
        accounts.setdefault((own, user.split(":")[3]), None)
    for key in declared:  # a ServiceAccount no pod runs as (e.g. one BIG-IP's identity names)
        accounts.setdefault(key, None)
    for app_obj in app_objects(pods):
        objects.add(app_obj, "kubernetes.workloads")
    for node_obj in node_objects(pods, server_version, timestamp(now)):
        objects.add(node_obj, "kubernetes.workloads")
    for (ns, sa), labels in accounts.items():
        objects.add(service_account(ns, sa, labels), "kubernetes.workloads")
    for obj in render_services(services, pods, now):
        objects.add(obj, "kubernetes.services")
    for node in section.get("objects").items():
        objects.add(_verbatim(node, index, set(ns_annotations)), node.path)

    return KubeWorld(
        objects=objects.items,
        token=section.get("token").opt_text() or default_token,
        server_version=server_version,
        withhold=tuple(_withhold(n, index) for n in section.get("withhold").items()),
        faults=tuple(_fault(n) for n in section.get("faults").items()),
        user=user,
        resources=index.resources,
        linkerd=None if install is None else install.release,
    )


def _own_namespace(user: str) -> str | None:
    """The namespace of a `system:serviceaccount:<namespace>:<name>` user (None otherwise)."""
    parts = user.split(":")
    if len(parts) == 4 and parts[:2] == ["system", "serviceaccount"] and all(parts[2:]):
        return parts[2]
    return None


def _check_ips(workloads: list[Workload]) -> None:
    owners: dict[str, str] = {}
    for w in workloads:
        for i, pod in enumerate(w.pods):
            if pod.ip is None or pod.phase not in ("Running", "Pending"):
                continue
            here = f"{w.path}.pods[{i}].ip" if w.component is None else w.path
            ip = str(ipaddress.ip_address(pod.ip))
            if ip in owners:
                raise ScenarioError(here, f"{ip} is already the IP of a pod of {owners[ip]}")
            owners[ip] = f"{w.namespace}/{w.name}"
