"""The full-cycle benchmark's world: both BIG-IPs at the design's scale, a meshed cluster.

`scenario(CycleScale(...))` builds one scenario document (docs/scenario.md) that
`monitor.simulate.world.World` serves as it is, with an `expected:` section, so the
config the world writes is the one the monitor runs with:
- BIG-IP: an HA pair in sync (bash-capable role, `bundleReader: auto`, as a default
  install). `boundaries` boundaries each have their own virtual, pool, server-ssl and
  client-ssl profile; the rest of the design's scale (virtuals, pools, members,
  certificates in total) is filled with `bench.world`'s CIS-like objects, which no
  boundary names;
- mesh: Linkerd stable-2.14 with one trust anchor and its issuer, `namespaces` backend
  namespaces, one Deployment + Service per boundary (`pods` pods in all, one
  EndpointSlice each as the controller splits them), and per Service a Server and an
  AuthorizationPolicy admitting BIG-IP's client identity through a MeshTLSAuthentication
  (its ServiceAccount exists, in namespace f5-edge, so `policy_identity_unknown` passes);
- each boundary's pool holds its backend's pod IPs; every `drift`-th boundary also has a
  member that is no endpoint (a `pool_member_extra` finding on each device), so the
  findings, the page and the JSON are not empty. Everything else passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.world import Scale, scaled_section

TRUST_DOMAIN = "cluster.local"
CLIENT_ID = "bigip.f5-edge.serviceaccount.identity.linkerd.cluster.local"
HA_GROUP = "edge-pair-1"
SHARED = "/k8s/Shared"
# ssl-cert objects the boundaries add: anchor, issuer, BIG-IP client cert, edge cert, edge
# chain bundle, and the server-ssl CA bundle the ca-bundle-manager materialises.
BOUNDARY_CERTS = 6


@dataclass(frozen=True)
class CycleScale:
    bigip: Scale = field(default_factory=Scale)  # totals per device, boundaries included
    boundaries: int = 200
    namespaces: int = 20
    pods: int = 20000  # backend pods (= endpoints = boundary pool members) in all
    drift: int = 25  # every n-th boundary has one stale pool member; 0 = none

    @property
    def pods_per_service(self) -> int:
        return max(1, self.pods // self.boundaries)

    def filler(self) -> Scale:
        """What `bench.world` adds besides the boundaries' own objects."""
        b = self.bigip
        return Scale(
            virtuals=max(1, b.virtuals - self.boundaries),
            pools=max(1, b.pools - self.boundaries),
            members=max(1, b.members - self.boundaries * self.pods_per_service),
            certs=max(b.managers + 1, b.certs - BOUNDARY_CERTS),
            managers=b.managers,
            devices=b.devices,
        )

    def label(self) -> str:
        return (
            f"{self.bigip.label()}; {self.boundaries:,} boundaries; {self.boundaries:,}"
            f" meshed Services with {self.pods_per_service * self.boundaries:,} pods in"
            f" {self.namespaces} namespaces"
        )


def _app(i: int) -> str:
    return f"app-{i:03d}"


def _namespace(scale: CycleScale, i: int) -> str:
    return f"team-{i % scale.namespaces:02d}"


def _pod_ip(n: int) -> str:
    return f"10.{128 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def identity(scale: CycleScale, i: int) -> str:
    return f"{_app(i)}.{_namespace(scale, i)}.serviceaccount.identity.linkerd.{TRUST_DOMAIN}"


def _certificates(filler: dict[str, Any]) -> dict[str, Any]:
    certs: dict[str, Any] = {
        "mesh-anchor": {
            "cn": "root.linkerd.cluster.local",
            "ca": True,
            "pathLen": 1,
            "notBefore": "-30d",
            "notAfter": "+3650d",
        },
        "mesh-issuer": {
            "cn": "identity.linkerd.cluster.local",
            "signer": "mesh-anchor",
            "ca": True,
            "pathLen": 0,
            "notAfter": "+364d",
        },
        "bigip-client": {
            "cn": CLIENT_ID,
            "sans": [CLIENT_ID],
            "signer": "mesh-issuer",
            "notAfter": "+89d",
        },
        "edge-root": {
            "cn": "Example Public Root CA",
            "ca": True,
            "notBefore": "-1000d",
            "notAfter": "+2650d",
        },
        "edge-issuing": {
            "cn": "Example TLS Issuing CA 2",
            "signer": "edge-root",
            "ca": True,
            "pathLen": 0,
            "notBefore": "-400d",
            "notAfter": "+1425d",
        },
        "apps-edge": {
            "cn": "apps.example.com",
            "sans": ["*.apps.example.com"],
            "signer": "edge-issuing",
            "notAfter": "+200d",
        },
    }
    for cert_id, spec in filler.items():
        certs[cert_id] = {"cn": spec.cn, "ca": spec.ca, "signer": spec.signer}
    return certs


