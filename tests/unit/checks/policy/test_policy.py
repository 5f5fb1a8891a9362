"""Tests for monitor.checks.policy: identities, targets and selectors that name nothing."""

from __future__ import annotations

from monitor.checks import CHECKS, run_checks
from monitor.model import MeshState
from tests.support.checkdata import (
    BIGIP_ID,
    HEALTHY_POLICY,
    NOW,
    config,
    mesh,
    observed,
    policy_from,
    run_one,
    shop,
)

SUFFIX = "serviceaccount.identity.linkerd.cluster.local"


def with_policy(extra: str, **changes: object) -> MeshState:
    return mesh(policy=policy_from(HEALTHY_POLICY + "---\n" + extra), **changes)


def authn(name: str, spec: str) -> str:
    return (
        "apiVersion: policy.linkerd.io/v1alpha1\nkind: MeshTLSAuthentication\n"
        f"metadata: {{namespace: ingress, name: {name}}}\nspec: {spec}\n"
    )


# --- policy_identity_unknown ---------------------------------------------------------------


def test_the_healthy_mesh_names_only_what_exists() -> None:
    for check in ("policy_identity_unknown", "policy_target_missing",
                  "policy_server_selects_nothing"):  # fmt: skip
        st, findings = run_one(check, observed())
        assert (st.state, st.detail, findings) == ("pass", "", ()), check


def test_a_missing_account_among_others_is_a_warning() -> None:
    spec = f'{{identities: ["{BIGIP_ID}", "old.f5-edge.{SUFFIX}"]}}'
    st, (f,) = run_one(
        "policy_identity_unknown", observed(mesh_state=with_policy(authn("x", spec)))
    )
    assert (st.state, f.severity, f.device) == ("warning", "warning", "")
    assert f.object == f"ingress/x old.f5-edge.{SUFFIX}"
    assert "namespace f5-edge has no ServiceAccount old" in f.message
    assert dict(f.evidence)["entry"] == "identities[1]"


def test_an_authentication_naming_only_missing_things_admits_nobody() -> None:
    spec = (
        f'{{identities: ["*.gone.{SUFFIX}", "web.identity.linkerd.cluster.local"],'
        " identityRefs: [{kind: ServiceAccount, name: probe, namespace: f5-edge}]}"
    )
    state = with_policy(authn("x", spec), service_accounts={
        "f5-edge": frozenset({"default", "bigip"}), "gone": frozenset()})  # fmt: skip
    st, findings = run_one("policy_identity_unknown", observed(mesh_state=state))
    assert st.state == "critical"
    assert [f.severity for f in findings] == ["critical"] * 3
    messages = " ".join(f.message for f in findings)
    assert "namespace gone does not exist" in messages
    assert "never issues an identity of that form" in messages
    assert "identityRefs[0] ServiceAccount f5-edge/probe" in messages
    assert "admits nobody" in messages


def test_wildcards_foreign_domains_and_spiffe_ids_are_not_findings() -> None:
    spec = (
        f'{{identities: ["*", "*.{SUFFIX}", "*.f5-edge.{SUFFIX}",'
        ' "a.b.serviceaccount.identity.linkerd.east.example", "spiffe://td/x"]}'
    )
    st, findings = run_one(
        "policy_identity_unknown", observed(mesh_state=with_policy(authn("x", spec)))
    )
    assert (st.state, findings) == ("pass", ())
    assert "a.b.serviceaccount.identity.linkerd.east.example" in st.detail
    assert "spiffe://td/x" in st.detail


def test_unread_accounts_are_unknown_never_pass() -> None:
    unread = mesh(service_accounts={"f5-edge": None})
    st, findings = run_one("policy_identity_unknown", observed(mesh_state=unread))
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("",), ())
    not_watched = mesh(service_accounts={})
    st, _ = run_one("policy_identity_unknown", observed(mesh_state=not_watched))
    assert st.state == "unknown"
    assert "were not read" in st.detail
    st, _ = run_one("policy_identity_unknown", observed(mesh_state=mesh(policy=None)))
    assert st.state == "unknown"


def test_only_the_backend_namespace_is_judged() -> None:
    other = authn("x", f'{{identities: ["nobody.f5-edge.{SUFFIX}"]}}').replace(
        "namespace: ingress", "namespace: elsewhere"
    )
    st, findings = run_one("policy_identity_unknown", observed(mesh_state=with_policy(other)))
    assert (st.state, findings) == ("pass", ())


# --- policy_target_missing -------------------------------------------------------------------


def ap(name: str, target: str) -> str:
    return (
        "apiVersion: policy.linkerd.io/v1alpha1\nkind: AuthorizationPolicy\n"
        f"metadata: {{namespace: ingress, name: {name}}}\n"
        f"spec: {{targetRef: {target}, requiredAuthenticationRefs:"
        " [{group: policy.linkerd.io, kind: MeshTLSAuthentication, name: f5-edge}]}\n"
    )


def test_targets_that_do_not_exist() -> None:
    extra = "---\n".join((
        ap("a", "{group: policy.linkerd.io, kind: Server, name: nginx-http}"),
        ap("b", "{kind: Namespace, name: web}"),
        ap("c", "{kind: Namespace, name: ingress}"),
        ap("d", "{group: gateway.networking.k8s.io, kind: HTTPRoute, name: api}"),
        ap("e", "{group: policy.linkerd.io, kind: HTTPRoute, name: health}"),
        "apiVersion: policy.linkerd.io/v1beta3\nkind: HTTPRoute\n"
        "metadata: {namespace: ingress, name: health}\nspec: {}\n",
    ))  # fmt: skip
    st, findings = run_one("policy_target_missing", observed(mesh_state=with_policy(extra)))
    assert st.state == "warning"
    assert [f.object for f in findings] == ["ingress/a", "ingress/b", "ingress/d"]
    assert "no Server nginx-http exists in namespace ingress" in findings[0].message
    assert "Linkerd ignores the name" in findings[1].message
    assert "(gateway.networking.k8s.io)" in findings[2].message


# --- policy_server_selects_nothing ------------------------------------------------------------


def test_a_server_selecting_no_pod_is_a_warning_and_unread_pods_unknown() -> None:
    state = mesh(server_pods={"ingress/nginx-https": 0, "web/web-http": 1})
    st, (f,) = run_one("policy_server_selects_nothing", observed(mesh_state=state))
    assert (st.state, f.object) == ("warning", "ingress/nginx-https")
    assert "app=nginx-ingress" in f.message
    unread = mesh(server_pods={"ingress/nginx-https": None})
    st, findings = run_one("policy_server_selects_nothing", observed(mesh_state=unread))
    assert (st.state, findings) == ("unknown", ())


def test_boundaries_share_their_namespace_findings() -> None:
    cfg = config(shop(), shop(name="shop-2"))
    state = mesh(server_pods={"ingress/nginx-https": 0})
    chosen = tuple(c for c in CHECKS if c.id == "policy_server_selects_nothing")
    result = run_checks(cfg, observed(mesh_state=state), NOW, checks=chosen)
    assert [(s.boundary, s.state) for s in result.states] == [
        ("shop", "warning"), ("shop-2", "warning")]  # fmt: skip
    assert [(f.boundary, f.object) for f in result.findings] == [
        ("shop", "ingress/nginx-https"), ("shop-2", "ingress/nginx-https")]  # fmt: skip
