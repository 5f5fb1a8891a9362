"""The Nodes the simulated pods run on: one `v1` Node per distinct `spec.nodeName`.

Shaped as a kubelet registers itself (Kubernetes API reference, Node v1): the well-known
labels `kubernetes.io/hostname`, `kubernetes.io/os`, `kubernetes.io/arch`, a `Ready`
condition, `InternalIP` and `Hostname` addresses, and `nodeInfo` with the kubelet version
of the scenario's `serverVersion`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.simulate.kube.meta import meta, uid_for


def _internal_ip(name: str) -> str:
    digest = hashlib.sha256(name.encode()).digest()
    return f"10.0.{digest[0]}.{max(digest[1], 1)}"


def _node_info(name: str, server_version: str) -> dict[str, str]:
    ident = hashlib.sha256(name.encode()).hexdigest()
    return {
        "architecture": "amd64",
        "bootID": f"{ident[:8]}-{ident[8:12]}-{ident[12:16]}-{ident[16:20]}-{ident[20:32]}",
        "containerRuntimeVersion": "containerd://1.7.13",
        "kernelVersion": "6.1.0-18-amd64",
        "kubeProxyVersion": server_version,
        "kubeletVersion": server_version,
        "machineID": ident[32:64],
        "operatingSystem": "linux",
        "osImage": "Debian GNU/Linux 12 (bookworm)",
        "systemUUID": f"{ident[32:40]}-{ident[40:44]}-{ident[44:48]}-{ident[48:52]}-{ident[52:64]}",
    }


def node_objects(
    pods: Iterable[Mapping[str, Any]], server_version: str, now: str
) -> list[dict[str, Any]]:
    names = sorted({str(p["spec"]["nodeName"]) for p in pods if p.get("spec", {}).get("nodeName")})
    out = []
    for name in names:
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "beta.kubernetes.io/arch": "amd64"}  # fmt: skip
        ready = {"type": "Ready", "status": "True", "reason": "KubeletReady",
                 "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                 "lastTransitionTime": now}  # fmt: skip
        out.append({
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": meta(name, None, labels, {"node.alpha.kubernetes.io/ttl": "0"},
                             uid=uid_for("", "Node", name)),
            "spec": {},
            "status": {
                "addresses": [{"type": "InternalIP", "address": _internal_ip(name)},
                              {"type": "Hostname", "address": name}],
                "conditions": [ready],
                "nodeInfo": _node_info(name, server_version),
            },
        })  # fmt: skip
    return out
