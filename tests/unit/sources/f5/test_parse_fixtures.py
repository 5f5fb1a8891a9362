"""Conformance: every captured iControl REST response in ../shared/fixtures/f5 → our facts.

One test per capture, through the same parsers the BIG-IP source uses. The captures
live outside the repository (some are GPL-3.0 test data of f5-ansible) and are read
from there, never copied; the tests skip where the folder is absent and fail under
CI=true (`tests/conftest.shared_fixtures`).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from monitor.certs import dn_common_name, reports_san
from monitor.model import ServerSslProfile
from monitor.sources.f5.bundles import build_bundles
from monitor.sources.f5.ha import parse_device, parse_sync_status, stats_fields
from monitor.sources.f5.paging import version_of
from monitor.sources.f5.parse import (
    parse_client_ssl,
    parse_items,
    parse_member,
    parse_pool,
    parse_server_ssl,
    parse_ssl_cert,
    parse_virtual,
)
from monitor.sources.f5.paths import parse_destination
from tests.conftest import shared_fixtures

STARFIELD = "b5bd2cb79cbd1907298d6bdf4842e516d8c78fa6fc96d25f71af814e16cc245e"


def load(name: str) -> Any:
    return json.loads((shared_fixtures("f5") / name).read_text())


def items(doc: Any, parse: Any) -> dict[str, Any]:
    parsed, errors = parse_items(parse, [("Common", i) for i in doc["items"]], "x", "bigip-a")
    assert errors == []
    return parsed


def test_every_capture_has_a_test_here() -> None:
    names = {p.name for p in shared_fixtures("f5").glob("*.json")}
    tested = {
        "e-xpert_cm_sync_status_high_availability_v14.1.4.6.json",
        "genieparser_cm_failover_status_v14.1.2.1.json",
        "genieparser_cm_sync_status_standalone_v14.1.2.1.json",
        "genieparser_ltm_profile_server_ssl_collection_v14.1.2.1.json",
        "genieparser_ltm_virtual_collection_v14.1.2.1.json",
        "genieparser_sys_crypto_cert_collection_v14.1.2.1.json",
        "genieparser_sys_file_ssl_cert_collection_v14.1.2.1.json",
        "genieparser_sys_version_v14.1.2.1.json",
        "load_ltm_pool.json",
        "load_ltm_profile_clientssl.json",
        "load_ltm_profile_serverssl_1.json",
        "load_ltm_virtual_3.json",
        "load_sys_file_ssl_cert_with_issuer_cert.json",
        "load_tm_cm_device.json",
        "pool_members_subcollection.json",
    }
    assert names == tested


def test_sync_status_of_an_ha_pair_keeps_every_detail() -> None:
    doc = load("e-xpert_cm_sync_status_high_availability_v14.1.4.6.json")
    sync = parse_sync_status(doc)
    assert (sync.color, sync.mode, sync.summary) == (
        "green",
        "high-availability",
        "All devices in the device group are in sync",
    )
    assert sync.status == "offline"  # what the device said; color and details say in sync
    assert sync.details == (
        "i5800b-1.labo.e-xpertsolutions.lan: connected",
        "All devices in the device group are in sync",
        "In Sync): All devices in the device group are in sync",  # truncated on the device
        "(In Sync): All devices in the device group are in sync",
        "datasync-global-dg (In Sync): All devices in the device group are in sync",
        "device_trust_group (In Sync): All devices in the device group are in sync",
    )
    assert version_of(doc, []) == "14.1.4.6"


def test_sync_status_standalone() -> None:
    sync = parse_sync_status(load("genieparser_cm_sync_status_standalone_v14.1.2.1.json"))
    assert (sync.color, sync.status, sync.mode, sync.summary) == (
        "green",
        "Standalone",
        "standalone",
        "",
    )
    assert sync.details == ("Optional action: Add a device to the trust domain",)


def test_failover_status_has_the_same_shape() -> None:
    failover = parse_sync_status(load("genieparser_cm_failover_status_v14.1.2.1.json"))
    assert (failover.status, failover.color, failover.summary) == ("ACTIVE", "green", "1/1 active")
    assert failover.details == ("active for /Common/traffic-group-1",)


def test_sys_version() -> None:
    doc = load("genieparser_sys_version_v14.1.2.1.json")
    fields = stats_fields(doc)
    assert (fields["Version"], fields["Build"], fields["Product"]) == (
        "14.1.2.1",
        "0.0.4",
        "BIG-IP",
    )
    assert version_of(doc, []) == "14.1.2.1"


def test_cm_device() -> None:
    device = parse_device(load("load_tm_cm_device.json"))
    assert (device.name, device.hostname, device.failover_state) == ("bigip1", "bigip1", "active")
    assert (device.version, device.management_ip, device.self_device) == (
        "12.1.2",
        "10.0.2.15",
        True,
    )


def test_server_ssl_collection() -> None:
    profiles = items(
        load("genieparser_ltm_profile_server_ssl_collection_v14.1.2.1.json"), parse_server_ssl
    )
    assert len(profiles) == 7
    apm = profiles["/Common/apm-default-serverssl"]
    assert (apm.ca_file, apm.peer_cert_mode) == ("/Common/ca-bundle.crt", "require")
    assert (apm.server_name, apm.authenticate_name, apm.cert) == (None, None, None)
    assert apm.tm_options == ("dont-insert-empty-fragments", "no-tlsv1.3")
    pcoip = profiles["/Common/pcoip-default-serverssl"]
    assert (pcoip.server_name, pcoip.ca_file, pcoip.peer_cert_mode) == (
        "pcoip-default-sni",
        None,
        "ignore",
    )
    split = profiles["/Common/splitsession-default-serverssl"]
    assert (split.cert, split.key, split.chain) == (
        "/Common/default.crt",
        "/Common/default.key",
        None,
    )
    assert all(
        (p.expire_cert_response_control, p.untrusted_cert_response_control) == ("drop", "drop")
        for p in profiles.values()
    )


def test_server_ssl_object() -> None:
    profile = parse_server_ssl(load("load_ltm_profile_serverssl_1.json"))
    assert profile == ServerSslProfile(
        path="/Common/asda",
        ca_file=None,
        peer_cert_mode="ignore",
        server_name=None,
        authenticate_name=None,
        expire_cert_response_control="drop",
        untrusted_cert_response_control="drop",
        tm_options=("dont-insert-empty-fragments",),
        cert=None,
        key=None,
        chain="/Common/default.crt",
    )


def test_client_ssl_object() -> None:
    profile = parse_client_ssl(load("load_ltm_profile_clientssl.json"))
    assert profile.path == "/Common/foo"
    assert [(c.name, c.cert, c.key, c.chain) for c in profile.cert_key_chain] == [
        ("default", "/Common/default.crt", "/Common/default.key", None)
    ]
    assert (profile.server_name, profile.sni_default) == (None, False)


def test_virtual_with_expanded_profiles() -> None:
    virtual = parse_virtual(load("load_ltm_virtual_3.json"))
    assert (virtual.path, virtual.enabled, virtual.pool) == (
        "/Common/my-virtual-server",
        True,
        None,
    )
    assert [(p.path, p.context, p.kind) for p in virtual.profiles] == [
        ("/Common/clientssl", "clientside", "client-ssl"),
        ("/Common/http", "all", "http"),
        ("/Common/tcp", "clientside", "tcp"),
        ("/Common/tcp-legacy", "serverside", "tcp"),
    ]
    assert virtual.clientside_ssl() == ("/Common/clientssl",)
    destination = parse_destination(virtual.destination)
    assert destination is not None
    assert destination.endpoint == "10.10.10.10:443"


def test_virtual_collection_enabled_and_disabled() -> None:
    virtuals = items(load("genieparser_ltm_virtual_collection_v14.1.2.1.json"), parse_virtual)
    assert len(virtuals) == 7
    disabled = [path for path, v in virtuals.items() if not v.enabled]
    assert disabled == ["/Common/vs-tcp-9007-Test-Project-7-Test-LOB-7-10.1.1.7"]
    vip1 = virtuals["/Common/vip1"]
    assert (vip1.pool, vip1.destination, vip1.profiles) == (
        "/Common/pool1",
        "/Common/1.1.1.2:80",
        (),
    )
    assert all(parse_destination(v.destination) is not None for v in virtuals.values())


def test_ssl_cert_collection_and_its_bundle() -> None:
    certs = items(load("genieparser_sys_file_ssl_cert_collection_v14.1.2.1.json"), parse_ssl_cert)
    assert sorted(certs) == [
        "/Common/ca-bundle.crt",
        "/Common/default.crt",
        "/Common/f5-ca-bundle.crt",
        "/Common/f5-irule.crt",
    ]
    bundle = certs["/Common/ca-bundle.crt"]
    assert bundle.is_bundle
    assert bundle.fingerprint == STARFIELD
    assert bundle.not_after == datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)
    default = certs["/Common/default.crt"]
    assert not default.is_bundle
    assert default.not_after == datetime.fromtimestamp(1886076929, UTC)
    assert default.subject.startswith("emailAddress=root@localhost.localdomain,CN=localhost")
    # a bundle's top-level fields describe one of its certificates: never its contents
    profile = parse_server_ssl({"fullPath": "/Common/p", "caFile": "/Common/ca-bundle.crt"})
    [made] = build_bundles({"/Common/p": profile}, certs, {}, ("Common",)).values()
    assert made.members is None
    single = parse_server_ssl({"fullPath": "/Common/q", "caFile": "/Common/default.crt"})
    [known] = build_bundles({"/Common/q": single}, certs, {}, ("Common",)).values()
    assert known.members == (default,)


def test_ssl_cert_names_from_the_captured_subjects() -> None:
    """14.1.2.1 lists no subjectAlternativeName on these certificates (none has the SAN
    extension); the CN is read from BIG-IP's unescaped, most-specific-first subject."""
    doc = load("genieparser_sys_file_ssl_cert_collection_v14.1.2.1.json")
    assert version_of(doc, doc["items"]) == "14.1.2.1"
    assert reports_san(version_of(doc, doc["items"]))
    certs = items(doc, parse_ssl_cert)
    assert all(c.alt_names is None for c in certs.values())
    assert dn_common_name(certs["/Common/default.crt"].subject) == "localhost.localdomain"
    # `O=Starfield Technologies, Inc.` holds a comma that is not an RDN boundary
    bundle = certs["/Common/ca-bundle.crt"]
    assert dn_common_name(bundle.subject) == "Starfield Services Root Certificate Authority"
    assert dn_common_name(certs["/Common/f5-irule.crt"].issuer) == "support.f5.com"


