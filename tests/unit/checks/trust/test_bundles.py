"""Tests for monitor.checks.trust.bundles: trust_roots_config_mismatch and
proxy_trust_bundle_stale, including a trust anchor rotation in progress."""

from __future__ import annotations

import pytest

from monitor.model import Issuer, MeshState, ProxyBundle
from monitor.policy.model import PodInfo
from tests.support.certhelpers import Issued, anchor, intermediate, key_for
from tests.support.checkdata import (
    ANCHOR,
    DAY,
    ISSUER,
    NOW,
    OLD_ANCHOR,
    mesh,
    observed,
    proxy,
    run_one,
)

A = ANCHOR.facts.fingerprint_sha256
OLD = OLD_ANCHOR.facts.fingerprint_sha256

# --- trust_roots_config_mismatch ---------------------------------------------------------------


def test_config_copy_equal_as_a_set_passes() -> None:
    state = mesh(
        anchors=(ANCHOR.facts, OLD_ANCHOR.facts),
        config_anchors=(OLD_ANCHOR.facts, ANCHOR.facts, OLD_ANCHOR.facts),
    )
    st, findings = run_one("trust_roots_config_mismatch", observed(mesh_state=state))
    assert (st.state, st.detail, findings) == ("pass", "", ())


@pytest.mark.parametrize(
    ("roots", "values", "only_roots", "only_values", "fragment"),
    [
        ((ANCHOR, OLD_ANCHOR), (ANCHOR,), OLD, "", "only in the ConfigMap: CN=root-old"),
        ((ANCHOR,), (ANCHOR, OLD_ANCHOR), "", OLD, "only in linkerd-config: CN=root-old"),
        ((ANCHOR,), (OLD_ANCHOR,), A, OLD, "only in the ConfigMap: CN=root.linkerd"),
    ],
)
def test_config_copy_differs_is_a_warning(
    roots: tuple[Issued, ...],
    values: tuple[Issued, ...],
    only_roots: str,
    only_values: str,
    fragment: str,
) -> None:
    state = mesh(
        anchors=tuple(c.facts for c in roots),
        config_anchors=tuple(c.facts for c in values),
    )
    st, (f,) = run_one("trust_roots_config_mismatch", observed(mesh_state=state))
    assert st.state == "warning"
    assert (f.device, f.object, f.severity) == (
        "",
        "linkerd/linkerd-identity-trust-roots",
        "warning",
    )
    assert f.message.startswith(
        "ConfigMap linkerd/linkerd-identity-trust-roots and identityTrustAnchorsPEM in ConfigMap"
        " linkerd/linkerd-config hold different trust anchors ("
    )
    assert fragment in f.message
    assert "set identityTrustAnchorsPEM to the bundle in force" in f.message
    evidence = dict(f.evidence)
    assert evidence["only_in_trust_roots"] == only_roots
    assert evidence["only_in_linkerd_config"] == only_values


def test_config_copy_not_applicable_with_external_ca() -> None:
    for values in ((OLD_ANCHOR.facts,), None):
        state = mesh(config_anchors=values, external_ca=True)
        st, findings = run_one("trust_roots_config_mismatch", observed(mesh_state=state))
        assert (st.state, findings) == ("pass", ())
        assert st.detail.startswith("not applicable: identity.externalCA is true")


def test_config_copy_not_applicable_on_linkerd_2_10() -> None:
    state = mesh(anchors_from="linkerd/linkerd-config", config_anchors=None)
    st, findings = run_one("trust_roots_config_mismatch", observed(mesh_state=state))
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        "not applicable: the anchors are read from linkerd-config itself"
        " (Linkerd 2.10 keeps one copy)"
    )


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        (mesh(anchors=None), "kubernetes: trust anchors unknown"),
        (
            mesh(config_anchors=None),
            "kubernetes: identityTrustAnchorsPEM in linkerd-config values unknown",
        ),
        (
            mesh(unknown=frozenset({"config_anchors"})),
            "kubernetes: identityTrustAnchorsPEM in linkerd-config values unknown",
        ),
        (
            mesh(config_anchors=(OLD_ANCHOR.facts,), external_ca=None),
            "kubernetes: identity.externalCA in linkerd-config values unknown",
        ),
    ],
)
def test_config_copy_unknown(state: MeshState, detail: str) -> None:
    st, findings = run_one("trust_roots_config_mismatch", observed(mesh_state=state))
    assert (st.state, st.detail, st.unknown_parts, findings) == ("unknown", detail, ("",), ())


def test_config_copy_equal_needs_no_external_ca() -> None:
    st, _ = run_one("trust_roots_config_mismatch", observed(mesh_state=mesh(external_ca=None)))
    assert st.state == "pass"


# --- proxy_trust_bundle_stale ------------------------------------------------------------------


