"""Services and their EndpointSlices, as the apiserver and EndpointSlice controller make them.

Owns the Service objects (cluster IPs allocated deterministically in 10.96.0.0/12,
node ports in 30000-32767, headless services) and the EndpointSlices computed from
each Service's selector over the rendered pods: one slice per address family and
resolved port set (at most 100 endpoints each), `conditions.ready` = (ready or
publishNotReadyAddresses) and not terminating, `serving` = ready, `terminating` =
pod deleting; pods without an IP or in Succeeded/Failed are left out; a Service that
selects nothing keeps one placeholder slice with no endpoints and no ports.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.simulate.kube.meta import ServiceInput, generated_name, meta, timestamp, uid_for

MAX_ENDPOINTS = 100
_SERVICE_NET = ipaddress.ip_network("10.96.0.0/12")


class _Allocator:
    """Deterministic cluster IPs and node ports: a hash of the name, then the next free one."""

    def __init__(self) -> None:
        self.ips: set[str] = {"10.96.0.1", "10.96.0.10"}  # kubernetes, kube-dns
        self.node_ports: set[int] = set()

    def ip(self, namespace: str, name: str) -> str:
        h = int(hashlib.sha256(f"{namespace}/{name}".encode()).hexdigest(), 16)
        size = _SERVICE_NET.num_addresses - 2
        for step in range(size):
            candidate = str(_SERVICE_NET[1 + (h + step) % size])
            if candidate not in self.ips:
                self.ips.add(candidate)
                return candidate
        raise RuntimeError("service network exhausted")

    def node_port(self, namespace: str, name: str, port: int) -> int:
        h = int(hashlib.sha256(f"{namespace}/{name}/{port}".encode()).hexdigest(), 16)
        for step in range(2768):
            candidate = 30000 + (h + step) % 2768
            if candidate not in self.node_ports:
                self.node_ports.add(candidate)
                return candidate
        raise RuntimeError("node port range exhausted")


def _service(svc: ServiceInput, alloc: _Allocator) -> dict[str, Any]:
    ports = []
    for p in svc.ports:
        port: dict[str, Any] = {}
        if p.name:
            port["name"] = p.name
        if svc.type != "ClusterIP":
            port["nodePort"] = p.node_port or alloc.node_port(svc.namespace, svc.name, p.port)
        port.update(port=p.port, protocol=p.protocol, targetPort=p.target)
        ports.append(port)
    cluster_ip = svc.cluster_ip or alloc.ip(svc.namespace, svc.name)
    spec: dict[str, Any] = {
        "clusterIP": cluster_ip,
        "clusterIPs": [cluster_ip],
        "internalTrafficPolicy": "Cluster",
        "ipFamilies": ["IPv4"],
        "ipFamilyPolicy": "SingleStack",
        "ports": ports,
    }
    if svc.type != "ClusterIP":
        spec["externalTrafficPolicy"] = "Cluster"
    if svc.publish_not_ready:
        spec["publishNotReadyAddresses"] = True
    if svc.selector is not None:
        spec["selector"] = dict(svc.selector)
    spec.update(sessionAffinity="None", type=svc.type)
    status: dict[str, Any] = {"loadBalancer": {}}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(svc.name, svc.namespace, svc.labels, svc.annotations),
        "spec": spec,
        "status": status,
    }


def _pod_ready(pod: Mapping[str, Any]) -> bool:
    for cond in pod.get("status", {}).get("conditions", []):
        if cond.get("type") == "Ready":
            return bool(cond.get("status") == "True")
    return False


def _find_port(pod: Mapping[str, Any], name: str) -> tuple[int, str] | None:
    for container in pod["spec"]["containers"]:
        for port in container.get("ports", []):
            if port.get("name") == name:
                return int(port["containerPort"]), str(port.get("protocol", "TCP"))
    return None


def _resolved_ports(svc: ServiceInput, pod: Mapping[str, Any]) -> tuple[tuple[str, int, str], ...]:
    out = []
    for p in svc.ports:
        if isinstance(p.target, int):
            out.append((p.name or "", p.target, p.protocol))
            continue
        found = _find_port(pod, p.target)
        if found is not None:  # the controller leaves the port out for this pod
            out.append((p.name or "", found[0], p.protocol))
    return tuple(out)


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _endpoint(pod: Mapping[str, Any], svc: ServiceInput) -> dict[str, Any]:
    meta_ = pod["metadata"]
    ready = _pod_ready(pod)
    terminating = "deletionTimestamp" in meta_
    return {
        "addresses": [pod["status"]["podIP"]],
        "conditions": {
            "ready": (ready or svc.publish_not_ready) and not terminating,
            "serving": ready,
            "terminating": terminating,
        },
        "nodeName": pod["spec"]["nodeName"],
        "targetRef": {
            "kind": "Pod",
            "name": meta_["name"],
            "namespace": meta_["namespace"],
            "uid": meta_["uid"],
        },
    }


def _slice(
    svc: ServiceInput,
    family: str,
    ports: tuple[tuple[str, int, str], ...] | None,
    endpoints: list[dict[str, Any]] | None,
    index: int,
    now: datetime,
) -> dict[str, Any]:
    labels = dict(svc.labels)
    labels["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io"
    labels["kubernetes.io/service-name"] = svc.name
    if svc.cluster_ip == "None":
        labels["service.kubernetes.io/headless"] = ""
    name = generated_name(f"{svc.name}-", [svc.namespace, svc.name, family, ports, index])
    owner = {
        "apiVersion": "v1",
        "kind": "Service",
        "name": svc.name,
        "uid": uid_for(svc.namespace, "Service", svc.name),
        "controller": True,
        "blockOwnerDeletion": True,
    }
    trigger = {"endpoints.kubernetes.io/last-change-trigger-time": timestamp(now)}
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": meta(
            name,
            svc.namespace,
            labels,
            trigger,
            generateName=f"{svc.name}-",
            ownerReferences=[owner],
        ),
        "addressType": family,
        "endpoints": endpoints,
        "ports": None
        if ports is None
        else [{"name": n, "port": port, "protocol": proto} for n, port, proto in ports],
    }


def endpoint_slices(
    svc: ServiceInput, pods: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    if svc.selector is None:
        return []
    groups: dict[tuple[str, tuple[tuple[str, int, str], ...]], list[Mapping[str, Any]]] = {}
    for pod in pods:
        meta_, status = pod["metadata"], pod.get("status", {})
        if meta_.get("namespace") != svc.namespace:
            continue
        if not _selects(svc.selector, meta_.get("labels") or {}):
            continue
        if "podIP" not in status or status.get("phase") in ("Succeeded", "Failed"):
            continue
        family = "IPv6" if ":" in status["podIP"] else "IPv4"
        groups.setdefault((family, _resolved_ports(svc, pod)), []).append(pod)
    if not groups:
        return [_slice(svc, "IPv4", None, None, 0, now)]
    out = []
    for (family, ports), members in sorted(groups.items()):
        members = sorted(members, key=lambda p: ipaddress.ip_address(p["status"]["podIP"]))
        for start in range(0, len(members), MAX_ENDPOINTS):
            chunk = [_endpoint(p, svc) for p in members[start : start + MAX_ENDPOINTS]]
            out.append(_slice(svc, family, ports, chunk, start // MAX_ENDPOINTS, now))
    return out


def render_services(
    services: Sequence[ServiceInput], pods: Sequence[Mapping[str, Any]], now: datetime
) -> list[dict[str, Any]]:
    """The Services (plus the `default/kubernetes` Service) and their EndpointSlices."""
    alloc = _Allocator()
    for svc in services:
        if svc.cluster_ip not in (None, "None"):
            alloc.ips.add(str(svc.cluster_ip))
        alloc.node_ports.update(p.node_port for p in svc.ports if p.node_port)
    out: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta(
                "kubernetes",
                "default",
                {"component": "apiserver", "provider": "kubernetes"},
            ),
            "spec": {
                "clusterIP": "10.96.0.1",
                "clusterIPs": ["10.96.0.1"],
                "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"],
                "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
                "sessionAffinity": "None",
                "type": "ClusterIP",
            },
            "status": {"loadBalancer": {}},
        }
    ]
    by_namespace: dict[str, list[Mapping[str, Any]]] = {}
    for pod in pods:
        by_namespace.setdefault(str(pod["metadata"].get("namespace")), []).append(pod)
    for svc in services:
        out.append(_service(svc, alloc))
        out.extend(endpoint_slices(svc, by_namespace.get(svc.namespace, []), now))
    return out
