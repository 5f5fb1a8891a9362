"""Tests for monitor.policy.identities: what a MeshTLSAuthentication entry names."""

from __future__ import annotations

import pytest

from monitor.policy.identities import IdentityName, name_of

SUFFIX = "serviceaccount.identity.linkerd.cluster.local"


@pytest.mark.parametrize(
    ("identity", "named"),
    [
        ("*", IdentityName("any")),
        (f"*.{SUFFIX}", IdentityName("any")),
        ("*.cluster.local", IdentityName("any")),
        ("*.identity.linkerd.cluster.local", IdentityName("any")),
        (f"bigip.f5-edge.{SUFFIX}", IdentityName("account", "f5-edge", "bigip")),
        (f"BIGIP.F5-Edge.{SUFFIX}", IdentityName("account", "f5-edge", "bigip")),
        (f"my.sa.shop.{SUFFIX}", IdentityName("account", "shop", "my.sa")),  # dots in names
        (f"*.shop.{SUFFIX}", IdentityName("namespace", "shop")),
        (f"*.canary.shop.{SUFFIX}", IdentityName("accounts", "shop", "canary")),
        (f"shop.{SUFFIX}", IdentityName("impossible")),  # no ServiceAccount part
        ("web.identity.linkerd.cluster.local", IdentityName("impossible")),
        ("*.web.identity.linkerd.cluster.local", IdentityName("impossible")),
        ("web.shop.serviceaccount.identity.linkerd.east.example", IdentityName("foreign")),
        ("web.shop.serviceaccount.identity.linkerd-b.cluster.local", IdentityName("foreign")),
        ("spiffe://root.linkerd.cluster.local/external-workload", IdentityName("spiffe")),
    ],
)
def test_name_of(identity: str, named: IdentityName) -> None:
    assert name_of(identity, "linkerd", "cluster.local") == named


def test_the_control_plane_namespace_and_trust_domain_are_the_configured_ones() -> None:
    identity = "web.shop.serviceaccount.identity.l5d.example.org"
    assert name_of(identity, "l5d", "example.org") == IdentityName("account", "shop", "web")
    assert name_of(identity, "linkerd", "cluster.local") == IdentityName("foreign")
