"""The `kube-root-ca.crt` ConfigMap a real cluster publishes in every namespace.

kube-controller-manager's root-ca-cert-publisher (`pkg/controller/certificates/
rootcacertpublisher`) keeps one in each namespace: `data.ca.crt` is the CA that verifies
the API server, annotated with `kubernetes.io/description`. The simulated server publishes
the CA of its own serving certificate when it is given one.
"""

from __future__ import annotations

from typing import Any

from monitor.simulate.kube.meta import uid_for
from monitor.simulate.kube.model import KubeWorld

ROOT_CA_DESCRIPTION = (
    "Contains a CA bundle that can be used to verify the kube-apiserver when using internal "
    "endpoints such as the internal service IP or kubernetes.default.svc. No other usage is "
    "guaranteed across distributions of Kubernetes clusters."
)


def root_ca_configmaps(world: KubeWorld, ca_pem: str) -> list[dict[str, Any]]:
    """`kube-root-ca.crt` in every namespace, as kube-controller-manager's root-ca-cert-publisher
    writes it (`pkg/controller/certificates/rootcacertpublisher`): `ca.crt` is the CA of the
    API server's serving certificate, with its description annotation."""
    out = []
    for obj in world.objects:
        if obj.get("kind") != "Namespace":
            continue
        ns, created = obj["metadata"]["name"], obj["metadata"].get("creationTimestamp")
        meta = {"name": "kube-root-ca.crt", "namespace": ns,
                "uid": uid_for(ns, "ConfigMap", "kube-root-ca.crt"),
                "annotations": {"kubernetes.io/description": ROOT_CA_DESCRIPTION}}  # fmt: skip
        if created:
            meta["creationTimestamp"] = created
        out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                    "data": {"ca.crt": ca_pem}})  # fmt: skip
    return out
