"""The snapshot bookkeeping (first-seen, carry-over) and the exposition text it renders."""

from __future__ import annotations

import dataclasses
import re
import subprocess
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from monitor.certs import CertFacts, parse_pem_bundle
from monitor.config.schema import Config
from monitor.model import (
    REASONS,
    CaBundle,
    CertKeyChain,
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
from monitor.render import exposition, metrics
from monitor.rotation.context import PHASES
from monitor.rotation.plan import RotationPlan
from monitor.state.snapshot import KNOWN_CODES, ProcessStatus, Snapshot, next_snapshot
from tests.support import checkdata as cd
from tests.support.certhelpers import anchor as make_anchor
from tests.support.certhelpers import intermediate
from tests.support.paths import ROOT
from tests.support.tools import require_tool

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=1)
T2 = T0 + timedelta(minutes=2)
ERRORS = metrics.SOURCE_ERRORS + "_total"
REQUESTS = metrics.SOURCE_REQUESTS + "_total"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

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


def _snapshot_with_certs() -> tuple[Snapshot, CertFacts, CertFacts]:
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
    f5 = cd.f5("bigip-a", bundles={cd.SHOP_BUNDLE: CaBundle(cd.SHOP_BUNDLE, (member,), "bash")})
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
    snapshot = next_snapshot(None, obs, CheckResult(states), T0, 0.75, config=cd.config())
    return snapshot, anchor, issuer


def test_exposition_has_a_full_state_set_and_certificate_timestamps() -> None:
    snapshot, anchor, issuer = _snapshot_with_certs()
    text = exposition.render(snapshot).decode()
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
            ("object", cd.SHOP_BUNDLE),
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
    snapshot, _, _ = _snapshot_with_certs()
    text = exposition.render(snapshot).decode()
    names = {family.name for family in text_string_to_metric_families(text)}
    assert names <= set(metrics.METRIC_NAMES)
    assert metrics.BUILD_INFO in names


def test_before_the_first_cycle_only_build_info_is_exposed() -> None:
    names = {f.name for f in text_string_to_metric_families(exposition.render(None).decode())}
    assert names == {metrics.BUILD_INFO}


def test_promtool_accepts_the_exposition() -> None:
    promtool = require_tool("promtool")
    snapshot, _, _ = _snapshot_with_certs()
    result = subprocess.run(
        [promtool, "check", "metrics"],
        input=exposition.render(snapshot),
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
        for family in text_string_to_metric_families(exposition.render(snap).decode())
        for s in family.samples
        if s.name == metrics.MESH_INFO
    ]
    assert [(s.labels, s.value) for s in samples] == [
        ({"linkerd_version": "stable-2.14.10", "anchors_from": "linkerd/x"}, 1.0)
    ]


