# ruff: noqa: E501
# (the expected exposition text below has the long lines Prometheus exposition has)
"""Golden exposition: the full /metrics text of a small fixed snapshot, byte for byte.

The snapshot covers every family: a boundary (`shop` on bigip-a) with its CA bundle, client
certificate and chain, and edge certificate (expired, still exported) and chain, and an
ssl-cert no boundary uses (in the store's series only, scope="store"); a pool
with one member of each state; a finding; a rotation phase; a source that is up, one with
an error, and a configured one not polled yet; the process status. Fingerprints and dates
are fixed, so the text is stable; ordering is part of the contract (dashboards and diffs
of scrapes rely on it). `promtool check metrics` must accept it.
"""

from __future__ import annotations

import dataclasses
import platform
import subprocess
from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from monitor import __version__
from monitor.certs import CertFacts
from monitor.daemon.cycle import configured_sources
from monitor.model import (
    CheckResult,
    CheckState,
    DeviceInfo,
    Finding,
    Issuer,
    Observed,
    SourceError,
    SourceStatus,
    SslCert,
)
from monitor.render import exposition, metrics
from monitor.rotation.plan import RotationPlan
from monitor.state.snapshot import ProcessStatus, PushStats, Snapshot, next_snapshot
from tests.support import checkdata as cd
from tests.support.certhelpers import Issued
from tests.support.tools import require_tool

T = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def _fixed(issued: Issued, digit: int, start: datetime, end: datetime) -> CertFacts:
    """`issued` with a fingerprint of one repeated digit and fixed dates."""
    return dataclasses.replace(
        issued.facts, fingerprint_sha256=str(digit) * 64, not_before=start, not_after=end
    )


ANCHOR = _fixed(cd.ANCHOR, 1, T - 400 * DAY, T + 3000 * DAY)
ISSUER = _fixed(cd.ISSUER, 2, T - 10 * DAY, T + 355 * DAY)
CLIENT = _fixed(cd.CLIENT_CERT, 3, T - DAY, T + 2 * DAY)
EDGE = _fixed(cd.EDGE_CERT, 4, T - 100 * DAY, T - DAY)  # expired, and still served
EDGE_CA = _fixed(cd.EDGE_ISSUING, 5, T - 900 * DAY, T + 900 * DAY)


def _ssl(facts: CertFacts, path: str, parsed: bool = True) -> SslCert:
    """An ssl-cert as BIG-IP lists it; `parsed`: its PEM was read (not_before known)."""
    return SslCert(
        path,
        False,
        facts.fingerprint_sha256,
        facts.not_after,
        facts.subject,
        facts.issuer,
        facts if parsed else None,
    )


