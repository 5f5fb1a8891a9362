"""kubectl's columns for Services, ConfigMaps, Secrets and Leases, as the apiserver prints them.

A 1.30 apiserver answers `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` with the
columns of `pkg/printers/internalversion/printers.go` (Pods are in `table`):
- Service (`printService`): NAME, TYPE, CLUSTER-IP (`<none>` when empty), EXTERNAL-IP
  (`spec.externalIPs` for ClusterIP and NodePort, `<none>` without; the load balancer's
  ingress IPs or hostnames and the external IPs for LoadBalancer, `<pending>` while it has
  none; `spec.externalName` for ExternalName), PORT(S) (`port/protocol`, or
  `port:nodePort/protocol`, joined by `,`; `<none>`), AGE, and at priority 1 SELECTOR
  (`k=v` sorted, joined by `,`; `<none>`);
- ConfigMap (`printConfigMap`): NAME, DATA (the number of `data` and `binaryData` keys), AGE;
- Secret (`printSecret`): NAME, TYPE, DATA (the number of `data` keys), AGE;
- Lease (`printLease`): NAME, HOLDER (`spec.holderIdentity`, empty without), AGE.
A column's description is the first sentence of the field's API documentation, which is
what the printer takes (`SwaggerDoc()`); kubectl shows none of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from monitor.simulate.kube.table import human_duration

Column = tuple[str, str, str, int, str]  # name, type, format, priority, description
Row = Callable[[Mapping[str, Any], datetime], list[Any]]

_NAME: Column = ("Name", "string", "name", 0, "Name must be unique within a namespace.")
_AGE: Column = (
    "Age", "string", "", 0,
    "CreationTimestamp is a timestamp representing the server time when this object was created.",
)  # fmt: skip


def age(meta: Mapping[str, Any], now: datetime) -> str:
    stamp = meta.get("creationTimestamp")
    if not isinstance(stamp, str) or not stamp:
        return "<unknown>"
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return "<unknown>"
    return human_duration((now - moment).total_seconds())


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, Mapping) else {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = obj.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _external_ip(svc: Mapping[str, Any]) -> str:
    spec = _spec(svc)
    kind = spec.get("type") or "ClusterIP"
    external = [str(ip) for ip in spec.get("externalIPs") or []]
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if kind == "LoadBalancer":
        status = (svc.get("status") or {}).get("loadBalancer") or {}
        ingress = [i.get("ip") or i.get("hostname") or "" for i in status.get("ingress") or []]
        found = [ip for ip in ingress if ip] + external
        return ",".join(found) if found else "<pending>"
    if kind == "ExternalName":
        return str(spec.get("externalName") or "")
    return "<unknown>"


def _ports(spec: Mapping[str, Any]) -> str:
    out = []
    for port in spec.get("ports") or []:
        protocol = port.get("protocol") or "TCP"
        if port.get("nodePort"):
            out.append(f"{port.get('port')}:{port['nodePort']}/{protocol}")
        else:
            out.append(f"{port.get('port')}/{protocol}")
    return ",".join(out) if out else "<none>"


def _selector(spec: Mapping[str, Any]) -> str:
    selector = spec.get("selector") or {}
    return ",".join(f"{k}={selector[k]}" for k in sorted(selector)) or "<none>"


def service_row(svc: Mapping[str, Any], now: datetime) -> list[Any]:
    spec = _spec(svc)
    return [
        _meta(svc).get("name", ""),
        spec.get("type") or "ClusterIP",
        spec.get("clusterIP") or "<none>",
        _external_ip(svc),
        _ports(spec),
        age(_meta(svc), now),
        _selector(spec),
    ]


def configmap_row(cm: Mapping[str, Any], now: datetime) -> list[Any]:
    count = len(cm.get("data") or {}) + len(cm.get("binaryData") or {})
    return [_meta(cm).get("name", ""), count, age(_meta(cm), now)]


def secret_row(secret: Mapping[str, Any], now: datetime) -> list[Any]:
    meta = _meta(secret)
    kind = secret.get("type") or "Opaque"
    return [meta.get("name", ""), kind, len(secret.get("data") or {}), age(meta, now)]


def lease_row(lease: Mapping[str, Any], now: datetime) -> list[Any]:
    meta = _meta(lease)
    return [meta.get("name", ""), _spec(lease).get("holderIdentity") or "", age(meta, now)]


PRINTERS: dict[tuple[str, str], tuple[tuple[Column, ...], Row]] = {
    ("", "services"): (
        (
            _NAME,
            ("Type", "string", "", 0, "type determines how the Service is exposed."),
            ("Cluster-IP", "string", "", 0,
             "clusterIP is the IP address of the service and is usually assigned randomly."),
            ("External-IP", "string", "", 0,
             "externalIPs is a list of IP addresses for which nodes in the cluster will also "
             "accept traffic for this service."),
            ("Port(s)", "string", "", 0,
             "The list of ports that are exposed by this service."),
            _AGE,
            ("Selector", "string", "", 1,
             "Route service traffic to pods with label keys and values matching this "
             "selector."),
        ),
        service_row,
    ),
    ("", "configmaps"): (
        (
            _NAME,
            ("Data", "string", "", 0, "Data contains the configuration data."),
            _AGE,
        ),
        configmap_row,
    ),
    ("", "secrets"): (
        (
            _NAME,
            ("Type", "string", "", 0,
             "Used to facilitate programmatic handling of secret data."),
            ("Data", "string", "", 0,
             "Data contains the secret data."),
            _AGE,
        ),
        secret_row,
    ),
    ("coordination.k8s.io", "leases"): (
        (
            _NAME,
            ("Holder", "string", "", 0,
             "holderIdentity contains the identity of the holder of a current lease."),
            _AGE,
        ),
        lease_row,
    ),
}  # fmt: skip
