"""The snapshot bookkeeping (first-seen, carry-over) and the exposition text it renders."""

from __future__ import annotations

import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from monitor import metrics
from monitor.certs import parse_pem_bundle
from monitor.model import (
    CaBundle,
    CheckResult,
    CheckState,
    F5State,
    Finding,
    Issuer,
    MeshState,
    Observed,
    SourceError,
    SourceStatus,
    SslCert,
)
from monitor.rotation import PHASES, RotationPlan
from monitor.state import Snapshot, next_snapshot
from tests.certhelpers import anchor as make_anchor
from tests.certhelpers import intermediate
from tests.conftest import require_tool

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)

UP = (
    SourceStatus("bigip-a", "bigip", up=True, duration_seconds=0.5),
    SourceStatus("kubernetes", "kubernetes", up=True, duration_seconds=0.25),
)
DOWN_A = (
    SourceStatus(
        "bigip-a",
        "bigip",
        up=False,
        errors=(SourceError("connect_error", "connection refused", "ltm/virtual"),),
    ),
    SourceStatus("kubernetes", "kubernetes", up=True),
)


def finding(check: str, device: str, obj: str, severity: str = "warning") -> Finding:
    return Finding(check, severity, "shop", device, obj, f"{check} on {obj}")  # type: ignore[arg-type]


def observed(sources: tuple[SourceStatus, ...] = UP, mesh: MeshState | None = None) -> Observed:
    return Observed(f5={}, mesh=mesh or MeshState(), sources=sources)


def test_first_seen_is_kept_while_a_finding_persists_and_reset_after_it_clears() -> None:
    extra = finding("pool_member_extra", "bigip-a", "10.0.0.9:443")
    states = (CheckState("pool_member_extra", "shop", "warning"),)
    s1 = next_snapshot(None, observed(), CheckResult(states, (extra,)), T0, 0.1)
    s2 = next_snapshot(s1, observed(), CheckResult(states, (extra,)), T1, 0.1)
    assert s2.findings[0].first_seen == T0
    assert (s1.cycle, s2.cycle) == (1, 2)
    cleared = next_snapshot(
        s2, observed(), CheckResult((CheckState("pool_member_extra", "shop", "pass"),)), T2, 0.1
    )
    assert cleared.findings == ()
    again = next_snapshot(cleared, observed(), CheckResult(states, (extra,)), T2, 0.1)
    assert again.findings[0].first_seen == T2


def test_a_failed_poll_keeps_the_findings_of_the_unknown_part_only() -> None:
    on_a = finding("pool_member_extra", "bigip-a", "10.0.0.9:443")
    on_b = finding("pool_member_extra", "bigip-b", "10.0.0.8:443")
    first = next_snapshot(
        None,
        observed(),
        CheckResult((CheckState("pool_member_extra", "shop", "warning"),), (on_a, on_b)),
        T0,
        0.1,
    )
    # bigip-a cannot be read; bigip-b was fixed meanwhile
    unknown = CheckState("pool_member_extra", "shop", "unknown", unknown_parts=("bigip-a",))
    second = next_snapshot(first, observed(DOWN_A), CheckResult((unknown,)), T1, 0.1)
    assert [(t.finding.device, t.carried, t.first_seen) for t in second.findings] == [
        ("bigip-a", True, T0)
    ]
    assert second.states == (unknown,)
    assert second.last_success == {"bigip-a": T0, "kubernetes": T1}


def test_findings_are_ordered_critical_first() -> None:
    w = finding("pool_member_extra", "bigip-a", "x")
    c = finding("bundle_missing_anchor", "bigip-a", "y", "critical")
    snap = next_snapshot(None, observed(), CheckResult((), (w, c)), T0, 0.1)
    assert [t.finding.check for t in snap.findings] == [
        "bundle_missing_anchor",
        "pool_member_extra",
    ]
    assert snap.counts() == {"critical": 1, "warning": 1}


def _snapshot_with_certs() -> object:
    root = make_anchor(
        "root.linkerd.cluster.local",
        not_before=T0 - timedelta(days=10),
        not_after=T0 + timedelta(days=20),
    )
    issuing = intermediate("identity.linkerd.cluster.local", root, not_after=T0 + timedelta(days=2))
    anchor = parse_pem_bundle(root.pem).certs[0]
    issuer = parse_pem_bundle(issuing.pem).certs[0]
    member = SslCert(
        "/k8s/Shared/a.crt", False, anchor.fingerprint_sha256, anchor.not_after, "CN=a", "CN=a"
    )
    f5 = F5State(
        device="bigip-a",
        bundles={"/k8s/Shared/b": CaBundle("/k8s/Shared/b", (member,), "ca-bundle-manager")},
    )
    mesh = MeshState(
        anchors=(anchor,),
        issuer=Issuer("kubernetes.io/tls", issuer, ()),
        anchors_from="linkerd/linkerd-identity-trust-roots",
        issuer_from="linkerd/linkerd-identity-issuer",
    )
    obs = Observed(f5={"bigip-a": f5}, mesh=mesh, sources=UP)
    states = (
        CheckState("trust_anchor_expiry", "shop", "warning"),
        CheckState("bundle_missing_anchor", "shop", "unknown", "bigip-b: down", ("bigip-b",)),
    )
    return next_snapshot(None, obs, CheckResult(states), T0, 0.75), anchor, issuer


