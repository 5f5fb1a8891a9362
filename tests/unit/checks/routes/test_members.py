"""Tests for monitor.checks.routes.members: pool members against the backend's ready endpoints."""

from __future__ import annotations

import pytest

from monitor.model import Endpoint, F5State, Observed, SourceError
from tests.support.checkdata import (
    SHOP_POOL,
    SHOP_VIRTUAL,
    WEB,
    config,
    endpoint,
    f5,
    mesh,
    observed,
    pool,
    run_one,
    service,
    shop,
    shop_virtual,
)

ROUTE_CHECKS = ("pool_member_missing", "pool_member_extra", "pool_member_port_mismatch")
SVC = "ingress/nginx-ingress"


def with_members(name: str, *members: tuple[str, int]) -> F5State:
    return f5(name, pools={SHOP_POOL: pool(SHOP_POOL, *members)})


def with_endpoints(*endpoints: Endpoint) -> Observed:
    svc = service("ingress", "nginx-ingress", "443", *endpoints)
    return observed(mesh_state=mesh(services={SVC: svc}))


@pytest.mark.parametrize("check", ROUTE_CHECKS)
def test_healthy_pool_passes(check: str) -> None:
    st, findings = run_one(check, observed())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize("check", ROUTE_CHECKS)
def test_plaintext_boundary_gets_route_checks(check: str) -> None:
    st, findings = run_one(check, observed(), config(WEB))
    assert (st.boundary, st.state, findings) == ("web", "pass", ())


# --- pool_member_missing --------------------------------------------------------------------


def test_ready_endpoint_missing_from_pool_is_a_warning_on_each_device() -> None:
    obs = with_endpoints(
        endpoint("10.42.0.11", 443),
        endpoint("10.42.0.12", 443),
        endpoint("10.42.0.13", 443),
        endpoint("10.42.0.14", 443, ready=False),  # not ready: not expected in the pool
    )
    st, findings = run_one("pool_member_missing", obs)
    assert st.state == "warning"
    assert [(f.device, f.object, f.severity) for f in findings] == [
        ("bigip-a", "10.42.0.13:443", "warning"),
        ("bigip-b", "10.42.0.13:443", "warning"),
    ]
    assert findings[0].message == (
        f"bigip-a: pool {SHOP_POOL} lacks ready endpoint 10.42.0.13:443"
        " (pod ingress/pod-10-42-0-13) of Service ingress/nginx-ingress; BIG-IP sends it no"
        " traffic — add the member (or check the controller that syncs the pool)"
    )
    evidence = dict(findings[0].evidence)
    assert (evidence["pool"], evidence["endpoint"], evidence["ready_endpoints"]) == (
        SHOP_POOL,
        "10.42.0.13:443",
        "3",
    )


def test_port_is_part_of_the_endpoint() -> None:
    """A member at a ready endpoint's address on another port is only a port mismatch;
    a wrong address is missing + extra (test_match_members.py beside this
    file has the rest)."""
    obs = observed([with_members("bigip-a", ("10.42.0.11", 80), ("10.42.0.99", 443))])
    cfg = config(shop(devices=["bigip-a"]))
    missing, findings = run_one("pool_member_missing", obs, cfg)
    assert (missing.state, [f.object for f in findings]) == ("warning", ["10.42.0.12:443"])
    extra, findings = run_one("pool_member_extra", obs, cfg)
    assert (extra.state, [f.object for f in findings]) == ("warning", ["10.42.0.99:443"])
    mismatch, findings = run_one("pool_member_port_mismatch", obs, cfg)
    assert (mismatch.state, [f.object for f in findings]) == ("warning", ["10.42.0.11:80"])


def test_ipv6_addresses_compare_in_canonical_form() -> None:
    obs = observed(
        [with_members("bigip-a", ("fd00:0:0::a", 443))],
        mesh_state=mesh(
            services={SVC: service("ingress", "nginx-ingress", "443", endpoint("fd00::a", 443))}
        ),
    )
    cfg = config(shop(devices=["bigip-a"]))
    for check in ROUTE_CHECKS:
        st, findings = run_one(check, obs, cfg)
        assert (st.state, findings) == ("pass", ()), check


def test_ipv6_object_has_brackets() -> None:
    obs = observed(
        [with_members("bigip-a")],
        mesh_state=mesh(
            services={SVC: service("ingress", "nginx-ingress", "443", endpoint("fd00::a", 443))}
        ),
    )
    _, (f,) = run_one("pool_member_missing", obs, config(shop(devices=["bigip-a"])))
    assert f.object == "[fd00::a]:443"


# --- pool_member_extra ----------------------------------------------------------------------


def test_member_that_is_a_not_ready_endpoint() -> None:
    obs = with_endpoints(endpoint("10.42.0.11", 443), endpoint("10.42.0.12", 443, ready=False))
    st, findings = run_one("pool_member_extra", obs)
    assert st.state == "warning"
    assert [(f.device, f.object) for f in findings] == [
        ("bigip-a", "10.42.0.12:443"),
        ("bigip-b", "10.42.0.12:443"),
    ]
    assert findings[0].message == (
        f"bigip-a: pool {SHOP_POOL} member 10.42.0.12:443 is a not-ready endpoint"
        " (pod ingress/pod-10-42-0-12) of Service ingress/nginx-ingress; BIG-IP may send"
        " traffic to a pod that is not serving — disable or remove it"
    )
    assert dict(findings[0].evidence)["endpoint"] == "not-ready"