def golden_snapshot() -> Snapshot:
    cfg = cd.config(cd.shop(devices=["bigip-a"]))
    members = (("10.42.0.11", 443), ("10.42.0.12", 8080), ("10.42.0.99", 443))
    f5 = cd.f5(
        "bigip-a",
        pools={cd.SHOP_POOL: cd.pool(cd.SHOP_POOL, *members)},
        certs={
            cd.CLIENT_CERT_PATH: _ssl(CLIENT, cd.CLIENT_CERT_PATH),
            cd.CLIENT_CHAIN_PATH: _ssl(ISSUER, cd.CLIENT_CHAIN_PATH),
            cd.EDGE_CERT_PATH: _ssl(EDGE, cd.EDGE_CERT_PATH),
            cd.EDGE_CHAIN_PATH: _ssl(EDGE_CA, cd.EDGE_CHAIN_PATH),
            "/Common/unused.crt": _ssl(EDGE_CA, "/Common/unused.crt"),  # no boundary uses it
        },
        bundles={cd.SHOP_BUNDLE: cd.bundle(_ssl(ANCHOR, "/Common/anchor.crt", parsed=False))},
    )
    peer = DeviceInfo("bigip-b.example.net", "bigip-b.example.net", "standby", "17.1.1", "", False)
    me = DeviceInfo("bigip-a.example.net", "bigip-a.example.net", "active", "17.1.1", "", True)
    f5 = dataclasses.replace(f5, version="17.1.1", devices=(me, peer))
    ready = (cd.endpoint(address, 443) for address in ("10.42.0.11", "10.42.0.12", "10.42.0.13"))
    mesh = dataclasses.replace(
        cd.mesh(),
        anchors=(ANCHOR,),
        issuer=Issuer("kubernetes.io/tls", ISSUER, ()),
        services={"ingress/nginx-ingress": cd.service("ingress", "nginx-ingress", "443", *ready)},
        anchors_from="linkerd/linkerd-identity-trust-roots",
        issuer_from="linkerd/linkerd-identity-issuer",
    )
    expired = SourceError("watch_expired", "too old resource version", "pods")
    sources = (
        SourceStatus("bigip-a", "bigip", up=True, duration_seconds=0.5, requests={"200": 14}),
        SourceStatus(
            "kubernetes",
            "kubernetes",
            up=False,
            errors=(expired,),
            duration_seconds=0.25,
            requests={"200": 3, "410": 1},
        ),
    )
    observed = Observed(f5={"bigip-a": f5}, mesh=mesh, sources=sources)
    extra = Finding("pool_member_extra", "warning", "shop", "bigip-a", "10.42.0.99:443", "extra")
    states = (
        CheckState("pool_member_extra", "shop", "warning"),
        CheckState("trust_anchor_expiry", "shop", "pass"),
    )
    snapshot = next_snapshot(
        None,
        observed,
        CheckResult(states, (extra,)),
        T,
        0.75,
        rotation=(RotationPlan("shop", "steady", "nothing to do"),),
        config=cfg,
    )
    process = ProcessStatus(sources=configured_sources(cfg), reload_success_at=T - DAY)
    return dataclasses.replace(snapshot, process=process)


def _versions(text: str) -> str:
    return text.replace("@PYTHON@", platform.python_version()).replace("@VERSION@", __version__)