def test_exposition_has_a_full_state_set_and_certificate_timestamps() -> None:
    snapshot, anchor, issuer = _snapshot_with_certs()  # type: ignore[misc]
    text = metrics.render(snapshot).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    check = metrics.CHECK
    for state, value in (("pass", 0), ("warning", 1), ("critical", 0), ("unknown", 0)):
        labels = (("boundary", "shop"), ("check", "trust_anchor_expiry"), ("state", state))
        assert samples[(check, labels)] == value
    unknown = (("boundary", "shop"), ("check", "bundle_missing_anchor"), ("state", "unknown"))
    assert samples[(check, unknown)] == 1
    anchor_key = (
        metrics.CERT_NOT_AFTER,
        (
            ("fingerprint", anchor.fingerprint_sha256),
            ("object", "linkerd/linkerd-identity-trust-roots"),
            ("role", "trust_anchor"),
            ("source", "kubernetes"),
        ),
    )
    assert samples[anchor_key] == anchor.not_after.timestamp()
    bundle_key = (
        metrics.CERT_NOT_AFTER,
        (
            ("fingerprint", anchor.fingerprint_sha256),
            ("object", "/k8s/Shared/b"),
            ("role", "bundle_cert"),
            ("source", "bigip-a"),
        ),
    )
    assert samples[bundle_key] == anchor.not_after.timestamp()
    issuer_rows = [
        k for k in samples if k[0] == metrics.CERT_NOT_AFTER and ("role", "issuer") in k[1]
    ]
    assert len(issuer_rows) == 1
    assert samples[issuer_rows[0]] == issuer.not_after.timestamp()
    up = (("source", "bigip"), ("target", "bigip-a"))
    assert samples[(metrics.SOURCE_UP, up)] == 1
    assert samples[(metrics.SOURCE_LAST_SUCCESS, up)] == T0.timestamp()
    assert samples[(metrics.CYCLE_DURATION, ())] == 0.75


def test_every_family_name_comes_from_the_metric_names_list() -> None:
    snapshot, _, _ = _snapshot_with_certs()  # type: ignore[misc]
    names = {
        family.name for family in text_string_to_metric_families(metrics.render(snapshot).decode())
    }
    assert names <= set(metrics.METRIC_NAMES)
    assert metrics.BUILD_INFO in names


def test_before_the_first_cycle_only_build_info_is_exposed() -> None:
    names = {f.name for f in text_string_to_metric_families(metrics.render(None).decode())}
    assert names == {metrics.BUILD_INFO}


def test_promtool_accepts_the_exposition() -> None:
    promtool = require_tool("promtool")
    snapshot, _, _ = _snapshot_with_certs()  # type: ignore[misc]
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=metrics.render(snapshot),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_mesh_info_carries_the_linkerd_version() -> None:
    mesh = MeshState(linkerd_version="stable-2.14.10", anchors_from="linkerd/x")
    snap = next_snapshot(None, observed(mesh=mesh), CheckResult(), T0, 0.1)
    samples = [
        s
        for family in text_string_to_metric_families(metrics.render(snap).decode())
        for s in family.samples
        if s.name == metrics.MESH_INFO
    ]
    assert [(s.labels, s.value) for s in samples] == [
        ({"linkerd_version": "stable-2.14.10", "anchors_from": "linkerd/x"}, 1.0)
    ]


def test_readme_documents_exactly_the_metric_names() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    documented = set(re.findall(r"`(f5_linkerd_[a-z_]+)`", readme))
    assert documented == set(metrics.METRIC_NAMES)


def _snapshot_with_rotation_and_findings() -> Snapshot:
    extra = finding("pool_member_extra", "bigip-a", "10.0.0.9:443")
    states = (
        CheckState("pool_member_extra", "shop", "warning"),
        CheckState("sni_mismatch", "shop", "pass"),
    )
    first = next_snapshot(None, observed(), CheckResult(states, (extra,)), T0, 0.1)
    plan = RotationPlan("shop", "issuer_rotated", "the issuer moved to the new anchor")
    return next_snapshot(
        first, observed(), CheckResult(states, (extra,)), T1, 0.1, rotation=(plan,)
    )


def test_rotation_phase_is_a_full_state_set_and_findings_have_first_seen() -> None:
    snap = _snapshot_with_rotation_and_findings()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(metrics.render(snap).decode())
        for s in family.samples
    }
    phases = {
        dict(labels)["phase"]: value
        for (name, labels), value in samples.items()
        if name == metrics.ROTATION_PHASE
    }
    assert phases == {phase: (1 if phase == "issuer_rotated" else 0) for phase in PHASES}
    first_seen = (
        ("boundary", "shop"),
        ("check", "pool_member_extra"),
        ("device", "bigip-a"),
        ("object", "10.0.0.9:443"),
        ("severity", "warning"),
    )
    assert samples[(metrics.FINDING_FIRST_SEEN, first_seen)] == T0.timestamp()
    for check in ("pool_member_extra", "sni_mismatch"):
        labels = (("boundary", "shop"), ("check", check))
        assert samples[(metrics.FINDINGS_IGNORED, labels)] == 0


def test_promtool_accepts_the_rotation_and_finding_families() -> None:
    promtool = require_tool("promtool")
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=metrics.render(_snapshot_with_rotation_and_findings()),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