def test_ssl_cert_of_13_0_does_not_prove_an_absent_san() -> None:
    doc = load("load_sys_file_ssl_cert_with_issuer_cert.json")
    assert version_of(doc, []) == "13.0.0"
    assert not reports_san("13.0.0")
    cert = parse_ssl_cert(doc)
    assert cert.alt_names is None
    assert dn_common_name(cert.subject) == "ocsp.example.com"


def test_crypto_cert_collection_gives_fingerprints_but_no_epoch_expiry() -> None:
    certs = items(load("genieparser_sys_crypto_cert_collection_v14.1.2.1.json"), parse_ssl_cert)
    assert certs["/Common/ca-bundle.crt"].fingerprint == STARFIELD
    assert all(c.not_after is None for c in certs.values())  # only the text form exists there


def test_ssl_cert_with_issuer_cert() -> None:
    cert = parse_ssl_cert(load("load_sys_file_ssl_cert_with_issuer_cert.json"))
    assert (cert.path, cert.is_bundle, cert.fingerprint) == (
        "/Common/ocsp.example.com.crt",
        False,
        None,
    )
    assert cert.not_after == datetime.fromtimestamp(1545199767, UTC)
    assert cert.issuer.startswith("CN=Alice Ltd Intermediate CA,")


def test_pool_without_expanded_members() -> None:
    pool = parse_pool(load("load_ltm_pool.json"))
    assert (pool.path, pool.members) == ("/Common/test_pool", ())


def test_pool_members_subcollection() -> None:
    [member] = [parse_member(m, "Common") for m in load("pool_members_subcollection.json")]
    assert (member.address, member.port, member.name) == ("1.1.1.1", 80, "1.1.1.1:80")
    assert (member.partition, member.session, member.state) == ("Common", "user-disabled", "up")
    assert member.endpoint == "1.1.1.1:80"
