"""Tests for monitor.checks.routes.mesh: `pool_member_unmeshed` and `open_onramp`."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.model import MeshState
from tests.support.checkdata import (
    NOW,
    SHOP,
    WEB,
    WEB_SERVICE,
    config,
    endpoint,
    healthy_pods,
    mesh,
    observed,
    policy_from,
    run_one,
    service,
)

SVC = "ingress/nginx-ingress"
WEB_CFG = config(WEB)
WEB_POD = "web/pod-10-42-1-5"


def states(check: str, cfg: Any) -> list[str]:
    chosen = tuple(c for c in CHECKS if c.id == check)
    return [s.boundary for s in run_checks(cfg, observed(), NOW, checks=chosen).states]


def test_each_applies_to_its_mode_only() -> None:
    assert states("pool_member_unmeshed", config(SHOP, WEB)) == ["shop"]
    assert states("open_onramp", config(SHOP, WEB)) == ["web"]


# --- pool_member_unmeshed ---------------------------------------------------------------------


def shop_endpoints(*endpoints: Any) -> MeshState:
    return mesh(services={SVC: service("ingress", "nginx-ingress", "443", *endpoints)})


def test_healthy_pods_are_meshed() -> None:
    st, findings = run_one("pool_member_unmeshed", observed())
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


def test_unmeshed_ready_pod_is_critical_on_the_mesh_side() -> None:
    mesh_state = shop_endpoints(
        endpoint("10.42.0.11", 443),
        endpoint("10.42.0.12", 443, meshed=False),
        endpoint("10.42.0.13", 443, meshed=False, ready=False),  # not ready: not judged
    )
    st, (f,) = run_one("pool_member_unmeshed", observed(mesh_state=mesh_state))
    assert (st.state, f.device, f.object, f.severity) == (
        "critical",
        "",
        "ingress/pod-10-42-0-12",
        "critical",
    )
    assert f.message == (
        "pod ingress/pod-10-42-0-12 (10.42.0.12:443), a ready endpoint of Service"
        " ingress/nginx-ingress, runs no linkerd-proxy: BIG-IP's SNI/mTLS hop to it cannot work"
        " (nothing answers with a mesh identity) — inject the proxy (linkerd.io/inject:"
        " enabled) and restart the pod"
    )
    assert dict(f.evidence)["service_account"] == "nginx-ingress"


def test_unmeshed_endpoint_without_a_pod_is_named_by_address() -> None:
    bare = dataclasses.replace(endpoint("10.42.0.12", 443, meshed=False), pod=None)
    _, (f,) = run_one("pool_member_unmeshed", observed(mesh_state=shop_endpoints(bare)))
    assert f.object == "10.42.0.12:443"


def test_meshed_unknown_is_unknown() -> None:
    mesh_state = shop_endpoints(endpoint("10.42.0.11", 443, meshed=None))
    st, findings = run_one("pool_member_unmeshed", observed(mesh_state=mesh_state))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("",), ())
    assert st.detail == (
        "kubernetes: whether pod ingress/pod-10-42-0-11 of Service ingress/nginx-ingress runs"
        " linkerd-proxy is unknown"
    )


def test_unmeshed_finding_wins_over_an_unknown_pod() -> None:
    mesh_state = shop_endpoints(
        endpoint("10.42.0.11", 443, meshed=None), endpoint("10.42.0.12", 443, meshed=False)
    )
    st, _ = run_one("pool_member_unmeshed", observed(mesh_state=mesh_state))
    assert (st.state, st.unknown_parts) == ("critical", ("",))


def test_unmeshed_needs_the_service() -> None:
    st, _ = run_one("pool_member_unmeshed", observed(mesh_state=mesh(services={})))
    assert (st.state, st.unknown_parts) == ("unknown", ("",))
    assert st.detail == "kubernetes: endpoints of Service ingress/nginx-ingress unknown"


def test_unmeshed_does_not_need_any_bigip() -> None:
    st, _ = run_one("pool_member_unmeshed", observed([]))
    assert st.state == "pass"


# --- open_onramp ------------------------------------------------------------------------------

SERVER = """
apiVersion: policy.linkerd.io/v1beta3
kind: Server
metadata: {namespace: web, name: web-http}
spec: {podSelector: {matchLabels: {app: web}}, port: http, accessPolicy: %s}
"""


def onramp(policy: Any = None, **changes: Any) -> tuple[Any, Any]:
    mesh_changes = {"policy": policy} if policy is not None else {}
    return run_one("open_onramp", observed(mesh_state=mesh(**mesh_changes, **changes)), WEB_CFG)


def test_snat_allow_list_is_not_an_onramp() -> None:
    st, findings = onramp()
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


@pytest.mark.parametrize(
    ("text", "default", "via"),
    [
        ("", "all-unauthenticated", "default policy all-unauthenticated (cluster default)"),
        ("", "audit", "default policy audit (cluster default)"),
        (SERVER % "all-unauthenticated", "deny", "Server web/web-http accessPolicy"),
    ],
    ids=["default-all-unauthenticated", "default-audit", "server-access-policy"],
)
def test_open_to_everyone_is_a_warning(text: str, default: str, via: str) -> None:
    st, (f,) = onramp(policy_from(text, default))
    assert (st.state, f.device, f.severity) == ("warning", "", "warning")
    assert f.object.startswith(via)
    assert f.message.startswith(
        f"Plaintext clients from any outside address reach {WEB_POD} port 80: Service web/web"
        " behind plaintext boundary web is an open on-ramp ("
    )
    assert f.message.endswith(
        "that anyone who can route to the pods may use — admit only BIG-IP's SNAT/self"
        " addresses (a NetworkAuthentication referenced by an AuthorizationPolicy on a Server),"
        " or make the boundary mesh-tls"
    )
    assert dict(f.evidence)["pods"] == WEB_POD


@pytest.mark.parametrize(
    ("text", "default"),
    [
        ("", "cluster-unauthenticated"),
        ("", "all-authenticated"),
        ("", "deny"),
        (SERVER % "deny", "all-unauthenticated"),
    ],
    ids=["cluster-unauthenticated", "all-authenticated", "deny", "server-deny"],
)
def test_narrower_policies_are_not_an_onramp(text: str, default: str) -> None:
    st, findings = onramp(policy_from(text, default))
    assert (st.state, findings) == ("pass", ())


def test_unmeshed_pod_is_open_with_the_decisions_wording() -> None:
    pods = {k: dataclasses.replace(v, meshed=False) for k, v in healthy_pods().items()}
    st, (f,) = onramp(pods=pods)
    assert (st.state, f.object) == ("warning", "pod not meshed: no Linkerd proxy")
    assert f.message.startswith(
        f"Pod {WEB_POD} has no linkerd-proxy, so no Linkerd policy applies to it: Service"
    )


def test_pods_opened_alike_are_one_finding() -> None:
    endpoints = (
        endpoint("10.42.1.5", 80, sa="web", namespace="web"),
        endpoint("10.42.1.6", 80, sa="web", namespace="web"),
    )
    svc = service("web", "web", "http", *endpoints)
    pods = healthy_pods()
    pods["web/pod-10-42-1-6"] = dataclasses.replace(pods[WEB_POD], name="pod-10-42-1-6")
    policy = policy_from("", "all-unauthenticated")
    _, (f,) = onramp(policy, pods=pods, services={"web/web": svc})
    assert "(1 more pod alike)" in f.message
    assert dict(f.evidence)["pods"] == f"{WEB_POD}, web/pod-10-42-1-6"


@pytest.mark.parametrize(
    ("changes", "detail"),
    [
        ({"policy": None}, "kubernetes: Linkerd policy of the backend namespaces unknown"),
        ({"services": {}}, "kubernetes: endpoints of Service web/web unknown"),
        ({"pods": {}}, "kubernetes: pod web/pod-10-42-1-5 behind Service web/web unknown"),
    ],
    ids=["policy", "service", "pod"],
)
def test_onramp_unknown(changes: dict[str, Any], detail: str) -> None:
    st, findings = run_one("open_onramp", observed(mesh_state=mesh(**changes)), WEB_CFG)
    assert (st.state, st.detail, st.unknown_parts, findings) == ("unknown", detail, ("",), ())


def test_onramp_endpoint_without_pod_is_noted() -> None:
    bare = dataclasses.replace(WEB_SERVICE.endpoints[0], pod=None)
    svc = service("web", "web", "http", bare)
    st, _ = onramp(services={"web/web": svc})
    assert (st.state, st.detail) == (
        "pass",
        "endpoint 10.42.1.5:80 of Service web/web names no pod: no policy evaluated",
    )