def _boundary_objects(scale: CycleScale, i: int) -> dict[str, dict[str, Any]]:
    """The BIG-IP objects of boundary `i` (same on both devices)."""
    base = f"{SHARED}/{_app(i).replace('-', '_')}_443"
    first = i * scale.pods_per_service
    members = [{"address": _pod_ip(first + j), "port": 443} for j in range(scale.pods_per_service)]
    if scale.drift and i % scale.drift == 0:
        members.append({"address": f"10.127.0.{i % 250 + 1}", "port": 443})
    return {
        "virtual": {
            "path": base,
            "destination": f"203.0.{113 + (i >> 8)}.{i & 255}:443",
            "pool": f"{base}_pool",
            "profiles": [
                {"path": "/Common/f5-tcp-progressive", "context": "all"},
                {"path": "/Common/http", "context": "all"},
                {"path": f"{base}_tls_server", "context": "clientside"},
                {"path": f"{base}_tls_client", "context": "serverside"},
            ],
        },
        "pool": {"path": f"{base}_pool", "monitor": "/Common/https", "members": members},
        "client": {
            "path": f"{base}_tls_server",
            "certKeyChain": [
                {
                    "name": "apps_edge",
                    "cert": f"{SHARED}/apps_edge.crt",
                    "key": f"{SHARED}/apps_edge.key",
                    "chain": f"{SHARED}/apps_edge_chain.crt",
                }
            ],
            "serverName": f"{_app(i)}.apps.example.com",
            "sniDefault": True,
        },
        "server": {
            "path": f"{base}_tls_client",
            "caFile": f"{SHARED}/serverssl_ca_bundle",
            "peerCertMode": "require",
            "serverName": identity(scale, i),
            "authenticateName": identity(scale, i),
            "cert": f"{SHARED}/bigip_client.crt",
            "key": f"{SHARED}/bigip_client.key",
            "chain": f"{SHARED}/linkerd_issuer.crt",
            "tmOptions": ["dont-insert-empty-fragments"],
            "expireCertResponseControl": "drop",
            "untrustedCertResponseControl": "drop",
        },
    }


def _bigip(scale: CycleScale) -> tuple[dict[str, Any], dict[str, Any]]:
    section, specs = scaled_section(scale.filler())
    config = section["config"]
    config["sslCerts"] = [
        {"path": f"{SHARED}/linkerd_anchor.crt", "cert": "mesh-anchor"},
        {"path": f"{SHARED}/linkerd_issuer.crt", "cert": "mesh-issuer"},
        {"path": f"{SHARED}/bigip_client.crt", "cert": "bigip-client"},
        {"path": f"{SHARED}/apps_edge.crt", "cert": "apps-edge"},
        {"path": f"{SHARED}/apps_edge_chain.crt", "bundle": ["edge-issuing"]},
        *config["sslCerts"],
    ]
    config["caBundleManagers"].append(
        {"path": f"{SHARED}/serverssl_ca_bundle", "includeBundle": [f"{SHARED}/linkerd_anchor.crt"]}
    )
    objects = [_boundary_objects(scale, i) for i in range(scale.boundaries)]
    for key, kind in (
        ("virtual", "virtuals"),
        ("pool", "pools"),
        ("client", "clientSslProfiles"),
        ("server", "serverSslProfiles"),
    ):
        config[kind] = [o[key] for o in objects] + config[kind]
    insync = {
        "status": "In Sync",
        "color": "green",
        "mode": "high-availability",
        "summary": "All devices in the device group are in sync",
        "details": [f"{d['hostname']}: connected" for d in section["devices"]]
        + [f"{HA_GROUP} (In Sync): All devices in the device group are in sync"],
    }
    for n, device in enumerate(section["devices"]):
        device.update(
            failoverState="active" if n == 0 else "standby", bashAllowed=True, syncStatus=insync
        )
    section["credentials"] = {"username": "monitor"}
    return section, specs