GOLDEN = """\
# HELP f5_linkerd_build_info Build information of f5-linkerd-monitor; always 1.
# TYPE f5_linkerd_build_info gauge
f5_linkerd_build_info{python_version="@PYTHON@",version="@VERSION@"} 1.0
# HELP f5_linkerd_leader 1 when this replica is the one that polls, checks and alerts (always 1 without leader election); a follower exports no snapshot series. Refreshed each poll interval and when leadership changes.
# TYPE f5_linkerd_leader gauge
f5_linkerd_leader 1.0
# HELP f5_linkerd_config_last_reload_successful 1 when the last load of the config file (at start, on SIGHUP or on a change of the file) succeeded; 0 while an invalid file is ignored. Refreshed each poll interval and on each reload.
# TYPE f5_linkerd_config_last_reload_successful gauge
f5_linkerd_config_last_reload_successful 1.0
# HELP f5_linkerd_config_last_reload_success_timestamp_seconds Unix time of the last successful load of the config file. Refreshed each poll interval and on each reload.
# TYPE f5_linkerd_config_last_reload_success_timestamp_seconds gauge
f5_linkerd_config_last_reload_success_timestamp_seconds 1.795608e+09
# HELP f5_linkerd_mesh_info The Linkerd control plane as read from the cluster (version from its pods' linkerd.io/proxy-version annotation; empty when unknown); always 1. Refreshed each poll interval.
# TYPE f5_linkerd_mesh_info gauge
f5_linkerd_mesh_info{anchors_from="linkerd/linkerd-identity-trust-roots",linkerd_version="stable-2.14.10"} 1.0
# HELP f5_linkerd_bigip_info A BIG-IP device read this cycle: its TMOS version (from the REST answers), and from cm/device its hostname and failover state (empty when unknown); always 1. Refreshed each poll interval.
# TYPE f5_linkerd_bigip_info gauge
f5_linkerd_bigip_info{device="bigip-a",failover_state="active",hostname="bigip-a.example.net",version="17.1.1"} 1.0
# HELP f5_linkerd_bigip_tls_verify 1 when the BIG-IP's TLS certificate is verified (caFile), 0 with insecure: true. Refreshed each poll interval.
# TYPE f5_linkerd_bigip_tls_verify gauge
f5_linkerd_bigip_tls_verify{device="bigip-a"} 1.0
f5_linkerd_bigip_tls_verify{device="bigip-b"} 1.0
# HELP f5_linkerd_check State of a check for a boundary: one series per state, 1 for the current one (pass, warning, critical, unknown). Refreshed each poll interval.
# TYPE f5_linkerd_check gauge
f5_linkerd_check{boundary="shop",check="pool_member_extra",state="pass"} 0.0
f5_linkerd_check{boundary="shop",check="pool_member_extra",state="warning"} 1.0
f5_linkerd_check{boundary="shop",check="pool_member_extra",state="critical"} 0.0
f5_linkerd_check{boundary="shop",check="pool_member_extra",state="unknown"} 0.0
f5_linkerd_check{boundary="shop",check="trust_anchor_expiry",state="pass"} 1.0
f5_linkerd_check{boundary="shop",check="trust_anchor_expiry",state="warning"} 0.0
f5_linkerd_check{boundary="shop",check="trust_anchor_expiry",state="critical"} 0.0
f5_linkerd_check{boundary="shop",check="trust_anchor_expiry",state="unknown"} 0.0
# HELP f5_linkerd_findings_ignored Findings of a check for a boundary that ignore rules silence (they are not counted in f5_linkerd_check). Refreshed each poll interval.
# TYPE f5_linkerd_findings_ignored gauge
f5_linkerd_findings_ignored{boundary="shop",check="pool_member_extra"} 0.0
f5_linkerd_findings_ignored{boundary="shop",check="trust_anchor_expiry"} 0.0
# HELP f5_linkerd_finding_first_seen_timestamp_seconds Unix time a finding (not ignored) was first seen; kept across restarts with a state file. Refreshed each poll interval.
# TYPE f5_linkerd_finding_first_seen_timestamp_seconds gauge
f5_linkerd_finding_first_seen_timestamp_seconds{boundary="shop",check="pool_member_extra",device="bigip-a",object="10.42.0.99:443",severity="warning"} 1.7956944e+09
# HELP f5_linkerd_rotation_phase Trust-anchor rotation phase of a boundary: one series per phase, 1 for the current one (see `f5-linkerd-monitor rotation`). Refreshed each poll interval.
# TYPE f5_linkerd_rotation_phase gauge
f5_linkerd_rotation_phase{boundary="shop",phase="steady"} 1.0
f5_linkerd_rotation_phase{boundary="shop",phase="new_anchor_in_mesh"} 0.0
f5_linkerd_rotation_phase{boundary="shop",phase="new_anchor_staged_everywhere"} 0.0
f5_linkerd_rotation_phase{boundary="shop",phase="issuer_rotated"} 0.0
f5_linkerd_rotation_phase{boundary="shop",phase="old_anchor_removable"} 0.0
f5_linkerd_rotation_phase{boundary="shop",phase="broken"} 0.0
f5_linkerd_rotation_phase{boundary="shop",phase="unknown"} 0.0
# HELP f5_linkerd_certificate_not_after_timestamp_seconds Expiry (not-after) of a certificate a boundary depends on, as a Unix time; role is trust_anchor, issuer, bundle_cert, client_cert or edge_cert. Refreshed each poll interval.
# TYPE f5_linkerd_certificate_not_after_timestamp_seconds gauge
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="1111111111111111111111111111111111111111111111111111111111111111",object="linkerd/linkerd-identity-trust-roots",role="trust_anchor",source="kubernetes"} 2.0548944e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="2222222222222222222222222222222222222222222222222222222222222222",object="linkerd/linkerd-identity-issuer",role="issuer",source="kubernetes"} 1.8263664e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="1111111111111111111111111111111111111111111111111111111111111111",object="/k8s/Shared/serverssl_ca_bundle",role="bundle_cert",source="bigip-a"} 2.0548944e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="2222222222222222222222222222222222222222222222222222222222222222",object="/Common/bigip-client-chain.crt",role="client_cert",source="bigip-a"} 1.8263664e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="3333333333333333333333333333333333333333333333333333333333333333",object="/Common/bigip-client.crt",role="client_cert",source="bigip-a"} 1.7958672e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="4444444444444444444444444444444444444444444444444444444444444444",object="/k8s/Shared/shop_443_cert.crt",role="edge_cert",source="bigip-a"} 1.795608e+09
f5_linkerd_certificate_not_after_timestamp_seconds{fingerprint="5555555555555555555555555555555555555555555555555555555555555555",object="/k8s/Shared/shop_443_chain.crt",role="edge_cert",source="bigip-a"} 1.8734544e+09
# HELP f5_linkerd_certificate_not_before_timestamp_seconds Start of validity (not-before) of a certificate a boundary depends on, as a Unix time (when its PEM was read). Refreshed each poll interval.
# TYPE f5_linkerd_certificate_not_before_timestamp_seconds gauge
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="1111111111111111111111111111111111111111111111111111111111111111",object="linkerd/linkerd-identity-trust-roots",role="trust_anchor",source="kubernetes"} 1.7611344e+09
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="2222222222222222222222222222222222222222222222222222222222222222",object="linkerd/linkerd-identity-issuer",role="issuer",source="kubernetes"} 1.7948304e+09
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="2222222222222222222222222222222222222222222222222222222222222222",object="/Common/bigip-client-chain.crt",role="client_cert",source="bigip-a"} 1.7948304e+09
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="3333333333333333333333333333333333333333333333333333333333333333",object="/Common/bigip-client.crt",role="client_cert",source="bigip-a"} 1.795608e+09
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="4444444444444444444444444444444444444444444444444444444444444444",object="/k8s/Shared/shop_443_cert.crt",role="edge_cert",source="bigip-a"} 1.7870544e+09
f5_linkerd_certificate_not_before_timestamp_seconds{fingerprint="5555555555555555555555555555555555555555555555555555555555555555",object="/k8s/Shared/shop_443_chain.crt",role="edge_cert",source="bigip-a"} 1.7179344e+09
# HELP f5_linkerd_bigip_certificate_not_after_timestamp_seconds Expiry of every ssl-cert in a BIG-IP's configured partitions (less excludeCertificates), as a Unix time; scope is boundary when a boundary uses the file, else store; a bundle file: its earliest member when read, else the one its REST fields describe. Refreshed each poll interval.
# TYPE f5_linkerd_bigip_certificate_not_after_timestamp_seconds gauge
f5_linkerd_bigip_certificate_not_after_timestamp_seconds{device="bigip-a",partition="Common",path="/Common/bigip-client-chain.crt",scope="boundary"} 1.8263664e+09
f5_linkerd_bigip_certificate_not_after_timestamp_seconds{device="bigip-a",partition="Common",path="/Common/bigip-client.crt",scope="boundary"} 1.7958672e+09
f5_linkerd_bigip_certificate_not_after_timestamp_seconds{device="bigip-a",partition="Common",path="/Common/unused.crt",scope="store"} 1.8734544e+09
f5_linkerd_bigip_certificate_not_after_timestamp_seconds{device="bigip-a",partition="k8s",path="/k8s/Shared/shop_443_cert.crt",scope="boundary"} 1.795608e+09
f5_linkerd_bigip_certificate_not_after_timestamp_seconds{device="bigip-a",partition="k8s",path="/k8s/Shared/shop_443_chain.crt",scope="boundary"} 1.8734544e+09
# HELP f5_linkerd_pool_members Pool members of a boundary on a device by state: matched (a ready endpoint), extra (not a ready endpoint), port_mismatch (a ready endpoint's address on another port), missing (a ready endpoint that is no member); absent while the pool or the endpoints are unknown. Refreshed each poll interval.
# TYPE f5_linkerd_pool_members gauge
f5_linkerd_pool_members{boundary="shop",device="bigip-a",state="matched"} 1.0
f5_linkerd_pool_members{boundary="shop",device="bigip-a",state="extra"} 1.0
f5_linkerd_pool_members{boundary="shop",device="bigip-a",state="missing"} 1.0
f5_linkerd_pool_members{boundary="shop",device="bigip-a",state="port_mismatch"} 1.0
# HELP f5_linkerd_source_up 1 when the last poll of the source read everything the checks need, else 0 (also before its first poll). Refreshed each poll interval.
# TYPE f5_linkerd_source_up gauge
f5_linkerd_source_up{source="bigip",target="bigip-a"} 1.0
f5_linkerd_source_up{source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_up{source="kubernetes",target="kubernetes"} 0.0
# HELP f5_linkerd_source_last_success_timestamp_seconds Unix time of the last complete poll of the source; 0 when none since the start. Refreshed each poll interval.
# TYPE f5_linkerd_source_last_success_timestamp_seconds gauge
f5_linkerd_source_last_success_timestamp_seconds{source="bigip",target="bigip-a"} 1.7956944e+09
f5_linkerd_source_last_success_timestamp_seconds{source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_last_success_timestamp_seconds{source="kubernetes",target="kubernetes"} 0.0
# HELP f5_linkerd_source_poll_duration_seconds Seconds the last poll of the source took. Refreshed each poll interval.
# TYPE f5_linkerd_source_poll_duration_seconds gauge
f5_linkerd_source_poll_duration_seconds{source="bigip",target="bigip-a"} 0.5
f5_linkerd_source_poll_duration_seconds{source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_poll_duration_seconds{source="kubernetes",target="kubernetes"} 0.25
# HELP f5_linkerd_source_errors_total Errors of the source's polls by reason code, since the exporter started; every reason starts at 0. Refreshed each poll interval.
# TYPE f5_linkerd_source_errors_total counter
f5_linkerd_source_errors_total{reason="auth_failed",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="bad_json",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="bad_pem",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="connect_error",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="credentials_unreadable",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="http_401",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="http_403",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="http_404",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="http_4xx",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="http_5xx",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="internal_error",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="paging_loop",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="protocol_error",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="rate_limited",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="response_too_large",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="timeout",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="tls_error",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="watch_expired",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_errors_total{reason="auth_failed",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="bad_json",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="bad_pem",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="connect_error",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="credentials_unreadable",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="http_401",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="http_403",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="http_404",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="http_4xx",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="http_5xx",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="internal_error",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="paging_loop",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="protocol_error",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="rate_limited",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="response_too_large",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="timeout",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="tls_error",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="watch_expired",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_errors_total{reason="auth_failed",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="bad_json",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="bad_pem",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="connect_error",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="credentials_unreadable",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="http_401",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="http_403",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="http_404",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="http_4xx",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="http_5xx",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="internal_error",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="paging_loop",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="protocol_error",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="rate_limited",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="response_too_large",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="timeout",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="tls_error",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_errors_total{reason="watch_expired",source="kubernetes",target="kubernetes"} 1.0
# HELP f5_linkerd_source_requests_total Requests the source sent, by HTTP status code of the answer (error: none), since the exporter started; the usual codes start at 0. Refreshed each poll interval.
# TYPE f5_linkerd_source_requests_total counter
f5_linkerd_source_requests_total{code="200",source="bigip",target="bigip-a"} 14.0
f5_linkerd_source_requests_total{code="400",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="401",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="403",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="404",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="410",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="429",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="500",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="502",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="503",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="504",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="error",source="bigip",target="bigip-a"} 0.0
f5_linkerd_source_requests_total{code="200",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="400",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="401",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="403",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="404",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="410",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="429",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="500",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="502",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="503",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="504",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="error",source="bigip",target="bigip-b"} 0.0
f5_linkerd_source_requests_total{code="200",source="kubernetes",target="kubernetes"} 3.0
f5_linkerd_source_requests_total{code="400",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="401",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="403",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="404",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="410",source="kubernetes",target="kubernetes"} 1.0
f5_linkerd_source_requests_total{code="429",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="500",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="502",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="503",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="504",source="kubernetes",target="kubernetes"} 0.0
f5_linkerd_source_requests_total{code="error",source="kubernetes",target="kubernetes"} 0.0
# HELP f5_linkerd_cycle_duration_seconds Seconds the last poll-and-check cycle took. Refreshed each poll interval.
# TYPE f5_linkerd_cycle_duration_seconds gauge
f5_linkerd_cycle_duration_seconds 0.75
# HELP f5_linkerd_last_cycle_timestamp_seconds Unix time at which the last cycle finished. Refreshed each poll interval.
# TYPE f5_linkerd_last_cycle_timestamp_seconds gauge
f5_linkerd_last_cycle_timestamp_seconds 1.7956944e+09
"""