def test_proxies_on_the_current_bundle_pass() -> None:
    st, findings = run_one("proxy_trust_bundle_stale", observed())
    assert (st.state, st.detail, findings) == ("pass", "", ())


def test_proxy_bundle_compared_as_a_set() -> None:
    state = mesh(
        anchors=(ANCHOR.facts, OLD_ANCHOR.facts),
        proxies=(
            proxy("ingress/a", OLD_ANCHOR, ANCHOR),
            proxy("ingress/b", ANCHOR, OLD_ANCHOR, ANCHOR),
        ),
    )
    st, _ = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert st.state == "pass"


def test_proxy_with_a_retired_anchor_still_frozen_is_a_warning() -> None:
    """The old anchor left the bundle; a pod that still trusts it must be restarted."""
    state = mesh(proxies=(proxy("ingress/a", ANCHOR, OLD_ANCHOR), proxy("ingress/b", ANCHOR)))
    st, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert (st.state, f.object, f.device, f.severity) == ("warning", "ingress", "", "warning")
    assert f.message == (
        "1 meshed pod in ingress still carries an old trust bundle; restart it"
        " (kubectl -n ingress rollout restart <workload>)"
    )
    evidence = dict(f.evidence)
    assert evidence["pods"] == "a"
    assert evidence["count"] == "1"
    assert evidence["current_anchors"] == A
    assert evidence["frozen_bundles"] == f"{A}+{OLD}"
    assert evidence["issuer_anchors"] == A


def test_unreadable_proxy_bundle_counts_as_stale() -> None:
    broken = ProxyBundle("ingress/x", None, "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: bad PEM")
    state = mesh(proxies=(proxy("ingress/a", ANCHOR), broken))
    st, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert (st.state, f.severity) == ("warning", "warning")
    assert f.message.startswith("1 meshed pod in ingress still carries an old or unreadable")
    assert dict(f.evidence)["unreadable"] == "x: LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS: bad PEM"


def test_restart_hint_names_the_workloads() -> None:
    def pod(name: str, labels: dict[str, str]) -> PodInfo:
        return PodInfo("ingress", name, "10.0.0.1", labels, "sa", True)

    pods = {
        "ingress/a": pod("a", {"linkerd.io/proxy-deployment": "nginx-ingress"}),
        "ingress/b": pod("b", {"linkerd.io/proxy-deployment": "nginx-ingress"}),
        "ingress/c": pod("c", {"linkerd.io/proxy-statefulset": "cache"}),
    }
    stale = tuple(proxy(p, OLD_ANCHOR, ANCHOR) for p in pods)
    state = mesh(proxies=stale, pods=pods)
    _, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert f.message == (
        "3 meshed pods in ingress still carry an old trust bundle; restart them"
        " (kubectl -n ingress rollout restart deployment/nginx-ingress statefulset/cache)"
    )


def test_pod_list_is_bounded() -> None:
    stale = tuple(proxy(f"ingress/pod-{i:02d}", OLD_ANCHOR) for i in range(25))
    state = mesh(proxies=stale)
    _, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    evidence = dict(f.evidence)
    assert evidence["count"] == "25"
    assert evidence["pods"] == ", ".join(f"pod-{i:02d}" for i in range(20)) + " and 5 more"
    assert f.message.startswith("25 meshed pods in ingress ")


def test_duplicate_pods_count_once() -> None:
    state = mesh(proxies=(proxy("ingress/a", OLD_ANCHOR), proxy("ingress/a", OLD_ANCHOR)))
    _, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert dict(f.evidence)["count"] == "1"


@pytest.mark.parametrize(
    ("state", "detail"),
    [
        (mesh(proxies=None), "kubernetes: trust bundles of the meshed pods unknown"),
        (
            mesh(unknown=frozenset({"proxies"})),
            "kubernetes: trust bundles of the meshed pods unknown",
        ),
        (mesh(anchors=None), "kubernetes: trust anchors unknown"),
    ],
)
def test_proxy_bundles_unknown(state: MeshState, detail: str) -> None:
    st, findings = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert (st.state, st.detail, st.unknown_parts, findings) == ("unknown", detail, ("",), ())


def test_issuer_unknown_grades_stale_pods_as_warning_with_a_note() -> None:
    state = mesh(proxies=(proxy("ingress/a", OLD_ANCHOR),), issuer=None)
    st, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert (st.state, f.severity, st.unknown_parts) == ("warning", "warning", ())
    assert st.detail == (
        "kubernetes: identity issuer unknown: stale bundles graded without looking for its anchor"
    )