def _kubernetes(scale: CycleScale) -> dict[str, Any]:
    names = sorted({_namespace(scale, i) for i in range(scale.boundaries)})
    workloads, services, objects = [], [], []
    for ns in names:
        objects.append(
            {
                "apiVersion": "policy.linkerd.io/v1alpha1",
                "kind": "MeshTLSAuthentication",
                "metadata": {"name": "f5-edge", "namespace": ns},
                "spec": {"identities": [CLIENT_ID]},
            }
        )
    for i in range(scale.boundaries):
        app, ns, first = _app(i), _namespace(scale, i), i * scale.pods_per_service
        pods = [{"ip": _pod_ip(first + j)} for j in range(scale.pods_per_service)]
        workloads.append(
            {
                "namespace": ns,
                "name": app,
                "serviceAccount": app,
                "labels": {"app": app},
                "ports": [{"name": "https", "containerPort": 443}],
                "pods": pods,
            }
        )
        services.append(
            {
                "namespace": ns,
                "name": app,
                "selector": {"app": app},
                "ports": [{"name": "https", "port": 443, "targetPort": "https"}],
            }
        )
        objects += [
            {
                "apiVersion": "policy.linkerd.io/v1beta1",
                "kind": "Server",
                "metadata": {"name": f"{app}-https", "namespace": ns},
                "spec": {
                    "podSelector": {"matchLabels": {"app": app}},
                    "port": "https",
                    "proxyProtocol": "opaque",
                },
            },
            {
                "apiVersion": "policy.linkerd.io/v1alpha1",
                "kind": "AuthorizationPolicy",
                "metadata": {"name": f"{app}-from-f5", "namespace": ns},
                "spec": {
                    "targetRef": {
                        "group": "policy.linkerd.io",
                        "kind": "Server",
                        "name": f"{app}-https",
                    },
                    "requiredAuthenticationRefs": [
                        {
                            "group": "policy.linkerd.io",
                            "kind": "MeshTLSAuthentication",
                            "name": "f5-edge",
                        }
                    ],
                },
            },
        ]
    return {
        "serverVersion": "v1.30.4",
        "linkerd": {
            "version": "stable-2.14.10",
            "trustDomain": TRUST_DOMAIN,
            "anchors": ["mesh-anchor"],
            "issuer": {"scheme": "linkerd.io/tls", "cert": "mesh-issuer"},
            "defaultInboundPolicy": "all-unauthenticated",
        },
        "namespaces": [
            *({"name": ns, "annotations": {"linkerd.io/inject": "enabled"}} for ns in names),
            {"name": "f5-edge", "serviceAccounts": ["bigip"]},  # BIG-IP's client identity
        ],
        "workloads": workloads,
        "services": services,
        "objects": objects,
    }


def scenario(scale: CycleScale) -> dict[str, Any]:
    """The whole scenario document, `expected:` (the monitor's config) included."""
    bigip, filler_specs = _bigip(scale)
    devices = [d["name"] for d in bigip["devices"]]
    boundaries = [
        {
            "name": f"b-{i:03d}",
            "mode": "mesh-tls",
            "devices": devices,
            "virtual": f"{SHARED}/{_app(i).replace('-', '_')}_443",
            "backend": {
                "service": {"namespace": _namespace(scale, i), "name": _app(i), "port": 443},
                "identity": "auto",
            },
            "clientIdentity": CLIENT_ID,
        }
        for i in range(scale.boundaries)
    ]
    return {
        "name": "bench-cycle",
        "description": "full-cycle benchmark: " + scale.label(),
        "seed": "bench",
        "certificates": _certificates(filler_specs),
        "bigip": bigip,
        "kubernetes": _kubernetes(scale),
        "expected": {
            # 20 backend namespaces: each kind watched once (docs/configuration.md)
            "mesh": {"watchScope": "cluster"},
            "bigip": [{"name": d, "haGroup": HA_GROUP} for d in devices],
            "boundaries": boundaries,
        },
    }
