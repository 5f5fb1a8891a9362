"""Shared plumbing for the simulated BIG-IP tests: a small world, a clock, clients.

`section()` is a `bigip:` scenario section covering every object kind the
simulator renders (an HA pair plus a standalone unit, folder objects, a bundle, a
ca-bundle-manager, both SSL profile kinds, pools with a route-domain member,
virtuals with built-in and SSL profiles); `running()` starts it on real TLS and
yields clients that trust the simulation CA.
"""

from __future__ import annotations

import copy
import functools
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from monitor.simulate.bigip.model import BigipWorld, render_bigip
from monitor.simulate.bigip.server import SimulatedBigip
from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all
from monitor.simulate.httpserver import server_tls_context, sim_server_identity
from monitor.simulate.spec import Node

NOW = datetime(2025, 1, 7, 12, 0, 0, tzinfo=UTC)
USER = "monitor"
PASSWORD = "s3cret-pw"
CERT_SPECS = {
    "public-root": CertSpec("public-root", "Public Root", ca=True, organization="Acme, Inc."),
    "anchor-a": CertSpec("anchor-a", "root.linkerd.cluster.local", ca=True, not_after="+400d"),
    # expires Jan 2 → a one-digit day in expirationString
    "edge-rsa": CertSpec(
        "edge-rsa",
        "shop.example.com",
        key="rsa-2048",
        signer="public-root",
        organization="Shop Ltd",
        not_after="+360d",
    ),
    "bigip-client": CertSpec(
        "bigip-client",
        "bigip.f5-edge.serviceaccount",
        sans=(
            "bigip.f5-edge.serviceaccount",
            "URI:spiffe://cluster.local/ns/f5-edge/sa/bigip",
            "IP:2001:db8::5",
        ),
        signer="anchor-a",
    ),
}


@functools.cache
def certs() -> dict[str, GeneratedCert]:
    return generate_all(CERT_SPECS, NOW, "test-sim-bigip")


@functools.cache
def _tls() -> tuple[str, ssl.SSLContext]:
    ca, server = sim_server_identity(NOW, "test-sim-bigip")
    return ca.pem, server_tls_context(server)


def section() -> dict[str, Any]:
    """A fresh copy of the test scenario's `bigip:` section."""
    return copy.deepcopy(_SECTION)