FOLLOWER = """\
# HELP f5_linkerd_build_info Build information of f5-linkerd-monitor; always 1.
# TYPE f5_linkerd_build_info gauge
f5_linkerd_build_info{python_version="@PYTHON@",version="@VERSION@"} 1.0
# HELP f5_linkerd_leader 1 when this replica is the one that polls, checks and alerts (always 1 without leader election); a follower exports no snapshot series. Refreshed each poll interval and when leadership changes.
# TYPE f5_linkerd_leader gauge
f5_linkerd_leader 0.0
# HELP f5_linkerd_config_last_reload_successful 1 when the last load of the config file (at start, on SIGHUP or on a change of the file) succeeded; 0 while an invalid file is ignored. Refreshed each poll interval and on each reload.
# TYPE f5_linkerd_config_last_reload_successful gauge
f5_linkerd_config_last_reload_successful 0.0
# HELP f5_linkerd_config_last_reload_success_timestamp_seconds Unix time of the last successful load of the config file. Refreshed each poll interval and on each reload.
# TYPE f5_linkerd_config_last_reload_success_timestamp_seconds gauge
f5_linkerd_config_last_reload_success_timestamp_seconds 1.795608e+09
# HELP f5_linkerd_poll_interval_seconds Seconds between two polls (`poll.interval` of the config in force), for alerts on sources that stop succeeding. Refreshed each poll interval and on each reload.
# TYPE f5_linkerd_poll_interval_seconds gauge
f5_linkerd_poll_interval_seconds 60.0
# HELP f5_linkerd_alertmanager_pushes_total POSTs of the findings to Alertmanager's /api/v2/alerts by result (accepted: 2xx; failed: no answer or another status), since the exporter started. Refreshed each poll interval.
# TYPE f5_linkerd_alertmanager_pushes_total counter
f5_linkerd_alertmanager_pushes_total{result="accepted"} 3.0
f5_linkerd_alertmanager_pushes_total{result="failed"} 1.0
# HELP f5_linkerd_alertmanager_last_push_success_timestamp_seconds Unix time Alertmanager last accepted a push; 0 when none since the start. Refreshed each poll interval.
# TYPE f5_linkerd_alertmanager_last_push_success_timestamp_seconds gauge
f5_linkerd_alertmanager_last_push_success_timestamp_seconds 1.7956944e+09
# HELP f5_linkerd_alertmanager_alerts Alerts in the latest push by state: firing, or resolved and still re-sent (for 15 minutes after the finding went). Refreshed each poll interval.
# TYPE f5_linkerd_alertmanager_alerts gauge
f5_linkerd_alertmanager_alerts{state="firing"} 2.0
f5_linkerd_alertmanager_alerts{state="resolved"} 1.0
"""


