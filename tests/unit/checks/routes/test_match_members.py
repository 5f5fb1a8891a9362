"""Tests for the pool-member matching (monitor.checks.matching) and the member checks of
monitor.checks.routes.members built on it: missing, extra and port mismatch are one matching."""

from __future__ import annotations

import pytest

from monitor.checks.matching import match_members
from monitor.model import Endpoint, Pool
from tests.support.checkdata import (
    SHOP_POOL,
    config,
    endpoint,
    f5,
    mesh,
    observed,
    pool,
    run_one,
    service,
    shop,
)

MEMBER_CHECKS = ("pool_member_missing", "pool_member_extra", "pool_member_port_mismatch")
ONE = config(shop(devices=["bigip-a"]))
SVC = "ingress/nginx-ingress"

# (members, endpoints (address, port, ready), expected objects: missing, extra, mismatch)
Case = tuple[
    tuple[tuple[str, int], ...],
    tuple[tuple[str, int, bool], ...],
    tuple[list[str], list[str], list[str]],
]
CASES: dict[str, Case] = {
    "exact": ((("10.0.0.1", 443),), (("10.0.0.1", 443, True),), ([], [], [])),
    "wrong port only": ((("10.0.0.1", 80),), (("10.0.0.1", 443, True),), ([], [], ["10.0.0.1:80"])),
    "two wrong ports": (
        (("10.0.0.1", 80), ("10.0.0.1", 8080)),
        (("10.0.0.1", 443, True),),
        ([], [], ["10.0.0.1:80", "10.0.0.1:8080"]),
    ),
    "wrong address": (
        (("10.0.0.9", 443),),
        (("10.0.0.1", 443, True),),
        (["10.0.0.1:443"], ["10.0.0.9:443"], []),
    ),
    "not-ready endpoint": (
        (("10.0.0.1", 443),),
        (("10.0.0.1", 443, False),),
        ([], ["10.0.0.1:443"], []),
    ),
    "not-ready address, other port": (
        (("10.0.0.1", 80),),
        (("10.0.0.1", 443, False),),
        ([], ["10.0.0.1:80"], []),
    ),
    "member at a not-ready port of a ready address": (
        (("10.0.0.1", 80),),
        (("10.0.0.1", 443, True), ("10.0.0.1", 80, False)),
        (["10.0.0.1:443"], ["10.0.0.1:80"], []),
    ),
    "one port right, another endpoint port missing": (
        (("10.0.0.1", 443),),
        (("10.0.0.1", 443, True), ("10.0.0.1", 8443, True)),
        (["10.0.0.1:8443"], [], []),
    ),
    "ipv6 wrong port": (
        (("fd00:0::1", 80),),
        (("fd00::1", 443, True),),
        ([], [], ["[fd00::1]:80"]),
    ),
    "empty pool": ((), (("10.0.0.1", 443, True),), (["10.0.0.1:443"], [], [])),
    "empty service": ((("10.0.0.1", 443),), (), ([], ["10.0.0.1:443"], [])),
}


def build(case: Case) -> tuple[Pool, list[Endpoint]]:
    members, endpoints, _ = case
    eps = [endpoint(a, p, ready=r) for a, p, r in endpoints]
    return pool(SHOP_POOL, *members), eps


@pytest.mark.parametrize("name", list(CASES))
def test_matching_reports_each_member_and_endpoint_once(name: str) -> None:
    case = CASES[name]
    members, eps = build(case)
    found = match_members(service("ingress", "nginx-ingress", "443", *eps), members)
    missing, extra, mismatch = case[2]
    assert [k for k, _ in found.missing] == missing
    assert [k for k, _, _ in found.extra] == extra
    assert [k for k, _, _ in found.port_mismatch] == mismatch


@pytest.mark.parametrize("name", list(CASES))
def test_the_three_checks_agree_with_the_matching(name: str) -> None:
    case = CASES[name]
    members, eps = build(case)
    obs = observed(
        [f5("bigip-a", pools={SHOP_POOL: members})],
        mesh(services={SVC: service("ingress", "nginx-ingress", "443", *eps)}),
    )
    objects = []
    for check in MEMBER_CHECKS:
        st, findings = run_one(check, obs, ONE)
        assert st.state == ("warning" if findings else "pass"), check
        assert all(f.severity == "warning" for f in findings)
        objects.append([f.object for f in findings])
    assert tuple(objects) == case[2]
    # no member is reported twice, and a port mismatch hides its endpoint from "missing"
    reported_members = objects[1] + objects[2]
    assert len(reported_members) == len(set(reported_members))


def test_port_mismatch_message_and_evidence() -> None:
    obs = observed(
        [f5("bigip-a", pools={SHOP_POOL: pool(SHOP_POOL, ("10.42.0.11", 80), ("10.42.0.12", 443))})]
    )
    st, (f,) = run_one("pool_member_port_mismatch", obs, ONE)
    assert (st.state, f.device, f.object) == ("warning", "bigip-a", "10.42.0.11:80")
    assert f.message == (
        f"bigip-a: pool {SHOP_POOL} member 10.42.0.11:80 points at ready endpoint 10.42.0.11"
        " (pod ingress/pod-10-42-0-11) of Service ingress/nginx-ingress on port 80, but the"
        " endpoint serves port 443; BIG-IP's traffic misses the pod's serving port — set the"
        " member's port to 443"
    )
    evidence = dict(f.evidence)
    assert (evidence["member_port"], evidence["endpoint_ports"]) == ("80", "443")
    assert evidence["pod"] == "ingress/pod-10-42-0-11"


def test_port_mismatch_unknowns_follow_the_member_checks() -> None:
    st, _ = run_one("pool_member_port_mismatch", observed(mesh_state=mesh(services={})))
    assert (st.state, st.unknown_parts) == ("unknown", ("bigip-a", "bigip-b"))
    st, _ = run_one("pool_member_port_mismatch", observed([f5("bigip-a", pools={})]), ONE)
    assert (st.state, st.detail) == ("unknown", f"pool {SHOP_POOL} not found on bigip-a")