_SECTION: dict[str, Any] = {
    "credentials": {"username": USER, "password": PASSWORD},
    "tokenTimeout": 1200,
    "devices": [
        {
            "name": "solo",
            "hostname": "solo.example.net",
            "bashAllowed": True,
            "syncStatus": {
                "status": "Standalone",
                "color": "green",
                "mode": "standalone",
                "summary": " ",
                "details": ["Optional action: Add a device to the trust domain"],
            },
        },
        {"name": "ha-a", "hostname": "ha-a.example.net", "configsyncIp": "10.2.2.2"},
        {"name": "ha-b", "hostname": "ha-b.example.net", "failoverState": "standby"},
    ],
    "config": {
        "partitions": ["Common", "k8s"],
        "sslCerts": [
            {"path": "/Common/edge.crt", "cert": "edge-rsa"},
            {"path": "/Common/legacy_bundle.crt", "bundle": ["anchor-a", "public-root"]},
            {"path": "/k8s/Shared/linkerd_anchor_a.crt", "cert": "anchor-a"},
            {"path": "/k8s/Shared/bigip_client.crt", "cert": "bigip-client"},
        ],
        "caBundleManagers": [
            {
                "path": "/k8s/Shared/serverssl_ca_bundle",
                "includeBundle": ["/k8s/Shared/linkerd_anchor_a.crt", "/Common/legacy_bundle.crt"],
            }
        ],
        "clientSslProfiles": [
            {
                "path": "/Common/edge_clientssl",
                "certKeyChain": [
                    {"name": "default", "cert": "/Common/edge.crt", "key": "/Common/edge.key"}
                ],
            },
            {
                "path": "/k8s/Shared/shop_443_tls_server",
                "certKeyChain": [{"cert": "/Common/edge.crt", "key": "/Common/edge.key"}],
                "serverName": "shop.example.com",
                "sniDefault": True,
            },
        ],
        "serverSslProfiles": [
            {
                "path": "/Common/chain_serverssl",
                "chain": "/Common/edge.crt",
                "tmOptions": ["dont-insert-empty-fragments"],
            },
            {
                "path": "/k8s/Shared/shop_443_tls_client",
                "caFile": "/k8s/Shared/serverssl_ca_bundle",
                "peerCertMode": "require",
                "serverName": "nginx.ingress.serviceaccount.identity.linkerd.cluster.local",
                "authenticateName": "nginx.ingress.serviceaccount.identity.linkerd.cluster.local",
                "cert": "/k8s/Shared/bigip_client.crt",
                "key": "/k8s/Shared/bigip_client.key",
            },
        ],
        "pools": [
            {
                "path": "/Common/edge_pool",
                "monitor": "min 1 of { /Common/https /Common/tcp }",
                "description": "edge pool",
                "members": [
                    {
                        "address": "192.0.2.50",
                        "port": 8080,
                        "session": "user-disabled",
                        "state": "up",
                    }
                ],
            },
            {
                "path": "/k8s/Shared/nginx_ingress_443",
                "monitor": "/Common/https",
                "members": [
                    {"address": "10.42.0.11", "port": 443},
                    {"address": "10.42.1.12", "port": 443},
                    {"address": "10.0.0.1%2", "port": 443, "state": "down"},
                ],
            },
        ],
        "virtuals": [
            {
                "path": "/Common/edge_vs",
                "destination": "10.10.10.10:443",
                "pool": "/Common/edge_pool",
                "description": "edge virtual server",
                "profiles": [
                    {"path": "/Common/edge_clientssl", "context": "clientside"},
                    {"path": "/Common/http"},
                    {"path": "/Common/tcp", "context": "clientside"},
                ],
            },
            {
                "path": "/k8s/Shared/shop_443",
                "destination": "203.0.113.10:443",
                "pool": "/k8s/Shared/nginx_ingress_443",
                "enabled": False,
                "profiles": [
                    {"path": "/Common/f5-tcp-progressive", "context": "all"},
                    {"path": "/k8s/Shared/shop_443_tls_server"},
                    {"path": "/k8s/Shared/shop_443_tls_client"},
                ],
            },
        ],
    },
}


class FakeClock:
    """A wall clock (epoch seconds) that moves only when told to."""

    def __init__(self, start: float = NOW.timestamp() + 3600) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def render(sec: dict[str, Any] | None = None, password: str = "generated") -> BigipWorld:
    return render_bigip(Node(section() if sec is None else sec, "bigip"), certs(), NOW, password)


@dataclass
class Running:
    sim: SimulatedBigip
    ca_pem: str
    clock: FakeClock

    def client(self, device: str = "solo", **kwargs: Any) -> httpx.Client:
        ctx = ssl.create_default_context(cadata=self.ca_pem)
        return httpx.Client(base_url=self.sim.url(device), verify=ctx, timeout=10, **kwargs)

    def login(self, client: httpx.Client) -> dict[str, str]:
        r = client.post(
            "/mgmt/shared/authn/login",
            json={"username": USER, "password": PASSWORD, "loginProviderName": "tmos"},
        )
        assert r.status_code == 200, r.text
        return {"X-F5-Auth-Token": r.json()["token"]["token"]}


@contextmanager
def running(world: BigipWorld | None = None) -> Iterator[Running]:
    ca_pem, tls = _tls()
    clock = FakeClock()
    sim = SimulatedBigip(world or render(), tls, clock=clock)
    sim.start()
    try:
        yield Running(sim, ca_pem, clock)
    finally:
        sim.stop()
