"""A simulated BIG-IP configuration at a chosen scale, and the fewest requests that read it.

`scaled_section(Scale(...))` builds a scenario `bigip:` section (docs/scenario.md) the
way F5 CIS lays a large cluster out: partitions `Common` and `k8s`, four objects in five
in the AS3 folder `/k8s/Shared/…`, the rest in `/Common`; pools with their members
(some in another partition than their pool, some IPv6, some with a route domain),
virtuals with a TCP, a client-ssl and a server-ssl profile (some disabled, some IPv6),
server-ssl profiles whose `caFile` is a ca-bundle-manager bundle of two trust anchors,
and distinct generated certificates. `render(scale)` renders it (`BigipWorld`);
`paged_minimum(world, device, collections, partitions, page_size)` counts, from what
the device really serves, the GETs a poll needs at the least: for every (collection,
partition) one per page, at least one, plus `cm/device` and `cm/sync-status`.
Used by `python -m bench` and by the fast scale test.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from monitor.simulate.bigip.model import BigipWorld, render_bigip
from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all
from monitor.simulate.spec import Node
from monitor.sources.f5.paging import pages_needed

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
USER = "monitor"
PASSWORD = "bench-password"
ANCHORS = 20
IDENTITY = "web.shop.serviceaccount.identity.linkerd.cluster.local"


@dataclass(frozen=True)
class Scale:
    virtuals: int = 5000
    pools: int = 5000
    members: int = 50000
    certs: int = 3000  # ssl-cert objects, the bundles of the ca-bundle-managers included
    managers: int = 10
    devices: int = 2

    def label(self) -> str:
        return (
            f"{self.virtuals:,} virtuals, {self.pools:,} pools, {self.members:,} members,"
            f" {self.certs:,} certificates, {self.devices} devices"
        )


def _folder(i: int) -> str:
    """Four objects in five in the CIS folder /k8s/Shared, the others in /Common."""
    return "Common" if i % 5 == 0 else "k8s/Shared"


def _ipv4(prefix: int, n: int) -> str:
    return f"{prefix}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def cert_specs(scale: Scale) -> dict[str, CertSpec]:
    files = scale.certs - scale.managers
    specs = {
        f"anchor-{i}": CertSpec(f"anchor-{i}", f"root-{i}.linkerd.cluster.local", ca=True)
        for i in range(min(ANCHORS, files))
    }
    for i in range(len(specs), files):
        specs[f"leaf-{i}"] = CertSpec(
            f"leaf-{i}", f"host-{i}.example.net", signer=f"anchor-{i % ANCHORS}"
        )
    return specs


def _cert_files(specs: dict[str, CertSpec]) -> list[dict[str, Any]]:
    out = []
    for i, cert_id in enumerate(specs):
        folder = "k8s/Shared" if cert_id.startswith("anchor-") else _folder(i)
        out.append({"path": f"/{folder}/{cert_id}.crt", "cert": cert_id})
    return out


def _pool(i: int, first_member: int, count: int) -> dict[str, Any]:
    folder = _folder(i)
    members = []
    for j in range(count):
        n = first_member + j
        member: dict[str, Any] = {"address": _ipv4(10, n), "port": 443}
        if i % 50 == 1:
            member["address"] = f"2001:db8::{n >> 16:x}:{n & 0xFFFF:x}"  # any n
        elif i % 100 == 2 and j == 0:
            member["address"] += "%2"  # a route domain
        if folder != "Common" and i % 7 == 3:
            member["partition"] = "Common"  # the node lives in another partition
        members.append(member)
    return {"path": f"/{folder}/pool_{i:05d}", "monitor": "/Common/https", "members": members}


def scaled_section(scale: Scale) -> tuple[dict[str, Any], dict[str, CertSpec]]:
    """The `bigip:` section and the certificate specs it names."""
    specs = cert_specs(scale)
    files = _cert_files(specs)
    anchors = [f["path"] for f in files if "/anchor-" in f["path"]]
    leaves = [f["path"] for f in files if "/leaf-" in f["path"]] or anchors
    managers = [
        {
            "path": f"/k8s/Shared/ca_bundle_{m:02d}",
            "includeBundle": sorted({anchors[m % len(anchors)], anchors[(m + 1) % len(anchors)]}),
        }
        for m in range(scale.managers)
    ]
    profiles = max(1, scale.virtuals // 10)
    server_ssl = []
    client_ssl = []
    for i in range(profiles):
        folder = _folder(i)
        leaf = leaves[i % len(leaves)]
        server_ssl.append(
            {
                "path": f"/{folder}/vs_{i:05d}_tls_client",
                "caFile": managers[i % len(managers)]["path"],
                "peerCertMode": "require",
                "serverName": IDENTITY,
                "authenticateName": IDENTITY,
                "cert": leaf,
                "key": leaf.removesuffix(".crt") + ".key",
                "tmOptions": ["dont-insert-empty-fragments"],
            }
        )
        client_ssl.append(
            {
                "path": f"/{folder}/vs_{i:05d}_tls_server",
                "certKeyChain": [{"cert": leaf, "key": leaf.removesuffix(".crt") + ".key"}],
                "sniDefault": True,
            }
        )
    per_pool, extra = divmod(scale.members, scale.pools)
    pools = []
    first = 0
    for i in range(scale.pools):
        count = per_pool + (1 if i < extra else 0)
        pools.append(_pool(i, first, count))
        first += count
    virtuals = []
    for i in range(scale.virtuals):
        folder = _folder(i)
        dest = f"2001:db8:1::{i:x}.443" if i % 50 == 7 else f"{_ipv4(172, (16 << 16) + i)}:443"
        virtuals.append(
            {
                "path": f"/{folder}/vs_{i:05d}",
                "destination": dest,
                "pool": pools[i % scale.pools]["path"],
                "enabled": i % 20 != 9,
                "profiles": [
                    {"path": "/Common/tcp", "context": "all"},
                    {"path": client_ssl[i % profiles]["path"]},
                    {"path": server_ssl[i % profiles]["path"]},
                ],
            }
        )
    devices = [
        {"name": f"bigip-{chr(ord('a') + d)}", "hostname": f"bigip-{chr(ord('a') + d)}.example.net"}
        for d in range(scale.devices)
    ]
    section = {
        "credentials": {"username": USER, "password": PASSWORD},
        "devices": devices,
        "config": {
            "partitions": ["Common", "k8s"],
            "sslCerts": files,
            "caBundleManagers": managers,
            "clientSslProfiles": client_ssl,
            "serverSslProfiles": server_ssl,
            "pools": pools,
            "virtuals": virtuals,
        },
    }
    return section, specs


def render(scale: Scale) -> tuple[BigipWorld, dict[str, GeneratedCert]]:
    section, specs = scaled_section(scale)
    certs = generate_all(specs, NOW, "bench")
    return render_bigip(Node(section, "bigip"), certs, NOW, PASSWORD), certs


def counts(world: BigipWorld, device: str, collection: str, partition: str | None) -> int:
    """Objects the device serves in `collection` (of `partition`; None: all)."""
    items = world.devices[device].collections.get(collection, [])
    if partition is None:
        return len(items)
    return sum(1 for item in items if item.get("partition") == partition)


def paged_minimum(
    world: BigipWorld,
    device: str,
    collections: Iterable[str],
    partitions: Iterable[str],
    page_size: int,
) -> int:
    """The fewest GETs that read everything a poll reads from `device` (no login)."""
    parts = tuple(partitions)
    total = sum(
        pages_needed(counts(world, device, c, p), page_size) for c in collections for p in parts
    )
    return total + pages_needed(counts(world, device, "cm/device", None), page_size) + 1
