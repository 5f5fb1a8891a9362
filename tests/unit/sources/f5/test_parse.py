"""The pure parts of the BIG-IP source: JSON → model, CA bundle contents, error texts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from monitor.model import CaBundle, ServerSslProfile, SslCert
from monitor.sources.errors import status_reason
from monitor.sources.f5.bundles import build_bundles
from monitor.sources.f5.paging import encode_query, next_url, version_of
from monitor.sources.f5.parse import (
    Malformed,
    epoch_time,
    member_port,
    parse_ca_bundle_manager,
    parse_client_ssl,
    parse_items,
    parse_pool,
    parse_server_ssl,
    parse_ssl_cert,
    parse_virtual,
    tm_options,
)
from monitor.sources.http_errors import exception_reason, response_text, scrub

FP = "AB:" * 31 + "CD"
V = "?ver=15.1.10.2"


def profile_ref(path: str, kind: str, context: str = "all") -> dict[str, Any]:
    encoded = path.replace("/", "~")
    link = f"https://localhost/mgmt/tm/ltm/profile/{kind}/{encoded}{V}"
    return {"fullPath": path, "context": context, "nameReference": {"link": link}}


# -- virtuals --------------------------------------------------------------------------


def test_virtual_with_expanded_profiles() -> None:
    v = parse_virtual(
        {
            "name": "shop_443",
            "partition": "k8s",
            "subPath": "Shared",
            "destination": "/k8s/203.0.113.10:443",
            "enabled": True,
            "pool": "/k8s/Shared/p",
            "profilesReference": {
                "link": "x",
                "isSubcollection": True,
                "items": [
                    profile_ref("/k8s/Shared/srv", "server-ssl", "serverside"),
                    profile_ref("/k8s/Shared/cli", "client-ssl", "clientside"),
                    profile_ref("/Common/tcp", "tcp"),
                    {"fullPath": "/Common/odd", "context": 3},
                ],
            },
        }
    )
    assert v.path == "/k8s/Shared/shop_443"  # built from partition/subPath/name
    assert (v.destination, v.enabled, v.pool) == ("/k8s/203.0.113.10:443", True, "/k8s/Shared/p")
    assert [(p.path, p.context, p.kind) for p in v.profiles] == [
        ("/k8s/Shared/srv", "serverside", "server-ssl"),
        ("/k8s/Shared/cli", "clientside", "client-ssl"),
        ("/Common/tcp", "all", "tcp"),
        ("/Common/odd", "all", "unknown"),
    ]
    assert v.serverside_ssl() == ("/k8s/Shared/srv",)


@pytest.mark.parametrize(
    ("fields", "enabled"),
    [
        ({"disabled": True}, False),
        ({"enabled": True}, True),
        ({}, True),
        ({"disabled": "true"}, False),
    ],
)
def test_virtual_enabled_is_the_absence_of_disabled(fields: dict[str, Any], enabled: bool) -> None:
    assert parse_virtual({"fullPath": "/Common/v", **fields}).enabled is enabled


def test_virtual_without_pool_or_expanded_profiles() -> None:
    v = parse_virtual(
        {
            "fullPath": "/Common/v",
            "pool": "none",
            "profilesReference": {"link": "x", "isSubcollection": True},
        }
    )
    assert (v.pool, v.profiles, v.destination) == (None, (), "")


# -- pools -----------------------------------------------------------------------------


def member(name: str, address: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "address": address, "partition": "k8s", **more}


def test_pool_members_ipv6_route_domains_and_node_names() -> None:
    pool = parse_pool(
        {
            "fullPath": "/k8s/Shared/p",
            "membersReference": {
                "items": [
                    member("10.42.0.11:443", "10.42.0.11", session="user-enabled", state="up"),
                    member("2001:db8::1.443", "2001:db8::1"),
                    member("10.0.0.1%2:8443", "10.0.0.1%2"),
                    member("2001:db8::2%3.80", "2001:db8::2%3"),
                    member("n1:80", "192.168.51.51"),
                ]
            },
        }
    )
    assert [(m.address, m.port) for m in pool.members] == [
        ("10.42.0.11", 443),
        ("2001:db8::1", 443),
        ("10.0.0.1", 8443),
        ("2001:db8::2", 80),
        ("192.168.51.51", 80),
    ]
    assert pool.members[1].endpoint == "[2001:db8::1]:443"
    assert (pool.members[0].session, pool.members[0].state) == ("user-enabled", "up")
    assert pool.members[4].name == "n1:80"


def test_pool_without_expanded_members_is_empty_and_member_partition_defaults() -> None:
    assert parse_pool({"fullPath": "/Common/p", "membersReference": {"link": "x"}}).members == ()
    pool = parse_pool(
        {"fullPath": "/k8s/p", "membersReference": {"items": [{"name": "a:1", "address": "a"}]}}
    )
    assert pool.members[0].partition == "k8s"


@pytest.mark.parametrize(
    ("name", "port"),
    [("1.1.1.1:80", 80), ("2001:db8::1.443", 443), ("::ffff:10.0.0.1.8080", 8080), ("x:any", 0)],
)
def test_member_port(name: str, port: int) -> None:
    assert member_port(name) == port


@pytest.mark.parametrize("name", ["1.1.1.1", "2001:db8::1", "x:99999", ""])
def test_member_port_rejects_odd_names(name: str) -> None:
    with pytest.raises(Malformed):
        member_port(name)


# -- SSL profiles ----------------------------------------------------------------------


def test_server_ssl_none_references_and_tm_options_string() -> None:
    p = parse_server_ssl(
        {
            "fullPath": "/Common/serverssl",
            "caFile": "none",
            "peerCertMode": "ignore",
            "serverName": "none",
            "authenticateName": "none",
            "cert": "none",
            "key": "none",
            "chain": "none",
            "tmOptions": "{ dont-insert-empty-fragments no-tlsv1.3 }",
        }
    )
    assert p == ServerSslProfile(
        path="/Common/serverssl",
        ca_file=None,
        peer_cert_mode="ignore",
        server_name=None,
        authenticate_name=None,
        expire_cert_response_control="drop",
        untrusted_cert_response_control="drop",
        tm_options=("dont-insert-empty-fragments", "no-tlsv1.3"),
        cert=None,
        key=None,
        chain=None,
    )


@pytest.mark.parametrize(("value", "expected"), [("true", True), ("false", False), (None, False)])
def test_server_ssl_sni_default(value: Any, expected: bool) -> None:
    item = {"fullPath": "/k8s/Shared/p", "sniDefault": value}
    assert parse_server_ssl(item).sni_default is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["a", "no-tlsv1.3"], ("a", "no-tlsv1.3")),
        ("{ a b }", ("a", "b")),
        ("none", ()),
        ("{ }", ()),
        (None, ()),
        (7, ()),
    ],
)
def test_tm_options_forms(value: Any, expected: tuple[str, ...]) -> None:
    assert tm_options(value) == expected


def test_client_ssl_cert_key_chain_and_old_top_level_form() -> None:
    p = parse_client_ssl(
        {
            "fullPath": "/k8s/Shared/tls_server",
            "certKeyChain": [
                {"name": "a", "cert": "/Common/a.crt", "key": "/Common/a.key", "chain": "none"},
                {"name": "b", "cert": "/Common/b.crt", "key": "/Common/b.key"},
            ],
            "serverName": "shop.example.com",
            "sniDefault": "true",
        }
    )
    assert [(c.name, c.cert, c.chain) for c in p.cert_key_chain] == [
        ("a", "/Common/a.crt", None),
        ("b", "/Common/b.crt", None),
    ]
    assert (p.server_name, p.sni_default) == ("shop.example.com", True)
    old = parse_client_ssl(
        {"fullPath": "/Common/c", "cert": "/Common/x.crt", "key": "/Common/x.key", "chain": "none"}
    )
    assert [(c.cert, c.key) for c in old.cert_key_chain] == [("/Common/x.crt", "/Common/x.key")]
    assert (old.server_name, old.sni_default) == (None, False)


# -- certificates ----------------------------------------------------------------------


def test_ssl_cert_fields() -> None:
    c = parse_ssl_cert(
        {
            "fullPath": "/Common/ca-bundle.crt",
            "isBundle": "true",
            "fingerprint": f"SHA256/{FP}",
            "expirationDate": 1893455999,
            "subject": "CN=Starfield",
            "issuer": "CN=Starfield",
        }
    )
    assert c.is_bundle
    assert c.fingerprint == "ab" * 31 + "cd"
    assert c.not_after == datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert c.not_after is not None
    assert c.not_after.tzinfo is UTC
    odd = parse_ssl_cert(
        {"fullPath": "/Common/x", "isBundle": "false", "fingerprint": "md5/xx", "subject": 5}
    )
    assert (odd.is_bundle, odd.fingerprint, odd.not_after, odd.subject) == (False, None, None, "5")


def test_ssl_cert_subject_alternative_name() -> None:
    item = {
        "fullPath": "/Common/shop.crt",
        "subject": "CN=shop.example.com,O=Shop, Inc.,C=US",
        "subjectAlternativeName": "DNS:shop.example.com, DNS:www.shop.example.com",
    }
    names = parse_ssl_cert(item).alt_names
    assert names is not None
    assert (names.common_name, names.dns, names.source) == (
        "shop.example.com",
        ("shop.example.com", "www.shop.example.com"),
        "ssl-cert",
    )
    absent = parse_ssl_cert({"fullPath": "/Common/shop.crt", "subject": "CN=x"})
    assert absent.alt_names is None  # what absence means depends on the TMOS version
    parsed, errors = parse_items(
        parse_ssl_cert,
        [("Common", {**item, "subjectAlternativeName": ["DNS:x"]})],
        "sys/file/ssl-cert",
        "bigip-a",
    )
    assert parsed == {}
    assert [e.reason for e in errors] == ["bad_json"]
    assert "subjectAlternativeName is list, not a string" in errors[0].message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, datetime(1970, 1, 1, tzinfo=UTC)),
        ("1893455999", datetime(2029, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (True, None),
        (-5, None),
        (10**15, None),
        ("Oct  7 14:15:29 2029 GMT", None),
        (None, None),
    ],
)
def test_epoch_time(value: Any, expected: datetime | None) -> None:
    assert epoch_time(value) == expected


def test_ca_bundle_manager_include_bundle() -> None:
    assert parse_ca_bundle_manager(
        {"fullPath": "/k8s/Shared/b", "includeBundle": ["/k8s/Shared/a.crt", "/Common/r.crt"]}
    ) == ("/k8s/Shared/b", ("/k8s/Shared/a.crt", "/Common/r.crt"))
    assert parse_ca_bundle_manager({"fullPath": "/Common/e"}) == ("/Common/e", ())
    with pytest.raises(Malformed):
        parse_ca_bundle_manager({"fullPath": "/Common/e", "includeBundle": [1]})


def test_parse_items_skips_malformed_items_and_names_them() -> None:
    items = [
        ("Common", {"fullPath": "/Common/a", "destination": "/Common/1.1.1.1:80"}),
        ("Common", {"destination": "x"}),
        ("Common", ["not", "an", "object"]),
        ("k8s", {"fullPath": "/k8s/b", "destination": {"odd": 1}}),
        ("k8s", {"fullPath": "/Common/a", "destination": "repeated"}),
    ]
    out, errors = parse_items(parse_virtual, items, "ltm/virtual", "bigip-a")
    assert list(out) == ["/Common/a"]
    assert out["/Common/a"].destination == "/Common/1.1.1.1:80"  # first occurrence wins
    assert [e.message for e in errors] == [
        "bigip-a: item 2 of ltm/virtual (partition Common): no fullPath (nor name and partition)",
        "bigip-a: item 3 of ltm/virtual (partition Common): expected an object, got list",
        "bigip-a: item 1 of ltm/virtual (partition k8s) (/k8s/b): destination is dict,"
        " not a string",
    ]
    assert {(e.reason, e.target) for e in errors} == {("bad_json", "ltm/virtual")}


# -- CA bundles ------------------------------------------------------------------------


def cert(path: str, fp: str | None, bundle: bool = False) -> SslCert:
    return SslCert(path, bundle, fp, None, f"CN={path}", "CN=x")


def server(path: str, ca_file: str | None) -> ServerSslProfile:
    return ServerSslProfile(
        path, ca_file, "require", None, None, "drop", "drop", (), None, None, None
    )


CERTS = {
    c.path: c
    for c in (
        cert("/k8s/Shared/anchor_a.crt", "aa"),
        cert("/k8s/Shared/anchor_b.crt", "bb"),
        cert("/Common/root.crt", "cc"),
        cert("/Common/ca-bundle.crt", "dd", bundle=True),
        cert("/k8s/Shared/made", "bb", bundle=True),
        cert("/k8s/Shared/made2.crt", "aa", bundle=True),
    )
}
MANAGERS = {
    "/k8s/Shared/made": (
        "/k8s/Shared/anchor_a.crt",
        "/k8s/Shared/anchor_b.crt",
        "/k8s/Shared/anchor_a.crt",
    ),
    "/k8s/Shared/made2": ("/k8s/Shared/anchor_a.crt",),
    "/k8s/Shared/outer": ("/k8s/Shared/made", "/Common/root.crt"),
    "/k8s/Shared/broken": ("/k8s/Shared/gone.crt",),
    "/k8s/Shared/loop": ("/k8s/Shared/loop_file",),
    "/k8s/Shared/system": ("/Common/ca-bundle.crt",),
}


def bundles(*ca_files: str, **kw: Any) -> dict[str, CaBundle]:
    profiles = {f"/p/{i}": server(f"/p/{i}", ca) for i, ca in enumerate(ca_files)}
    profiles["/p/none"] = server("/p/none", None)
    certs = {**CERTS, "/k8s/Shared/loop_file": cert("/k8s/Shared/loop_file", "ee", bundle=True)}
    managers = {**MANAGERS, "/k8s/Shared/loop_file": ("/k8s/Shared/loop_file",)}
    return build_bundles(profiles, certs, managers, ("Common", "k8s"), **kw)


def test_bundle_members_from_the_manager_each_once_in_order() -> None:
    got = bundles("/k8s/Shared/made", "/k8s/Shared/made2.crt", "/k8s/Shared/outer")
    made = got["/k8s/Shared/made"]
    assert made.reader == "ca-bundle-manager"
    assert [m.fingerprint for m in made.members or ()] == ["aa", "bb"]
    # the manager path without .crt describes the .crt file
    assert [m.fingerprint for m in got["/k8s/Shared/made2.crt"].members or ()] == ["aa"]
    # a member that is itself a manager's bundle is expanded
    outer = got["/k8s/Shared/outer"]
    assert [m.fingerprint for m in outer.members or ()] == ["aa", "bb", "cc"]
    assert set(got) == {"/k8s/Shared/made", "/k8s/Shared/made2.crt", "/k8s/Shared/outer"}


def test_bundle_top_level_fields_are_never_its_contents() -> None:
    got = bundles("/Common/ca-bundle.crt", "/k8s/Shared/system")
    system = got["/Common/ca-bundle.crt"]
    assert (system.members, system.reader) == (None, "none")
    assert system.unknown_reason == (
        "no ca-bundle-manager object describes /Common/ca-bundle.crt;"
        " its contents cannot be read through the REST API"
    )
    assert got["/k8s/Shared/system"].members is None
    assert "is itself a bundle" in got["/k8s/Shared/system"].unknown_reason


def test_bundle_unknown_cases() -> None:
    got = bundles(
        "/k8s/Shared/broken", "/k8s/Shared/loop", "/Other/x.crt", "/k8s/Shared/nothing.crt"
    )
    assert got["/k8s/Shared/broken"].unknown_reason == (
        "member /k8s/Shared/gone.crt of ca-bundle-manager /k8s/Shared/broken:"
        " it was not found among the ssl-certs read"
    )
    assert got["/k8s/Shared/loop"].members is None
    assert "partition Other, which is not among" in got["/Other/x.crt"].unknown_reason
    assert (
        got["/k8s/Shared/nothing.crt"].unknown_reason
        == "no ssl-cert /k8s/Shared/nothing.crt was found"
    )
    assert all(b.members is None for b in got.values())


def test_single_certificate_ca_file_is_known() -> None:
    single = bundles("/Common/root.crt")["/Common/root.crt"]
    assert (single.reader, single.members) == ("ssl-cert", (CERTS["/Common/root.crt"],))


def test_bundles_unknown_when_certificates_unreadable_or_reader_none() -> None:
    why = "sys/file/ssl-cert could not be read completely (http_5xx)"
    got = bundles("/k8s/Shared/made", unreadable=why)
    assert got["/k8s/Shared/made"] == CaBundle("/k8s/Shared/made", None, "none", why)
    off = bundles("/k8s/Shared/made", bundle_reader="none")["/k8s/Shared/made"]
    assert off.members is None
    assert "bundleReader is none" in off.unknown_reason


# -- errors and paging helpers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (401, "http_401"),
        (403, "http_403"),
        (404, "http_404"),
        (409, "http_4xx"),
        (429, "rate_limited"),
        (500, "http_5xx"),
        (503, "http_5xx"),
        (302, "protocol_error"),
    ],
)
def test_status_reason(status: int, reason: str) -> None:
    assert status_reason(status) == reason


def test_exception_reason() -> None:
    request = httpx.Request("GET", "https://x/")
    assert exception_reason(httpx.ConnectTimeout("t", request=request)) == "timeout"
    assert exception_reason(httpx.ConnectError("refused", request=request)) == "connect_error"
    tls = httpx.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed")
    assert exception_reason(tls) == "tls_error"
    assert exception_reason(httpx.ReadError("reset", request=request)) == "protocol_error"
    assert exception_reason(httpx.RemoteProtocolError("incomplete")) == "protocol_error"


def test_body_text_shapes() -> None:
    long = httpx.Response(500, json={"code": 500, "message": "x" * 500})
    assert len(response_text(long)) == 200
    assert response_text(httpx.Response(500, text="<html>no title</html>")) == "HTML error page"
    assert response_text(httpx.Response(500, text="plain words")) == "body is not JSON"
    assert response_text(httpx.Response(500, json={"code": 500})) == "no message in the error body"


def test_scrub_replaces_secrets() -> None:
    assert scrub("token ABC in ABC", ["ABC", ""]) == "token *** in ***"


def test_paging_helpers() -> None:
    assert encode_query([("$filter", "partition eq k8s"), ("$select", "a,b")]) == (
        "$filter=partition+eq+k8s&$select=a,b"
    )
    url = next_url(
        "https://localhost/mgmt/tm/ltm/pool?%24top=2&%24skip=4&ver=1",
        [("$filter", "partition eq k8s"), ("$top", "2"), ("$skip", "0")],
    )
    assert url == "/mgmt/tm/ltm/pool?$top=2&$skip=4&ver=1&$filter=partition+eq+k8s"
    assert version_of({"selfLink": "https://localhost/mgmt/tm/ltm/pool?a=1&ver=16.1.3"}, []) == (
        "16.1.3"
    )
    assert version_of({}, [{"selfLink": "https://localhost/x?ver=17.1.0"}]) == "17.1.0"
    assert version_of({}, []) == ""
