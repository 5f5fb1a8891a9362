"""`kubernetes.workloads` and `kubernetes.services` of a scenario, parsed and checked.

Owns the reading of workloads (a Deployment: labels, ports, meshed or not, native
sidecar, its pods with IP, readiness, node and frozen trust bundle) and Services
(selector, ports with numeric or named target ports), with errors that name the
scenario path; `pods` and `services` render them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence

from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.kube.linkerd import LinkerdInstall
from monitor.simulate.kube.meta import (
    AppContainer,
    ContainerPort,
    PodInput,
    ServiceInput,
    ServicePort,
    Workload,
    cert_refs,
    string_map,
)
from monitor.simulate.spec import Node

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PROTOCOLS = ("TCP", "UDP", "SCTP")
_PHASES = ("Running", "Pending", "Succeeded", "Failed")
_WORKLOAD_KEYS = (
    "namespace", "name", "serviceAccount", "labels", "meshed", "nativeSidecar", "ports",
    "annotations", "image", "pods",
)  # fmt: skip
_POD_KEYS = ("ip", "ready", "node", "trustAnchors", "phase", "terminating")
_SERVICE_KEYS = (
    "namespace", "name", "selector", "ports", "type", "clusterIP", "labels", "annotations",
    "publishNotReadyAddresses",
)  # fmt: skip


def dns_name(node: Node, max_len: int = 63) -> str:
    """A DNS label (max_len 63) or, with a longer max_len, a DNS subdomain (object names)."""
    text = node.text()
    pattern = _DNS_LABEL if max_len <= 63 else _DNS_SUBDOMAIN
    if len(text) > max_len or not pattern.match(text):
        kind = "DNS label" if max_len <= 63 else "DNS subdomain"
        raise node.fail(f'"{text}" is not a valid name (lower-case {kind})')
    return text


def _port_number(node: Node) -> int:
    number = node.integer()
    if not 1 <= number <= 65535:
        raise node.fail("must be between 1 and 65535")
    return number


def _port_name(node: Node) -> str | None:
    name = node.opt_text()
    if name is not None and (len(name) > 15 or not _PORT_NAME.match(name)):
        raise node.fail(f'"{name}" is not a valid port name (at most 15 lower-case characters)')
    return name


def _ip(node: Node) -> str:
    text = node.text()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise node.fail(f'"{text}" is not an IP address') from None


def parse_workload(
    node: Node,
    certs: Mapping[str, GeneratedCert],
    install: LinkerdInstall | None,
    ns_annotations: Mapping[str, str],
    k8s_minor: int,
) -> Workload:
    node.mapping(_WORKLOAD_KEYS)
    name = dns_name(node.require("name"))
    namespace = node.require("namespace").text()
    annotations = string_map(node.get("annotations"))
    inject_mode = annotations.get("linkerd.io/inject", ns_annotations.get("linkerd.io/inject"))
    meshed = node.get("meshed").boolean(inject_mode in ("enabled", "ingress"))
    if meshed and install is None:
        raise node.get("meshed").fail("a meshed workload needs kubernetes.linkerd")
    native = node.get("nativeSidecar").boolean(False)
    if native:
        if not meshed:
            raise node.get("nativeSidecar").fail("only a meshed workload has a proxy sidecar")
        assert install is not None
        if not install.release.native_sidecars:
            raise node.get("nativeSidecar").fail(
                f"native sidecars need Linkerd 2.15 or later (this is {install.version})"
            )
        if k8s_minor < 29:
            raise node.get("nativeSidecar").fail("native sidecars need Kubernetes v1.29 or later")
        annotations[install.release.native_sidecar_annotation] = "true"
    ports: list[ContainerPort] = []
    seen: set[str] = set()
    for pnode in node.get("ports").items():
        pnode.mapping(("name", "containerPort", "protocol"))
        pname = _port_name(pnode.get("name"))
        if pname is not None and pname in seen:
            raise pnode.get("name").fail(f'duplicate port name "{pname}"')
        seen.update([pname] if pname else [])
        ports.append(
            ContainerPort(
                pname,
                _port_number(pnode.require("containerPort")),
                pnode.get("protocol").choice(_PROTOCOLS, "TCP"),
            )
        )
    pods: list[PodInput] = []
    for i, pnode in enumerate(node.get("pods").items()):
        pnode.mapping(_POD_KEYS)
        phase = pnode.get("phase").choice(_PHASES, "Running")
        ip_node = pnode.get("ip")
        if ip_node.value is None and phase != "Pending":
            raise ip_node.fail("required")
        anchors_node = pnode.get("trustAnchors")
        anchors = None
        if anchors_node.value is not None:
            if not meshed:
                raise anchors_node.fail("only a meshed pod has a trust bundle")
            anchors = cert_refs(anchors_node, certs)
        pods.append(
            PodInput(
                ip=None if ip_node.value is None else _ip(ip_node),
                ready=pnode.get("ready").boolean(phase == "Running"),
                node=pnode.get("node").text(f"node-{i % 3 + 1}"),
                trust_anchors=anchors,
                phase=phase,
                terminating=pnode.get("terminating").boolean(False),
            )
        )
    labels = string_map(node.get("labels")) or {"app": name}
    sa_node = node.get("serviceAccount")
    image = node.get("image").text(f"registry.example.com/{namespace}/{name}:1.0")
    return Workload(
        namespace=namespace,
        name=name,
        service_account="default" if sa_node.value is None else dns_name(sa_node, 253),
        labels=labels,
        containers=(AppContainer(name, image, tuple(ports)),),
        pods=tuple(pods),
        annotations=annotations,
        meshed=meshed,
        native_sidecar=native,
        ingress_mode=meshed and inject_mode == "ingress",
        path=node.path,
    )


def parse_service(node: Node) -> ServiceInput:
    node.mapping(_SERVICE_KEYS)
    name = dns_name(node.require("name"))
    kind = node.get("type").choice(("ClusterIP", "NodePort", "LoadBalancer"), "ClusterIP")
    ports: list[ServicePort] = []
    names: set[str] = set()
    port_nodes = list(node.require("ports").items())
    if not port_nodes:
        raise node.get("ports").fail("a Service needs at least one port")
    for pnode in port_nodes:
        pnode.mapping(("name", "port", "targetPort", "protocol", "nodePort"))
        pname = _port_name(pnode.get("name"))
        if pname is None and len(port_nodes) > 1:
            raise pnode.get("name").fail("required when a Service has more than one port")
        if pname is not None and pname in names:
            raise pnode.get("name").fail(f'duplicate port name "{pname}"')
        names.update([pname] if pname else [])
        number = _port_number(pnode.require("port"))
        tnode = pnode.get("targetPort")
        target: int | str = number
        if isinstance(tnode.value, str):
            target = tnode.value
        elif tnode.value is not None:
            target = _port_number(tnode)
        np_node = pnode.get("nodePort")
        node_port = None
        if np_node.value is not None:
            if kind == "ClusterIP":
                raise np_node.fail("a ClusterIP Service has no node ports")
            node_port = np_node.integer()
            if not 30000 <= node_port <= 32767:
                raise np_node.fail("must be in the node port range 30000-32767")
        ports.append(
            ServicePort(
                pname, number, target, pnode.get("protocol").choice(_PROTOCOLS, "TCP"), node_port
            )
        )
    cluster_ip = node.get("clusterIP").opt_text()
    if cluster_ip not in (None, "None"):
        cluster_ip = _ip(node.get("clusterIP"))
    sel_node = node.get("selector")
    return ServiceInput(
        namespace=node.require("namespace").text(),
        name=name,
        selector=None if sel_node.value is None else string_map(sel_node),
        ports=tuple(ports),
        type=kind,
        cluster_ip=cluster_ip,
        labels=string_map(node.get("labels")),
        annotations=string_map(node.get("annotations")),
        publish_not_ready=node.get("publishNotReadyAddresses").boolean(False),
        path=node.path,
    )


def check_target_ports(service: ServiceInput, workloads: Sequence[Workload]) -> None:
    """A named targetPort must name a container port of every workload the Service selects."""
    if service.selector is None:
        return
    for w in workloads:
        if w.namespace != service.namespace or not _selects(service.selector, w.labels):
            continue
        names = {p.name for c in w.containers for p in c.ports}
        for i, port in enumerate(service.ports):
            if isinstance(port.target, str) and port.target not in names:
                raise Node(None, f"{service.path}.ports[{i}].targetPort").fail(
                    f'no container port named "{port.target}" in workload {w.namespace}/{w.name}'
                )


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