def test_readme_documents_exactly_the_metric_names() -> None:
    readme = (ROOT / "docs" / "metrics.md").read_text()
    section = readme.split("\n## Metric names\n", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(f5_linkerd_[a-z_]+)`", section))
    assert documented == set(metrics.METRIC_NAMES)
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    mentioned = set(re.findall(r"\b(f5_linkerd_[a-z_]+)", "".join(p.read_text() for p in pages)))
    assert mentioned <= set(metrics.METRIC_NAMES), mentioned - set(metrics.METRIC_NAMES)


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
        for family in text_string_to_metric_families(exposition.render(snap).decode())
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
        input=exposition.render(_snapshot_with_rotation_and_findings()),
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


# --- certificates by role, pool members, what disappears ----------------------------------


def _samples(snapshot: Snapshot | None, process: ProcessStatus | None = None) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(exposition.render(snapshot, process).decode())
        for s in family.samples
    }


def _cert_series(samples: Samples) -> set[tuple[str, str, str]]:
    """(role, source, object) of every not-after series."""
    out = set()
    for name, labels in samples:
        if name == metrics.CERT_NOT_AFTER:
            found = dict(labels)
            out.add((found["role"], found["source"], found["object"]))
    return out


def _cycle(
    f5: Mapping[str, F5State] | None = None,
    mesh: MeshState | None = None,
    cfg: Config | None = None,
    previous: Snapshot | None = None,
    sources: tuple[SourceStatus, ...] | None = None,
) -> Snapshot:
    cfg = cfg or cd.config()
    devices = {"bigip-a": cd.f5("bigip-a")} if f5 is None else dict(f5)
    if sources is None:
        sources = (
            *(SourceStatus(name, "bigip", up=True) for name in devices),
            SourceStatus("kubernetes", "kubernetes", up=True),
        )
    obs = Observed(f5=devices, mesh=mesh or cd.mesh(), sources=sources)
    return next_snapshot(previous, obs, CheckResult(), T0, 0.1, config=cfg)


def test_certificates_are_exported_by_the_role_the_boundary_gives_them() -> None:
    # the bash reader stores chain files among `bundles`: they are still client/edge certs
    chain = CaBundle(
        cd.CLIENT_CHAIN_PATH, (cd.ssl_cert(cd.ISSUER, "x"), cd.ssl_cert(cd.ANCHOR, "y")), "bash"
    )
    edge_chain = CaBundle(cd.EDGE_CHAIN_PATH, (cd.ssl_cert(cd.EDGE_ISSUING, "z"),), "bash")
    device = cd.f5(
        "bigip-a",
        bundles={
            **cd.f5("bigip-a").bundles,
            cd.CLIENT_CHAIN_PATH: chain,
            cd.EDGE_CHAIN_PATH: edge_chain,
            "/Common/unused_bundle": cd.bundle(cd.ssl_cert(cd.ANCHOR, "u"), path="/Common/u"),
        },
    )
    series = _cert_series(_samples(_cycle({"bigip-a": device})))
    assert series == {
        ("trust_anchor", "kubernetes", ""),
        ("issuer", "kubernetes", ""),
        ("bundle_cert", "bigip-a", cd.SHOP_BUNDLE),
        ("client_cert", "bigip-a", cd.CLIENT_CERT_PATH),
        ("client_cert", "bigip-a", cd.CLIENT_CHAIN_PATH),
        ("edge_cert", "bigip-a", cd.EDGE_CERT_PATH),
        ("edge_cert", "bigip-a", cd.EDGE_CHAIN_PATH),
    }
    chain_rows = [
        dict(labels)["fingerprint"]
        for name, labels in _samples(_cycle({"bigip-a": device}))
        if name == metrics.CERT_NOT_AFTER and dict(labels)["object"] == cd.CLIENT_CHAIN_PATH
    ]
    assert sorted(chain_rows) == sorted(c.facts.fingerprint_sha256 for c in (cd.ISSUER, cd.ANCHOR))


def test_series_of_deleted_objects_vanish_and_an_expired_certificate_keeps_its_series() -> None:
    expired = cd.ssl_cert(cd.EDGE_CERT, cd.EDGE_CERT_PATH)
    expired = dataclasses.replace(expired, not_after=T0 - timedelta(days=3))
    first = _cycle(
        {"bigip-a": cd.f5("bigip-a", certs={**cd.bigip_certs(), cd.EDGE_CERT_PATH: expired})}
    )
    assert ("edge_cert", "bigip-a", cd.EDGE_CERT_PATH) in _cert_series(_samples(first))
    # next cycle: the client-ssl profile no longer names a chain, the bundle is gone
    profile = cd.client_ssl_profile(
        cert_key_chain=(CertKeyChain("shop", cd.EDGE_CERT_PATH, "/k8s/Shared/k.key", None),)
    )
    device = cd.f5(
        "bigip-a",
        certs={**cd.bigip_certs(), cd.EDGE_CERT_PATH: expired},
        client_ssl={cd.SHOP_CLIENT_SSL: profile},
        bundles={},
    )
    second = _cycle({"bigip-a": device}, previous=first)
    series = _cert_series(_samples(second))
    assert ("edge_cert", "bigip-a", cd.EDGE_CERT_PATH) in series  # expired, still observed
    assert ("edge_cert", "bigip-a", cd.EDGE_CHAIN_PATH) not in series
    assert ("bundle_cert", "bigip-a", cd.SHOP_BUNDLE) not in series


def test_a_device_that_could_not_be_read_has_no_certificate_or_pool_series() -> None:
    down = (
        SourceStatus("bigip-a", "bigip", up=False),
        SourceStatus("kubernetes", "kubernetes", up=True),
    )
    samples = _samples(_cycle({}, sources=down))
    assert {role for role, _, _ in _cert_series(samples)} == {"trust_anchor", "issuer"}
    assert not [k for k in samples if k[0] == metrics.POOL_MEMBERS]


def _not_after(samples: Samples) -> dict[tuple[str, str, str, str], float]:
    """(role, source, object, fingerprint) → not-after of every certificate series."""
    out = {}
    for (name, labels), value in samples.items():
        if name == metrics.CERT_NOT_AFTER:
            found = dict(labels)
            out[(found["role"], found["source"], found["object"], found["fingerprint"])] = value
    return out


def test_a_failed_poll_keeps_the_certificate_series_of_the_last_read() -> None:
    """An expiry series must not vanish (and its alert resolve) because a source could not
    be read: it keeps the value of the last complete read; pool counts are not carried."""
    read = _cycle()
    before = _not_after(_samples(read))
    assert {role for role, _, _, _ in before} == {
        "trust_anchor",
        "issuer",
        "bundle_cert",
        "client_cert",
        "edge_cert",
    }
    down = (
        SourceStatus("bigip-a", "bigip", up=False),
        SourceStatus("kubernetes", "kubernetes", up=False),
    )
    failed = _cycle({}, mesh=MeshState(), previous=read, sources=down)
    samples = _samples(failed)
    assert _not_after(samples) == before
    assert not [k for k in samples if k[0] == metrics.POOL_MEMBERS]
    # a read where only the ssl-cert collection failed: the certificates of the last
    # complete read, still; and that partial read does not become the one to fall back to
    partial = dataclasses.replace(cd.f5("bigip-a"), failed=frozenset({"sys/file/ssl-cert"}))
    alone = _not_after(_samples(_cycle({"bigip-a": partial})))
    assert {role for role, _, _, _ in alone} == {"trust_anchor", "issuer"}  # nothing to fall on
    assert _not_after(_samples(_cycle({"bigip-a": partial}, previous=failed))) == before
    later = _cycle({}, mesh=MeshState(), previous=_cycle({"bigip-a": partial}, previous=failed))
    assert _not_after(_samples(later)) == before


def test_a_device_removed_from_the_config_loses_its_carried_series() -> None:
    read = _cycle()
    cfg = cd.config()
    fewer = dataclasses.replace(
        cfg,
        bigip=tuple(d for d in cfg.bigip if d.name != "bigip-a"),
        boundaries=tuple(
            dataclasses.replace(b, devices=tuple(n for n in b.devices if n != "bigip-a"))
            for b in cfg.boundaries
        ),
    )
    gone = _cycle({}, previous=read, cfg=fewer)
    assert "bigip-a" not in gone.known_f5
    assert {source for _, source, _, _ in _not_after(_samples(gone))} == {"kubernetes"}


def test_pool_members_are_counted_by_state_like_the_member_checks() -> None:
    pool = cd.pool(cd.SHOP_POOL, ("10.42.0.11", 443), ("10.42.0.12", 8080), ("10.9.9.9", 443))
    ready = [cd.endpoint(a, 443) for a in ("10.42.0.11", "10.42.0.12", "10.42.0.13")]
    not_ready = cd.endpoint("10.42.0.14", 443, ready=False)
    service = cd.service("ingress", "nginx-ingress", "443", *ready, not_ready)
    mesh = cd.mesh(services={"ingress/nginx-ingress": service})
    pool_b = cd.pool(cd.SHOP_POOL, ("10.42.0.14", 443))  # a not-ready endpoint: extra
    snapshot = _cycle(
        {
            "bigip-a": cd.f5("bigip-a", pools={cd.SHOP_POOL: pool}),
            "bigip-b": cd.f5("bigip-b", pools={cd.SHOP_POOL: pool_b}),
        },
        mesh,
    )
    counts = {
        (dict(labels)["device"], dict(labels)["state"]): value
        for (name, labels), value in _samples(snapshot).items()
        if name == metrics.POOL_MEMBERS
    }
    assert counts == {
        ("bigip-a", "matched"): 1,
        ("bigip-a", "extra"): 1,
        ("bigip-a", "missing"): 1,  # 10.42.0.13 (10.42.0.12 is reached, on the wrong port)
        ("bigip-a", "port_mismatch"): 1,
        ("bigip-b", "matched"): 0,
        ("bigip-b", "extra"): 1,
        ("bigip-b", "missing"): 3,
        ("bigip-b", "port_mismatch"): 0,
    }
    unknown = _cycle(mesh=cd.mesh(services={"ingress/nginx-ingress": None}))
    assert not [k for k in _samples(unknown) if k[0] == metrics.POOL_MEMBERS]


def test_counters_of_a_source_removed_from_the_config_disappear() -> None:
    both = cd.config()
    first = _cycle({"bigip-a": cd.f5("bigip-a"), "bigip-b": cd.f5("bigip-b")}, cfg=both)
    targets = {dict(k[1]).get("target") for k in _samples(first) if k[0] == ERRORS}
    assert targets == {"bigip-a", "bigip-b", "kubernetes"}
    only_a = cd.config(cd.shop(devices=["bigip-a"]))
    second = _cycle({"bigip-a": cd.f5("bigip-a")}, cfg=only_a, previous=first)
    targets = {dict(k[1]).get("target") for k in _samples(second) if k[0] == ERRORS}
    assert targets == {"bigip-a", "kubernetes"}


def test_before_its_first_cycle_a_leader_exports_every_source_at_zero() -> None:
    status = ProcessStatus(sources=(("bigip", "bigip-a"), ("kubernetes", "kubernetes")))
    samples = _samples(None, status)
    bigip = (("source", "bigip"), ("target", "bigip-a"))
    assert samples[(metrics.SOURCE_UP, bigip)] == 0
    assert samples[(metrics.SOURCE_LAST_SUCCESS, bigip)] == 0
    assert samples[(metrics.SOURCE_POLL_DURATION, bigip)] == 0
    for reason in REASONS:
        assert samples[(ERRORS, (("reason", reason), *bigip))] == 0
    for code in KNOWN_CODES:
        assert samples[(REQUESTS, (("code", code), *bigip))] == 0
    assert samples[(metrics.LEADER, ())] == 1
    assert samples[(metrics.RELOAD_OK, ())] == 1
    assert samples[(metrics.RELOAD_SUCCESS, ())] == 0  # never: no time given
    assert not [k for k in samples if k[0] in (metrics.CHECK, metrics.CERT_NOT_AFTER)]


def test_the_process_status_attached_to_a_snapshot_is_rendered_with_it() -> None:
    snapshot = _cycle()
    status = ProcessStatus(leader=True, reload_successful=False, reload_success_at=T0)
    samples = _samples(dataclasses.replace(snapshot, process=status))
    assert samples[(metrics.RELOAD_OK, ())] == 0
    assert samples[(metrics.RELOAD_SUCCESS, ())] == T0.timestamp()
    assert (metrics.LEADER, ()) not in _samples(snapshot)  # `check`: no process status


def test_tls_verify_is_0_for_an_insecure_device() -> None:
    cfg = cd.config()
    insecure = dataclasses.replace(cfg.bigip[1], insecure=True, ca_file=None)
    cfg = dataclasses.replace(cfg, bigip=(cfg.bigip[0], insecure))
    samples = _samples(_cycle(cfg=cfg))
    assert samples[(metrics.TLS_VERIFY, (("device", cfg.bigip[0].name),))] == 1
    assert samples[(metrics.TLS_VERIFY, (("device", insecure.name),))] == 0