def test_the_exposition_of_the_golden_snapshot_is_exactly_the_expected_text() -> None:
    assert exposition.render(golden_snapshot()).decode() == _versions(GOLDEN)


# A follower with `alertmanager:` configured (it pushes nothing, yet keeps its totals).
FOLLOWER_STATUS = ProcessStatus(
    leader=False,
    leader_election=True,
    reload_successful=False,
    reload_success_at=T - DAY,
    poll_interval=60,
    push=PushStats(sent=3, failed=1, firing=2, resolved=1, last_success=T),
)


def test_a_follower_exports_only_its_process_status() -> None:
    assert exposition.render(None, FOLLOWER_STATUS).decode() == _versions(FOLLOWER)


def test_the_push_and_the_interval_are_left_out_when_unknown() -> None:
    text = exposition.render(
        None, dataclasses.replace(FOLLOWER_STATUS, poll_interval=0, push=None)
    ).decode()
    assert metrics.POLL_INTERVAL not in text
    assert "alertmanager" not in text


def test_every_help_text_says_when_the_value_is_refreshed() -> None:
    for text in (exposition.render(golden_snapshot()), exposition.render(None, FOLLOWER_STATUS)):
        for family in text_string_to_metric_families(text.decode()):
            if family.name != metrics.BUILD_INFO:
                assert "Refreshed each poll interval" in family.documentation, family.name


def test_promtool_accepts_the_golden_and_the_follower_exposition() -> None:
    promtool = require_tool("promtool")
    for text in (exposition.render(golden_snapshot()), exposition.render(None, FOLLOWER_STATUS)):
        result = subprocess.run(
            [promtool, "check", "metrics"], input=text, capture_output=True, timeout=30, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout + result.stderr == b"", result.stdout + result.stderr