def test_issuer_equal_to_anchor_and_a_pod_without_it_is_critical() -> None:
    """`linkerd install` defaults: the issuer is the anchor itself."""
    other = anchor("root.other.test")
    state = mesh(
        issuer=Issuer("linkerd.io/tls", ANCHOR.facts, ()),
        proxies=(proxy("ingress/a", ANCHOR), proxy("ingress/b", other)),
    )
    st, (f,) = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert (st.state, f.severity) == ("critical", "critical")
    assert dict(f.evidence)["without_issuer_anchor"] == "b"


# --- a trust anchor rotation, step by step ---------------------------------------------------

NEW_ANCHOR = anchor(
    "root-new.linkerd.cluster.local",
    key=key_for("ec256", 31),
    not_before=NOW - 2 * DAY,
    not_after=NOW + 3650 * DAY,
)
NEW_ISSUER = intermediate("identity.linkerd.cluster.local", NEW_ANCHOR, key=key_for("ec256", 32))

# In this rotation ANCHOR is the old anchor and NEW_ANCHOR the new one; the pods injected
# before the bundle was extended carry ANCHOR only, the others both.
ROTATION_PODS = (
    proxy("ingress/nginx-1", ANCHOR),
    proxy("ingress/nginx-2", NEW_ANCHOR, ANCHOR),
    proxy("ingress/nginx-3", ANCHOR),
    proxy("shop/api-1", NEW_ANCHOR, ANCHOR),
    proxy("shop/api-2", ANCHOR),
    proxy("shop/api-3", NEW_ANCHOR, ANCHOR),
)


def _rotation(issuer: Issuer) -> MeshState:
    return mesh(
        anchors=(NEW_ANCHOR.facts, ANCHOR.facts),
        config_anchors=(NEW_ANCHOR.facts, ANCHOR.facts),
        issuer=issuer,
        proxies=ROTATION_PODS,
    )


def test_rotation_bundle_extended_issuer_not_yet_reissued() -> None:
    """Step 1: both anchors in the bundle, the issuer still from the old one: the pods on
    the old bundle can still verify every leaf, so a warning per namespace."""
    state = _rotation(Issuer("linkerd.io/tls", ISSUER.facts, ()))
    st, findings = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert st.state == "warning"
    assert [(f.object, f.severity, dict(f.evidence)["count"]) for f in findings] == [
        ("ingress", "warning", "2"),
        ("shop", "warning", "1"),
    ]
    assert findings[0].message.startswith("2 meshed pods in ingress still carry an old")
    assert dict(findings[0].evidence)["pods"] == "nginx-1, nginx-3"
    assert findings[1].message.startswith("1 meshed pod in shop still carries an old")


def test_rotation_issuer_reissued_from_the_new_anchor() -> None:
    """Step 2: the issuer now hangs from the new anchor, which the old bundles lack: those
    pods cannot verify their peers' new leaves, so critical per namespace."""
    state = _rotation(Issuer("linkerd.io/tls", NEW_ISSUER.facts, ()))
    obs = observed(mesh_state=state)
    st, findings = run_one("proxy_trust_bundle_stale", obs)
    assert st.state == "critical"
    assert [(f.object, f.severity, dict(f.evidence)["count"]) for f in findings] == [
        ("ingress", "critical", "2"),
        ("shop", "critical", "1"),
    ]
    assert findings[0].message == (
        "2 meshed pods in ingress still carry an old trust bundle, 2 without the anchor that"
        " signs the current issuer (they cannot verify their peers' new certificates); restart"
        " them now (kubectl -n ingress rollout restart <workload>)"
    )
    evidence = dict(findings[0].evidence)
    assert evidence["issuer_anchors"] == NEW_ANCHOR.facts.fingerprint_sha256
    assert evidence["without_issuer_anchor"] == "nginx-1, nginx-3"
    # the rest of the family agrees: the chain holds, nothing outlives, the copies match
    for check in ("issuer_chain", "issuer_outlives_anchor", "trust_roots_config_mismatch"):
        assert run_one(check, obs)[0].state == "pass", check


def test_rotation_old_anchor_dropped_before_every_pod_restarted() -> None:
    """Step 3 done too early (linkerd2#4287): the bundle is the new anchor only."""
    state = mesh(
        anchors=(NEW_ANCHOR.facts,),
        config_anchors=(NEW_ANCHOR.facts,),
        issuer=Issuer("linkerd.io/tls", NEW_ISSUER.facts, ()),
        proxies=ROTATION_PODS,
    )
    _, findings = run_one("proxy_trust_bundle_stale", observed(mesh_state=state))
    assert [(f.object, f.severity, dict(f.evidence)["count"]) for f in findings] == [
        ("ingress", "critical", "3"),
        ("shop", "critical", "3"),
    ]
    assert "3 without the anchor" not in findings[0].message
    assert "2 without the anchor" in findings[0].message
