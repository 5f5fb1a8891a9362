"""Shared helpers for the simulated Kubernetes API tests (no tests here)."""

from __future__ import annotations

import base64
import contextlib
import copy
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from cryptography import x509
from kubernetes import client, config

from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all
from monitor.simulate.httpserver import server_tls_context, sim_server_identity
from monitor.simulate.kube.model import KubeWorld, render_kubernetes
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.simulate.spec import Node

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
TOKEN = "test-token-0123456789"

CERTS: dict[str, GeneratedCert] = generate_all(
    {
        "anchor-a": CertSpec("anchor-a", "root.linkerd.cluster.local", ca=True, path_len=1,
                             not_after="+3650d"),
        "anchor-b": CertSpec("anchor-b", "root-b.linkerd.cluster.local", ca=True,
                             not_after="+3650d"),
        "inter": CertSpec("inter", "intermediate.linkerd.cluster.local", ca=True,
                          signer="anchor-a"),
        "issuer": CertSpec("issuer", "identity.linkerd.cluster.local", ca=True, path_len=0,
                           signer="anchor-a", not_after="+48h"),
        "issuer-2": CertSpec("issuer-2", "identity.linkerd.cluster.local", ca=True,
                             path_len=0, signer="inter", not_after="+30d"),
    },
    NOW,
    "kube-tests",
)  # fmt: skip
CA, LEAF = sim_server_identity(NOW, "kube-tests")

BASE: dict[str, Any] = yaml.safe_load(
    """
serverVersion: v1.30.4
linkerd:
  version: stable-2.14.10
  anchors: [anchor-a, anchor-b]
  issuer: {cert: issuer}
namespaces:
  - {name: ingress, annotations: {linkerd.io/inject: enabled}}
  - {name: shop, labels: {team: web}}
workloads:
  - namespace: ingress
    name: nginx-ingress
    serviceAccount: nginx-ingress
    labels: {app: nginx-ingress, tier: edge}
    ports: [{name: https, containerPort: 8443}]
    pods:
      - {ip: 10.42.0.11}
      - {ip: 10.42.1.12, trustAnchors: [anchor-a]}
      - {ip: 10.42.2.13, ready: false, node: node-2}
  - namespace: shop
    name: web
    labels: {app: web, tier: backend}
    meshed: false
    ports: [{name: http, containerPort: 8080}]
    pods:
      - {ip: 10.42.3.21, node: node-3}
      - {ip: 10.42.3.22, phase: Succeeded, ready: false}
services:
  - namespace: ingress
    name: nginx-ingress
    selector: {app: nginx-ingress}
    ports: [{name: https, port: 443, targetPort: https}]
  - namespace: shop
    name: web
    selector: {app: web}
    ports: [{name: http, port: 80, targetPort: 8080}]
objects:
  - apiVersion: policy.linkerd.io/v1beta1
    kind: Server
    metadata: {name: nginx-https, namespace: ingress, labels: {app: nginx-ingress}}
    spec: {podSelector: {matchLabels: {app: nginx-ingress}}, port: https, proxyProtocol: TLS}
  - apiVersion: v1
    kind: Event
    metadata: {name: issuer-updated.1, namespace: linkerd}
    involvedObject: {kind: Deployment, name: linkerd-identity, namespace: linkerd}
    reason: IssuerUpdated
    type: Normal
    message: Updated identity issuer
    source: {component: linkerd-identity}
"""
)


def scenario(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


def linkerd(**changes: Any) -> dict[str, Any]:
    return {**copy.deepcopy(BASE["linkerd"]), **changes}


def render(doc: Mapping[str, Any]) -> KubeWorld:
    return render_kubernetes(Node(copy.deepcopy(dict(doc)), "kubernetes"), CERTS, NOW, TOKEN)


def find(world: KubeWorld, kind: str, name: str, namespace: str | None = None) -> dict[str, Any]:
    for obj in world.objects:
        meta = obj["metadata"]
        if obj["kind"] == kind and meta["name"] == name and meta.get("namespace") == namespace:
            return obj
    raise KeyError(f"{kind} {namespace}/{name}")


def pods_of(world: KubeWorld, namespace: str, prefix: str) -> list[dict[str, Any]]:
    return [
        o
        for o in world.objects
        if o["kind"] == "Pod"
        and o["metadata"]["namespace"] == namespace
        and o["metadata"]["name"].startswith(prefix + "-")
    ]


def env_of(pod: Mapping[str, Any], container: str, name: str) -> dict[str, Any]:
    spec = pod["spec"]
    for c in [*spec.get("initContainers", []), *spec["containers"]]:
        if c["name"] == container:
            for env in c.get("env", []):
                if env["name"] == name:
                    return dict(env)
    raise KeyError(f"{container} {name}")


def pem_certs(text: str) -> list[bytes]:
    from cryptography.hazmat.primitives import serialization

    return [
        c.public_bytes(serialization.Encoding.DER)
        for c in x509.load_pem_x509_certificates(text.encode())
    ]


def b64(text: str) -> str:
    return base64.b64decode(text).decode()


@contextlib.contextmanager
def serve(world: KubeWorld, tmp: Path) -> Iterator[tuple[SimulatedKubernetes, client.ApiClient]]:
    sim = SimulatedKubernetes(world, server_tls_context(LEAF), CA.pem)
    sim.start()
    try:
        sim.write_kubeconfig(tmp / "kubeconfig", CA.pem, namespace="linkerd")
        api = config.new_client_from_config(config_file=str(tmp / "kubeconfig"))
        try:
            yield sim, api
        finally:
            api.close()
    finally:
        sim.stop()
