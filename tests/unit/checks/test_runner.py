"""Tests for the check runner (monitor.checks.run_checks) and its contract with the state layer."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from monitor.catalogue import ALL_CHECKS, CHECKS_BY_FAMILY, family_of
from monitor.checks import CHECKS, IMPLEMENTED, run_checks
from monitor.checks.outcome import Check, Drift, Outcome, Unknown, conclude
from monitor.config.schema import BoundaryConfig
from monitor.model import CheckResult, MeshState, Observed, SourceError
from monitor.state.snapshot import next_snapshot
from tests.support.certhelpers import Issued, anchor
from tests.support.checkdata import (
    ANCHOR,
    NOW,
    OLD_ANCHOR,
    SHOP,
    SHOP_BUNDLE,
    SHOP_POOL,
    SHOP_PROFILE,
    WEB,
    WEB_MEMBERS,
    WEB_POOL,
    bundle,
    config,
    f5,
    healthy_proxies,
    mesh,
    observed,
    pool,
    profile,
    proxy,
    ssl_cert,
)

ALL_TRUST = CHECKS_BY_FAMILY["trust"]
# without pinned anchors trust_anchor_pin does not apply; without an haGroup neither does
# ha_peer_divergence: those pairs get no state at all
TRUST = tuple(c for c in ALL_TRUST if c != "trust_anchor_pin")
# without clientIdentity client_identity_mismatch does not apply
BOUNDARY = tuple(c for c in CHECKS_BY_FAMILY["boundary"] if c != "client_identity_mismatch")
ALL_ROUTES = CHECKS_BY_FAMILY["routes"]
# pool_member_unmeshed and virtual_profile_mismatch are for mesh-tls boundaries, open_onramp
# for plaintext ones
MESH_TLS_ROUTES = ("pool_member_unmeshed", "virtual_profile_mismatch")
ROUTES = tuple(c for c in ALL_ROUTES if c not in (*MESH_TLS_ROUTES, "open_onramp"))
SHOP_ROUTES = tuple(c for c in ALL_ROUTES if c != "open_onramp")
WEB_ROUTES = tuple(c for c in ALL_ROUTES if c not in MESH_TLS_ROUTES)
EDGE = CHECKS_BY_FAMILY["edge"]
HA = ("ha_sync_status",)
POLICY = CHECKS_BY_FAMILY["policy"]  # mesh side only, every mode
# checks that read only the BIG-IP (or the mesh only for wording): they run without the mesh
F5_ONLY = (
    "bundle_cert_expiry",
    "peer_validation_disabled",
    "expired_cert_accepted",
    "untrusted_cert_accepted",
    "tls13_disabled",
    "client_cert_missing",  # a certificate is present: the mesh policy is not needed
    "client_cert_expiry",
    "virtual_missing",
    "virtual_disabled",
    "virtual_pool_mismatch",
    "virtual_profile_mismatch",
    *EDGE,
    *HA,
)
SECRET = "s3cr3t-T0KEN-value"


def pairs(result: CheckResult) -> list[tuple[str, str]]:
    return [(s.check, s.boundary) for s in result.states]


# --- the registry ---------------------------------------------------------------------------


def test_registry_ids_are_catalogued_unique_and_in_catalogue_order() -> None:
    ids = [c.id for c in CHECKS]
    assert ids == [
        *ALL_TRUST,
        *CHECKS_BY_FAMILY["boundary"],
        *ALL_ROUTES,
        *EDGE,
        *CHECKS_BY_FAMILY["ha"],
        *CHECKS_BY_FAMILY["policy"],
    ]
    assert set(ids) == ALL_CHECKS  # every catalogued check is implemented
    assert len(set(ids)) == len(ids)
    assert set(ids) <= ALL_CHECKS
    assert frozenset(ids) == IMPLEMENTED
    catalogue = [check for checks in CHECKS_BY_FAMILY.values() for check in checks]
    assert [catalogue.index(i) for i in ids] == sorted(catalogue.index(i) for i in ids)


def test_modes_by_family() -> None:
    special = {
        "pool_member_unmeshed": {"mesh-tls"},
        "virtual_profile_mismatch": {"mesh-tls"},
        "open_onramp": {"plaintext"},
    }
    for check in CHECKS:
        expected = {"mesh-tls"} if family_of(check.id) == "boundary" else {"mesh-tls", "plaintext"}
        assert set(check.modes) == special.get(check.id, expected), check.id


# --- one state per applicable (check, boundary) ----------------------------------------------


def test_one_state_per_check_and_boundary_in_stable_order() -> None:
    cfg = config(SHOP, WEB)
    result = run_checks(cfg, observed(), NOW)
    assert pairs(result) == [
        *((c, "shop") for c in (*TRUST, *BOUNDARY, *SHOP_ROUTES, *EDGE, *HA, *POLICY)),
        *((c, "web") for c in (*TRUST, *WEB_ROUTES, *EDGE, *HA, *POLICY)),  # no boundary states
    ]
    assert all(s.state == "pass" for s in result.states)
    assert all(s.detail == "" and s.unknown_parts == () for s in result.states)
    assert result.findings == ()


def test_boundaries_follow_config_order() -> None:
    result = run_checks(config(WEB, SHOP), observed(), NOW)
    web = len(TRUST) + len(WEB_ROUTES) + len(EDGE) + len(HA) + len(POLICY)
    assert [b for _, b in pairs(result)][:web] == ["web"] * web
    assert [b for _, b in pairs(result)][web:] == ["shop"] * (
        len(TRUST) + len(BOUNDARY) + len(SHOP_ROUTES) + len(EDGE) + len(HA) + len(POLICY)
    )


def test_now_must_be_timezone_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        run_checks(config(), observed(), datetime(2025, 1, 1))


def test_checks_can_be_chosen() -> None:
    only = tuple(c for c in CHECKS if c.id == "sni_mismatch")
    result = run_checks(config(SHOP, WEB), observed(), NOW, checks=only)
    assert pairs(result) == [("sni_mismatch", "shop")]


# --- a world with drift ---------------------------------------------------------------------


def drifting_world() -> tuple[Observed, Issued]:
    soon = anchor("root-next.linkerd.cluster.local", not_after=NOW + timedelta(days=10))
    bigip_a = f5(
        "bigip-a",
        bundles={
            SHOP_BUNDLE: bundle(
                ssl_cert(ANCHOR, "/Common/a.crt"), ssl_cert(OLD_ANCHOR, "/Common/old.crt")
            )
        },
        server_ssl={SHOP_PROFILE: profile(server_name=None)},
        pools={
            SHOP_POOL: pool(SHOP_POOL, ("10.42.0.11", 443)),
            WEB_POOL: pool(WEB_POOL, *WEB_MEMBERS),
        },
    )
    bigip_b = f5("bigip-b", failed=frozenset({"ltm/virtual"}))
    obs = observed(
        [bigip_a, bigip_b],
        mesh_state=mesh(
            anchors=(ANCHOR.facts, soon.facts),
            config_anchors=(ANCHOR.facts, soon.facts),
            proxies=tuple(proxy(p.pod, ANCHOR, soon) for p in healthy_proxies()),
        ),
        errors={
            "bigip-b": (
                SourceError("http_401", f"X-F5-Auth-Token {SECRET} expired", "ltm/virtual"),
            )
        },
    )
    return obs, soon


def test_drifting_world() -> None:
    obs, soon = drifting_world()
    result = run_checks(config(SHOP, WEB), obs, NOW)
    states = {(s.check, s.boundary): s for s in result.states}
    # bigip-b cannot read ltm/virtual: every shop check that reads the virtual is unknown
    # unless bigip-a has a finding
    assert {k: s.state for k, s in states.items()} == {
        **{(c, b): "pass" for c in (*TRUST, *POLICY) for b in ("shop", "web")},
        **{(c, "shop"): "unknown" for c in (*BOUNDARY, *SHOP_ROUTES, *EDGE)},
        **{(c, "web"): "pass" for c in (*WEB_ROUTES, *EDGE, *HA)},
        ("trust_anchor_expiry", "shop"): "critical",
        ("bundle_missing_anchor", "shop"): "warning",  # `soon` signs no current issuer
        ("bundle_stale_anchor", "shop"): "warning",
        ("sni_mismatch", "shop"): "critical",
        ("pool_member_missing", "shop"): "warning",
        ("pool_member_unmeshed", "shop"): "pass",  # mesh side only
        ("trust_anchor_expiry", "web"): "critical",
        ("ha_sync_status", "shop"): "pass",
    }
    for check in (*BOUNDARY, *ROUTES, *EDGE):
        assert states[(check, "shop")].unknown_parts == ("bigip-b",), check
        assert states[(check, "shop")].detail == "bigip-b: could not read ltm/virtual (http_401)"
    assert states[("trust_anchor_expiry", "shop")].unknown_parts == ()
    assert [(f.check, f.boundary, f.device, f.object, f.severity) for f in result.findings] == [
        ("trust_anchor_expiry", "shop", "", soon.facts.fingerprint_sha256, "critical"),
        ("bundle_missing_anchor", "shop", "bigip-a", soon.facts.fingerprint_sha256, "warning"),
        ("bundle_stale_anchor", "shop", "bigip-a", OLD_ANCHOR.facts.fingerprint_sha256, "warning"),
        ("sni_mismatch", "shop", "bigip-a", SHOP_PROFILE, "critical"),
        ("pool_member_missing", "shop", "bigip-a", "10.42.0.12:443", "warning"),
        ("trust_anchor_expiry", "web", "", soon.facts.fingerprint_sha256, "critical"),
    ]
    assert run_checks(config(SHOP, WEB), obs, NOW) == result


def test_no_secrets_in_states_or_findings() -> None:
    obs = observed(
        [f5("bigip-a", failed=frozenset({"ltm/pool"}))],
        mesh_state=mesh(issuer=None),
        errors={
            "bigip-a": (SourceError("http_403", f"token {SECRET} lacks role", "ltm/pool"),),
            "bigip-b": (SourceError("auth_failed", f"password {SECRET} rejected", ""),),
            "kubernetes": (SourceError("http_401", f"bearer {SECRET}", "configmap x"),),
        },
    )
    result = run_checks(config(SHOP, WEB), obs, NOW)
    text = repr(result)
    assert SECRET not in text
    assert "PRIVATE KEY" not in text
    details = {(s.check, s.boundary): s.detail for s in result.states}
    assert details[("sni_mismatch", "shop")] == "bigip-b: could not be read (auth_failed)"
    assert details[("pool_member_missing", "shop")] == (
        "bigip-a: could not read ltm/pool (http_403); bigip-b: could not be read (auth_failed)"
    )
    assert details[("issuer_expiry", "web")] == "kubernetes: identity issuer unknown"


def test_failed_kubernetes_source_makes_everything_unknown_never_pass() -> None:
    result = run_checks(config(SHOP, WEB), observed(mesh_state=MeshState()), NOW)
    assert result.findings == ()
    # every check that reads the mesh is unknown; those that read only the BIG-IP pass
    assert {s.state for s in result.states if s.check not in F5_ONLY} == {"unknown"}
    assert {s.state for s in result.states if s.check in F5_ONLY} == {"pass"}
    parts = {(s.check, s.boundary): s.unknown_parts for s in result.states}
    assert parts[("trust_anchor_expiry", "shop")] == ("",)
    assert parts[("issuer_chain", "web")] == ("",)
    assert parts[("bundle_missing_anchor", "shop")] == ("bigip-a", "bigip-b")
    assert parts[("sni_mismatch", "shop")] == ("bigip-a", "bigip-b")
    assert parts[("pool_member_extra", "web")] == ("bigip-a",)


def test_no_device_readable_leaves_mesh_checks_running() -> None:
    result = run_checks(config(SHOP, WEB), observed([]), NOW)
    by_state: dict[str, list[str]] = {}
    for s in result.states:
        by_state.setdefault(s.state, []).append(f"{s.check}@{s.boundary}")
    assert sorted(by_state["pass"]) == sorted(
        [
            *(f"{c}@{b}" for b in ("shop", "web") for c in (*TRUST, *POLICY)),
            "pool_member_unmeshed@shop",
            "open_onramp@web",
        ]
    )
    # every other boundary, route and edge check, and the HA sync status
    unknown = len(BOUNDARY) + len(SHOP_ROUTES) + len(WEB_ROUTES) - 2 + 2 * len(EDGE) + 2
    assert len(by_state["unknown"]) == unknown


# --- conclude: the state rules on their own ----------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "state", "parts"),
    [
        (Outcome(), "pass", ()),
        (Outcome(unknowns=(Unknown("", "x"),)), "unknown", ("",)),
        (
            Outcome(drifts=(Drift("warning", "o", "m"),), unknowns=(Unknown("b", "y"),)),
            "warning",
            ("b",),
        ),
        (
            Outcome(drifts=(Drift("warning", "o1", "m"), Drift("critical", "o2", "m"))),
            "critical",
            (),
        ),
        (Outcome(notes=("just a note",)), "pass", ()),
    ],
)
def test_conclude_state_rules(outcome: Outcome, state: str, parts: tuple[str, ...]) -> None:
    st, _ = conclude("c", "b", outcome)
    assert (st.state, st.unknown_parts) == (state, parts)


def test_conclude_dedupes_details_parts_and_finding_keys() -> None:
    outcome = Outcome(
        drifts=(
            Drift("warning", "o", "first", device="a"),
            Drift("critical", "o", "again", device="a"),
        ),
        unknowns=(Unknown("b", "same"), Unknown("c", "same"), Unknown("b", "other")),
        notes=("note",),
    )
    st, findings = conclude("sni_mismatch", "shop", outcome)
    assert st.detail == "same; other; note"
    assert st.unknown_parts == ("b", "c")
    assert [(f.message, f.key) for f in findings] == [("first", ("sni_mismatch", "shop", "a", "o"))]


def test_a_new_check_needs_only_a_function_and_a_registry_entry() -> None:
    def always_unknown(*_: object) -> Outcome:
        return Outcome(unknowns=(Unknown("", "kubernetes: something unknown"),))

    extra = Check("open_onramp", always_unknown, frozenset({"plaintext"}))
    result = run_checks(config(SHOP, WEB), observed(), NOW, checks=(*CHECKS, extra))
    assert pairs(result)[-1] == ("open_onramp", "web")
    assert result.states[-1].detail == "kubernetes: something unknown"


def test_a_mesh_wide_check_runs_once_per_run_and_every_boundary_gets_its_outcome() -> None:
    calls: list[str] = []

    def counted(cfg: object, boundary: BoundaryConfig, *_: object) -> Outcome:
        calls.append(boundary.name)
        return Outcome(drifts=(Drift("warning", "ns", f"seen first from {boundary.name}"),))

    wide = Check("proxy_trust_bundle_stale", counted, mesh_wide=True)
    cfg = config(SHOP, WEB)
    first = run_checks(cfg, observed(), NOW, checks=(wide,))
    assert calls == ["shop"]
    assert [(f.boundary, f.message) for f in first.findings] == [
        ("shop", "seen first from shop"),
        ("web", "seen first from shop"),
    ]
    run_checks(cfg, observed(), NOW, checks=(wide,))  # nothing is kept between runs
    assert calls == ["shop", "shop"]
    per_boundary = Check("proxy_trust_bundle_stale", counted)
    run_checks(cfg, observed(), NOW, checks=(per_boundary,))
    assert calls == ["shop", "shop", "shop", "web"]


def test_the_stale_bundle_check_is_registered_mesh_wide() -> None:
    wide = {c.id for c in CHECKS if c.mesh_wide}
    assert wide == {"proxy_trust_bundle_stale"}


# --- the contract with the state layer --------------------------------------------------------


def test_failed_poll_keeps_the_finding_of_the_unknown_device_only() -> None:
    cfg = config(SHOP)
    stale = ssl_cert(OLD_ANCHOR, "/Common/old.crt")
    both_drift = [
        f5("bigip-a", bundles={SHOP_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/a.crt"), stale)}),
        f5("bigip-b", bundles={SHOP_BUNDLE: bundle(ssl_cert(ANCHOR, "/Common/a.crt"), stale)}),
    ]
    first_obs = observed(both_drift)
    first = next_snapshot(None, first_obs, run_checks(cfg, first_obs, NOW), NOW, 0.1)
    assert {
        t.finding.device for t in first.findings if t.finding.check == "bundle_stale_anchor"
    } == {
        "bigip-a",
        "bigip-b",
    }
    # bigip-a cannot be read; bigip-b was fixed
    later = NOW + timedelta(minutes=1)
    second_obs = observed([f5("bigip-b")])
    second = next_snapshot(first, second_obs, run_checks(cfg, second_obs, later), later, 0.1)
    kept = [t for t in second.findings if t.finding.check == "bundle_stale_anchor"]
    assert [(t.finding.device, t.carried, t.first_seen) for t in kept] == [("bigip-a", True, NOW)]
