"""The parts of policy that come from workloads and settings, not from policy objects.

Pure: a pod's labels, named ports, mesh membership and policy annotations
(`PodInfo`), the cluster's default inbound policy and cluster networks from the
`linkerd-config` values, and the namespaces' default-policy annotations. Lenient:
an invalid annotation or port entry is reported as a problem and left out.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.policy.model import (
    DEFAULT_CLUSTER_NETWORKS,
    DEFAULT_POLICIES,
    ObjectRef,
    PodInfo,
)

Problem = tuple[ObjectRef, str]
DEFAULT_POLICY_ANNOTATION = "config.linkerd.io/default-inbound-policy"
SKIP_INBOUND_ANNOTATION = "config.linkerd.io/skip-inbound-ports"
REQUIRE_IDENTITY_ANNOTATION = "config.linkerd.io/proxy-require-identity-inbound-ports"
_PROXY_OWN_PORTS = ("4190", "4191")  # control and admin: in linkerd-init's ignore list
_PORT_ENTRY = re.compile(r"^([0-9]{1,5})(?:-([0-9]{1,5}))?$")  # ASCII only: "١٢" matches \d
PROXY = "linkerd-proxy"
INIT = "linkerd-init"


def cluster_defaults(
    values: Mapping[str, Any], linkerd_namespace: str = "linkerd"
) -> tuple[str, tuple[str, ...], tuple[Problem, ...]]:
    """(default inbound policy, cluster networks) from `linkerd-config` values:
    `proxy.defaultInboundPolicy` (2.12+), else `policyController.defaultAllowPolicy` (2.11),
    else all-unauthenticated; `clusterNetworks` (comma list), else the chart default."""
    ref = ObjectRef("", "ConfigMap", "linkerd-config", linkerd_namespace)
    problems: list[Problem] = []
    proxy, controller = values.get("proxy"), values.get("policyController")
    raw = proxy.get("defaultInboundPolicy") if isinstance(proxy, Mapping) else None
    if raw is None and isinstance(controller, Mapping):
        raw = controller.get("defaultAllowPolicy")
    default = "all-unauthenticated" if raw is None else str(raw)
    if default not in DEFAULT_POLICIES:
        problems.append((ref, f"default inbound policy {raw!r} is not a policy name"))
        default = "all-unauthenticated"
    raw_nets = values.get("clusterNetworks")
    entries = raw_nets.split(",") if isinstance(raw_nets, str) else raw_nets
    networks: list[str] = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, str) and cidr_ok(entry.strip()):
            networks.append(entry.strip())
        elif str(entry).strip():
            problems.append((ref, f"clusterNetworks entry {entry!r} is not a CIDR"))
    if raw_nets is not None and not isinstance(entries, list):
        problems.append((ref, "clusterNetworks is neither a string nor a list"))
    return default, tuple(networks) or DEFAULT_CLUSTER_NETWORKS, tuple(problems)


def namespace_defaults(
    namespaces: Iterable[Mapping[str, Any]],
) -> tuple[dict[str, str], tuple[Problem, ...]]:
    """Namespace name → its `config.linkerd.io/default-inbound-policy` annotation."""
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for ns in namespaces:
        meta = field_of(ns, "metadata")
        name, value = meta.get("name"), field_of(meta, "annotations").get(DEFAULT_POLICY_ANNOTATION)
        if not isinstance(name, str) or value is None:
            continue
        if value in DEFAULT_POLICIES:
            found[name] = str(value)
        else:
            ref = ObjectRef("", "Namespace", name)
            problems.append((ref, f"{DEFAULT_POLICY_ANNOTATION} {value!r} is not a policy name"))
    return found, tuple(problems)


def pod_info(pod: Mapping[str, Any]) -> tuple[PodInfo | None, tuple[Problem, ...]]:
    """A pod's labels, named TCP container ports (containers and initContainers, where
    native sidecars live), whether it runs `linkerd-proxy`, and its policy annotations.

    Skip-inbound ports: the annotation, else `linkerd-init`'s `--inbound-ports-to-ignore`
    (which also carries the cluster-wide `proxyInit.ignoreInboundPorts`)."""
    ref = object_ref(pod, kind="Pod")
    meta, spec, status = field_of(pod, "metadata"), field_of(pod, "spec"), field_of(pod, "status")
    namespace, name = meta.get("namespace"), meta.get("name")
    if not (isinstance(namespace, str) and isinstance(name, str) and namespace and name):
        return None, ((ref, "metadata.namespace and metadata.name are required"),)
    containers = [c for key in ("containers", "initContainers") for c in _dict_list(spec.get(key))]
    ports: dict[str, int] = {}
    extra: list[tuple[str, int]] = []
    for port in (p for c in containers for p in _dict_list(c.get("ports"))):
        number, port_name = port_number(port.get("containerPort")), port.get("name")
        if str(port.get("protocol") or "TCP").upper() != "TCP" or not number:
            continue
        if isinstance(port_name, str) and ports.setdefault(port_name, number) != number:
            extra += [(port_name, number)] if (port_name, number) not in extra else []
    problems: list[Problem] = []
    annotations = field_of(meta, "annotations")
    default = annotations.get(DEFAULT_POLICY_ANNOTATION)
    if default is not None and default not in DEFAULT_POLICIES:
        problems.append((ref, f"{DEFAULT_POLICY_ANNOTATION} {default!r} is not a policy name"))
    skip = annotations.get(SKIP_INBOUND_ANNOTATION)
    if skip is None:
        skip = ",".join(e for e in _init_ignored(containers) if e not in _PROXY_OWN_PORTS)
    require = annotations.get(REQUIRE_IDENTITY_ANNOTATION)
    account = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    info = PodInfo(
        namespace=namespace,
        name=name,
        ip=str(status.get("podIP") or ""),
        labels={str(k): str(v) for k, v in field_of(meta, "labels").items()},
        service_account=str(account),
        meshed=any(c.get("name") == PROXY for c in containers),
        container_ports=ports,
        default_policy=default if isinstance(default, str) else None,
        skip_inbound_ports=_port_entries(skip, SKIP_INBOUND_ANNOTATION, ref, problems),
        require_identity_ports=_port_entries(require, REQUIRE_IDENTITY_ANNOTATION, ref, problems),
        extra_ports=tuple(extra),
    )
    return info, tuple(problems)


def object_ref(obj: Mapping[str, Any], kind: str = "") -> ObjectRef:
    """Who an object is, for problems: group from apiVersion, kind, name, namespace."""
    api = obj.get("apiVersion")
    group = api.rpartition("/")[0] if isinstance(api, str) else ""
    meta = field_of(obj, "metadata")
    name, namespace = meta.get("name"), meta.get("namespace")
    return ObjectRef(
        group,
        str(obj.get("kind") or kind),
        name if isinstance(name, str) else "?",
        namespace if isinstance(namespace, str) else None,
    )


def _port_entries(raw: Any, what: str, ref: ObjectRef, problems: list[Problem]) -> tuple[str, ...]:
    """Comma-list entries that are ports (`443`) or ranges (`4000-4100`), kept as written."""
    entries: list[str] = []
    for entry in (e.strip() for e in str(raw or "").split(",") if e.strip()):
        match = _PORT_ENTRY.match(entry)
        low, high = (int(match[1]), int(match[2] or match[1])) if match else (0, 0)
        if 0 < low <= high < 65536:
            entries.append(entry)
        else:
            problems.append((ref, f"{what} entry {entry!r} is not a port or port range"))
    return tuple(entries)


def _init_ignored(containers: list[Mapping[str, Any]]) -> list[str]:
    """`--inbound-ports-to-ignore` of the linkerd-init container, split."""
    for container in containers:
        if container.get("name") != INIT:
            continue
        raw = container.get("args")
        args = [str(a) for a in (raw if isinstance(raw, list) else []) if isinstance(a, str | int)]
        for i, arg in enumerate(args):
            flag, eq, value = arg.partition("=")
            if flag == "--inbound-ports-to-ignore":
                value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
                return [e.strip() for e in value.split(",") if e.strip()]
    return []


def port_number(raw: Any) -> int | None:
    ok = isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 65536
    return raw if ok else None


def cidr_ok(text: str) -> bool:
    try:
        ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return False
    return True


def field_of(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`obj[key]` when it is an object, else empty (lenient, for pods and namespaces)."""
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def _dict_list(raw: Any) -> list[Mapping[str, Any]]:
    """The objects of a list; anything else is empty (lenient, for pods)."""
    return [x for x in raw if isinstance(x, Mapping)] if isinstance(raw, list) else []