def test_member_unknown_to_the_service() -> None:
    obs = observed(
        [
            with_members("bigip-a", ("10.42.0.11", 443), ("10.42.0.12", 443), ("10.0.0.9", 443)),
            f5("bigip-b"),
        ]
    )
    st, findings = run_one("pool_member_extra", obs)
    assert st.state == "warning"
    (f,) = findings
    assert (f.device, f.object, f.severity) == ("bigip-a", "10.0.0.9:443", "warning")
    assert f.message == (
        f"bigip-a: pool {SHOP_POOL} member 10.0.0.9:443 is not an endpoint of Service"
        " ingress/nginx-ingress; BIG-IP may send traffic to a stale or foreign address"
        " — remove the member"
    )
    assert dict(f.evidence)["endpoint"] == "absent"


def test_duplicate_endpoint_ready_in_one_slice_counts_as_ready() -> None:
    obs = with_endpoints(
        endpoint("10.42.0.11", 443),
        endpoint("10.42.0.12", 443, ready=False),
        endpoint("10.42.0.12", 443),
    )
    for check in ROUTE_CHECKS:
        st, _ = run_one(check, obs)
        assert st.state == "pass", check


def test_empty_service_makes_every_member_extra() -> None:
    obs = with_endpoints()
    st, findings = run_one("pool_member_extra", obs)
    assert st.state == "warning"
    assert len(findings) == 4  # two members on each of two devices
    st, findings = run_one("pool_member_missing", obs)
    assert (st.state, findings) == ("pass", ())


# --- unknown causes -------------------------------------------------------------------------

UNKNOWN_CASES = [
    pytest.param(lambda: observed([f5("bigip-b")]), "bigip-a: could not be read", id="device"),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", failed=frozenset({"ltm/pool"})), f5("bigip-b")],
            errors={"bigip-a": (SourceError("timeout", "GET ltm/pool timed out", "ltm/pool"),)},
        ),
        "bigip-a: could not read ltm/pool (timeout)",
        id="pools-failed",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", failed=frozenset({"ltm/virtual"})), f5("bigip-b")]),
        "bigip-a: could not read ltm/virtual",
        id="virtuals-failed",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", virtuals={}), f5("bigip-b")]),
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        id="virtual-absent",
    ),
    pytest.param(
        lambda: observed(
            [f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(pool=None)}), f5("bigip-b")]
        ),
        f"bigip-a: virtual {SHOP_VIRTUAL} has no pool",
        id="virtual-without-pool",
    ),
    pytest.param(
        lambda: observed([f5("bigip-a", pools={}), f5("bigip-b")]),
        f"pool {SHOP_POOL} not found on bigip-a",
        id="pool-absent",
    ),
]


@pytest.mark.parametrize("check", ROUTE_CHECKS)
@pytest.mark.parametrize(("make", "detail"), UNKNOWN_CASES)
def test_device_input_unknown(check: str, make: object, detail: str) -> None:
    assert callable(make)
    st, findings = run_one(check, make())
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


@pytest.mark.parametrize("check", ROUTE_CHECKS)
@pytest.mark.parametrize("services", [{}, {SVC: None}], ids=["absent", "none"])
def test_service_unknown_makes_every_device_unknown(
    check: str, services: dict[str, object]
) -> None:
    st, findings = run_one(check, observed(mesh_state=mesh(services=services)))
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        "kubernetes: endpoints of Service ingress/nginx-ingress unknown",
        ("bigip-a", "bigip-b"),
        (),
    )


def test_configured_pool_needs_no_virtual() -> None:
    other = "/k8s/Shared/shop_pool"
    device = f5(
        "bigip-a", virtuals={}, failed=frozenset({"ltm/virtual"}), pools={other: pool(other)}
    )
    cfg = config(shop(devices=["bigip-a"], pool=other))
    st, findings = run_one("pool_member_missing", observed([device]), cfg)
    assert st.state == "warning"
    assert [f.object for f in findings] == ["10.42.0.11:443", "10.42.0.12:443"]
    assert all(f"pool {other} lacks" in f.message for f in findings)


@pytest.mark.parametrize("check", ROUTE_CHECKS)
def test_mixed_devices_finding_wins_and_unknown_part_is_listed(check: str) -> None:
    # 10.42.0.12:443 missing, 10.0.0.9:443 extra, 10.42.0.11:8443 on the wrong port
    drifting = with_members("bigip-a", ("10.42.0.11", 8443), ("10.0.0.9", 443))
    obs = observed([drifting, f5("bigip-b", failed=frozenset({"ltm/pool"}))])
    st, findings = run_one(check, obs)
    assert st.state == "warning"
    assert st.unknown_parts == ("bigip-b",)
    assert st.detail == "bigip-b: could not read ltm/pool"
    assert [f.device for f in findings] == ["bigip-a"]
