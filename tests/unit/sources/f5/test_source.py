"""F5Source against the simulated BIG-IP over real TLS: reading, paging, auth (faults:
test_source_faults.py)."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from monitor.config.schema import Config, parse_config
from monitor.model import F5State, SourceStatus
from monitor.simulate.faults import Fault
from monitor.sources.f5.source import COLLECTIONS, F5Source
from tests.support.sim_bigip import PASSWORD, USER, Running, certs, render, running

LOGIN = ("POST", "/mgmt/shared/authn/login")
SHOP_SNI = "nginx.ingress.serviceaccount.identity.linkerd.cluster.local"


def sha256(cert_id: str) -> str:
    return hashlib.sha256(certs()[cert_id].der).hexdigest()


def small_section() -> dict[str, Any]:
    """One device, partitions Common and k8s, a boundary's worth of objects."""
    return {
        "credentials": {"username": USER, "password": PASSWORD},
        "devices": [{"name": "solo"}],
        "config": {
            "partitions": ["Common", "k8s"],
            "sslCerts": [
                {"path": "/Common/edge.crt", "cert": "edge-rsa"},
                {"path": "/Common/public_root.crt", "cert": "public-root"},
                {"path": "/Common/legacy_bundle.crt", "bundle": ["anchor-a", "public-root"]},
                {"path": "/k8s/Shared/linkerd_anchor_a.crt", "cert": "anchor-a"},
                {"path": "/k8s/Shared/bigip_client.crt", "cert": "bigip-client"},
            ],
            "caBundleManagers": [
                {
                    "path": "/k8s/Shared/serverssl_ca_bundle",
                    "includeBundle": [
                        "/k8s/Shared/linkerd_anchor_a.crt",
                        "/Common/public_root.crt",
                    ],
                },
                {"path": "/Common/nested_bundle", "includeBundle": ["/Common/legacy_bundle.crt"]},
            ],
            "clientSslProfiles": [
                {
                    "path": "/k8s/Shared/shop_443_tls_server",
                    "certKeyChain": [{"cert": "/Common/edge.crt", "key": "/Common/edge.key"}],
                    "serverName": "shop.example.com",
                    "sniDefault": True,
                }
            ],
            "serverSslProfiles": [
                {
                    "path": "/k8s/Shared/shop_443_tls_client",
                    "caFile": "/k8s/Shared/serverssl_ca_bundle",
                    "peerCertMode": "require",
                    "serverName": SHOP_SNI,
                    "authenticateName": SHOP_SNI,
                    "cert": "/k8s/Shared/bigip_client.crt",
                    "key": "/k8s/Shared/bigip_client.key",
                    "tmOptions": ["dont-insert-empty-fragments"],
                },
                {"path": "/Common/legacy_serverssl", "caFile": "/Common/legacy_bundle.crt"},
                {"path": "/Common/nested_serverssl", "caFile": "/Common/nested_bundle"},
                {"path": "/Common/anchor_serverssl", "caFile": "/k8s/Shared/linkerd_anchor_a.crt"},
            ],
            "pools": [
                {
                    "path": "/k8s/Shared/nginx_ingress_443",
                    "monitor": "/Common/https",
                    "members": [
                        {"address": "10.42.0.11", "port": 443},
                        {"address": "2001:db8::11", "port": 8443},
                        {"address": "10.0.0.1%2", "port": 443, "state": "down"},
                    ],
                }
            ],
            "virtuals": [
                {
                    "path": "/k8s/Shared/shop_443",
                    "destination": "203.0.113.10:443",
                    "pool": "/k8s/Shared/nginx_ingress_443",
                    "profiles": [
                        {"path": "/Common/f5-tcp-progressive", "context": "all"},
                        {"path": "/k8s/Shared/shop_443_tls_server"},
                        {"path": "/k8s/Shared/shop_443_tls_client"},
                    ],
                },
                {"path": "/Common/edge_vs", "destination": "10.10.10.10:443", "enabled": False},
            ],
        },
    }


def make_config(tmp_path: Path, url: str, ca_pem: str, **settings: Any) -> Config:
    """A Config for device `solo` at `url`; `settings` override bigip/poll keys."""
    ca = tmp_path / "bigip-ca.pem"
    ca.write_text(ca_pem)
    password = tmp_path / "password"
    if not password.exists():
        password.write_text(PASSWORD + "\n")
    device: dict[str, Any] = {
        "name": "solo",
        "url": url,
        "username": USER,
        "passwordFile": str(password),
        "caFile": str(ca),
        "partitions": ["Common", "k8s"],
    }
    poll: dict[str, Any] = {"interval": "60s", "timeout": "5s"}
    for key, value in settings.items():
        (poll if key in ("interval", "timeout", "f5PageSize", "f5Concurrency") else device)[key] = (
            value
        )
    data = {
        "bigip": [device],
        "boundaries": [
            {
                "name": "shop",
                "mode": "mesh-tls",
                "devices": ["solo"],
                "virtual": "/k8s/Shared/shop_443",
                "backend": {"service": {"namespace": "ingress", "name": "nginx", "port": 443}},
            }
        ],
        "poll": poll,
    }
    return parse_config(data, tmp_path)


@dataclass
class World:
    rt: Running
    source: F5Source
    cfg: Config

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        return self.source.poll()

    def stats_by(self, method: str, path: str) -> int:
        return self.rt.sim.stats("solo").by_endpoint.get((method, path), 0)


def no_sleep(seconds: float) -> None:
    del seconds


@contextmanager
def world(
    tmp_path: Path, section: dict[str, Any] | None = None, **settings: Any
) -> Iterator[World]:
    """The simulated `section` and an F5Source on it (retries do not wait)."""
    with running(render(section or small_section())) as rt:
        cfg = make_config(tmp_path, rt.sim.url("solo"), rt.ca_pem, **settings)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock, sleep=no_sleep)
        try:
            yield World(rt, source, cfg)
        finally:
            source.close()


def ok(result: tuple[F5State | None, SourceStatus]) -> F5State:
    state, status = result
    assert status.errors == ()
    assert status.up
    assert state is not None
    return state


# -- reading ---------------------------------------------------------------------------


def test_poll_reads_the_boundary_objects(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        state, status = w.poll()
        assert status.errors == ()
        assert state is not None
        assert (status.source, status.kind, status.up) == ("solo", "bigip", True)
        # one login, each collection once per partition (everything fits one page), the
        # two HA reads, and one util/bash attempt (refused: bashAllowed is false)
        assert status.requests == {"200": 1 + 2 * len(COLLECTIONS) + 2, "401": 1}
        assert w.stats_by(*LOGIN) == 1
        for collection in COLLECTIONS:
            assert w.stats_by("GET", f"/mgmt/tm/{collection}") == 2
        assert w.stats_by("GET", "/mgmt/tm/cm/device") == 1
        assert w.stats_by("GET", "/mgmt/tm/cm/sync-status") == 1
        assert w.stats_by("POST", "/mgmt/tm/util/bash") == 1
    assert state.device == "solo"
    assert state.version == "15.1.10.2"
    assert state.failed == frozenset()

    shop = state.virtuals["/k8s/Shared/shop_443"]
    assert shop.destination == "/k8s/203.0.113.10:443"
    assert shop.enabled
    assert shop.pool == "/k8s/Shared/nginx_ingress_443"
    assert [(p.path, p.context, p.kind) for p in shop.profiles] == [
        ("/Common/f5-tcp-progressive", "all", "tcp"),
        ("/k8s/Shared/shop_443_tls_server", "clientside", "client-ssl"),
        ("/k8s/Shared/shop_443_tls_client", "serverside", "server-ssl"),
    ]
    assert shop.serverside_ssl() == ("/k8s/Shared/shop_443_tls_client",)
    edge = state.virtuals["/Common/edge_vs"]
    assert (edge.enabled, edge.pool, edge.profiles) == (False, None, ())

    pool = state.pools["/k8s/Shared/nginx_ingress_443"]
    assert [(m.address, m.port, m.partition, m.state) for m in pool.members] == [
        ("10.42.0.11", 443, "k8s", "up"),
        ("2001:db8::11", 8443, "k8s", "up"),
        ("10.0.0.1", 443, "k8s", "down"),
    ]
    assert pool.members[1].name == "2001:db8::11.8443"
    assert pool.members[2].name == "10.0.0.1%2:443"

    server = state.server_ssl["/k8s/Shared/shop_443_tls_client"]
    assert server.ca_file == "/k8s/Shared/serverssl_ca_bundle"
    assert (server.peer_cert_mode, server.server_name, server.authenticate_name) == (
        "require",
        SHOP_SNI,
        SHOP_SNI,
    )
    assert server.tm_options == ("dont-insert-empty-fragments",)
    assert (server.cert, server.key, server.chain) == (
        "/k8s/Shared/bigip_client.crt",
        "/k8s/Shared/bigip_client.key",
        None,
    )
    legacy = state.server_ssl["/Common/legacy_serverssl"]
    assert legacy.tm_options == ("dont-insert-empty-fragments", "no-tlsv1.3")  # "{ a b }"
    assert (legacy.peer_cert_mode, legacy.server_name, legacy.cert) == ("ignore", None, None)
    client = state.client_ssl["/k8s/Shared/shop_443_tls_server"]
    assert client.sni_default
    assert client.server_name == "shop.example.com"
    assert [(c.cert, c.key, c.chain) for c in client.cert_key_chain] == [
        ("/Common/edge.crt", "/Common/edge.key", None)
    ]

    anchor = state.certs["/k8s/Shared/linkerd_anchor_a.crt"]
    assert anchor.fingerprint == sha256("anchor-a")
    assert anchor.not_after == certs()["anchor-a"].cert.not_valid_after_utc
    assert anchor.subject == "CN=root.linkerd.cluster.local"
    assert not anchor.is_bundle
    assert state.certs["/Common/legacy_bundle.crt"].is_bundle


def test_bundles_from_ca_bundle_manager_and_unknown_ones(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        state = ok(w.poll())
    made = state.bundles["/k8s/Shared/serverssl_ca_bundle"]
    assert made.reader == "ca-bundle-manager"
    assert made.members is not None
    assert [m.fingerprint for m in made.members] == [sha256("anchor-a"), sha256("public-root")]
    assert [m.path for m in made.members] == [
        "/k8s/Shared/linkerd_anchor_a.crt",
        "/Common/public_root.crt",
    ]
    # a bundle file without a manager: its top-level fields are NOT its contents, and
    # util/bash, which could read it, is refused to this user
    legacy = state.bundles["/Common/legacy_bundle.crt"]
    assert (legacy.members, legacy.reader) == (None, "none")
    assert legacy.unknown_reason == (
        "no ca-bundle-manager object describes /Common/legacy_bundle.crt;"
        " its contents cannot be read through the REST API;"
        " reading the file through util/bash was refused (http_401): a bash-capable role"
        " would be needed (bundleReader auto tries again every 15 minutes)"
    )
    nested = state.bundles["/Common/nested_bundle"]
    assert nested.members is None
    assert "member /Common/legacy_bundle.crt" in nested.unknown_reason
    assert "itself a bundle" in nested.unknown_reason
    single = state.bundles["/k8s/Shared/linkerd_anchor_a.crt"]
    assert single.reader == "ssl-cert"
    assert [m.fingerprint for m in single.members or ()] == [sha256("anchor-a")]


def test_only_configured_partitions_are_read(tmp_path: Path) -> None:
    with world(tmp_path, partitions=["k8s"]) as w:
        state = ok(w.poll())
        assert w.stats_by("GET", "/mgmt/tm/ltm/virtual") == 1
    assert set(state.virtuals) == {"/k8s/Shared/shop_443"}
    assert all(path.startswith("/k8s/Shared/") for path in state.certs)
    made = state.bundles["/k8s/Shared/serverssl_ca_bundle"]
    assert made.members is None
    assert made.unknown_reason.startswith(
        "member /Common/public_root.crt of ca-bundle-manager /k8s/Shared/serverssl_ca_bundle:"
        " /Common/public_root.crt is in partition Common, which is not among the device's"
        " configured partitions, so it was not read; reading the file through util/bash was"
        " refused (http_401)"
    )


def _many(n: int) -> dict[str, Any]:
    sec = small_section()
    for i in range(n):
        folder = "k8s/Shared" if i % 3 else "Common"
        sec["config"]["virtuals"].append(
            {"path": f"/{folder}/vs_{i:03d}", "destination": f"198.51.100.{i}:443"}
        )
        sec["config"]["pools"].append(
            {"path": f"/{folder}/pool_{i:03d}", "members": [{"address": f"10.9.0.{i}", "port": 80}]}
        )
    return sec


def test_paging_reads_every_object_exactly_once(tmp_path: Path) -> None:
    n = 31  # 11 in Common and 20 in k8s, plus the section's own objects
    with world(tmp_path, _many(n), f5PageSize=4) as w:
        state = ok(w.poll())
        virtual_pages = w.stats_by("GET", "/mgmt/tm/ltm/virtual")
        pool_pages = w.stats_by("GET", "/mgmt/tm/ltm/pool")
    assert len(state.virtuals) == n + 2
    assert len(state.pools) == n + 1
    assert all(len(p.members) == 1 for name, p in state.pools.items() if "pool_" in name)
    # Common: 11 + edge_vs = 12 virtuals → 3 pages; k8s: 20 + shop = 21 → 6 pages
    assert virtual_pages == 3 + 6
    # Common: 11 pools → 3 pages; k8s: 20 + 1 = 21 → 6 pages
    assert pool_pages == 3 + 6


def test_requests_in_flight_never_exceed_f5_concurrency(tmp_path: Path) -> None:
    with world(tmp_path, _many(12), f5PageSize=3, f5Concurrency=2) as w:
        w.rt.sim.inject(Fault("solo", "latency", count=1000, delay=0.02))
        state = ok(w.poll())
        stats = w.rt.sim.stats("solo")
    assert len(state.virtuals) == 14
    assert stats.total >= 20
    assert stats.max_in_flight == 2  # bounded, and the bound is used


# -- authentication ----------------------------------------------------------------------


def test_token_is_reused_across_polls(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ok(w.poll())
        state, status = w.poll()
        assert state is not None
        # no login this time, and util/bash is not asked again after its refusal
        assert status.requests == {"200": 2 * len(COLLECTIONS) + 2}
        assert w.stats_by(*LOGIN) == 1
        assert w.rt.sim.stats("solo").live_tokens == 1


def test_token_is_renewed_shortly_before_it_expires(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ok(w.poll())
        w.rt.clock.advance(1200 - 90)  # still valid for the device, outside the margin: reuse
        ok(w.poll())
        assert w.stats_by(*LOGIN) == 1
        w.rt.clock.advance(60)  # 30 s left: renew, and delete the old token
        ok(w.poll())
        stats = w.rt.sim.stats("solo")
        assert w.stats_by(*LOGIN) == 2
        assert stats.live_tokens == 1
        assert sum(n for (m, _), n in stats.by_endpoint.items() if m == "DELETE") == 1


def test_relogin_once_after_tokens_expire_on_the_device(tmp_path: Path) -> None:
    with world(tmp_path, f5Concurrency=3) as w:
        ok(w.poll())
        w.rt.sim.inject(Fault("solo", "expireTokens"))
        state, status = w.poll()
        assert status.errors == ()
        assert state is not None
        assert len(state.virtuals) == 2
        assert w.stats_by(*LOGIN) == 2  # concurrent 401s share one new login
        assert 1 <= status.requests["401"] <= 3


def test_basic_auth_sends_credentials_on_every_request(tmp_path: Path) -> None:
    with world(tmp_path, authType="basic") as w:
        state = ok(w.poll())
        assert w.stats_by(*LOGIN) == 0
        assert w.rt.sim.stats("solo").live_tokens == 0
    assert "/k8s/Shared/shop_443" in state.virtuals


@pytest.mark.parametrize("auth", ["token", "basic"])
def test_wrong_password_is_auth_failed_and_nothing(tmp_path: Path, auth: str) -> None:
    (tmp_path / "password").write_text("not-the-password\n")
    with world(tmp_path, authType=auth) as w:
        state, status = w.poll()
        total = w.rt.sim.stats("solo").total
    assert state is None
    assert not status.up
    assert {e.reason for e in status.errors} == {"auth_failed"}
    assert "Authentication failed." in status.errors[0].message
    assert "solo" in status.errors[0].message
    assert total <= (1 if auth == "token" else 4)  # the rest is not sent after the refusal


def test_password_and_token_never_appear_in_errors_logs_or_reprs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with world(tmp_path) as w:
        ok(w.poll())
        token = w.source._client._token
        assert token is not None
        secrets = (PASSWORD, token.value)
        w.rt.sim.inject(Fault("solo", "expireTokens"))
        w.rt.sim.inject(Fault("solo", "http503", count=2))
        results = [w.poll()]
        (tmp_path / "password").write_text("wrong-password-value\n")
        w.rt.sim.inject(Fault("solo", "expireTokens"))
        results.append(w.poll())
        texts = [repr(w.source), repr(w.source._client), repr(token), *map(repr, results)]
    assert any(r[1].errors for r in results)
    for text in [*texts, caplog.text]:
        for secret in (*secrets, "wrong-password-value"):
            assert secret not in text


def test_close_deletes_the_token(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        ok(w.poll())
        assert w.rt.sim.stats("solo").live_tokens == 1
        w.source.close()
        assert w.rt.sim.stats("solo").live_tokens == 0
        w.source.close()  # twice is harmless


def test_the_whole_store_is_read_by_full_path_folders_included(tmp_path: Path) -> None:
    """Every ssl-cert of the configured partitions is read, in folders too, and files of
    the same name in two partitions or folders stay apart (the certificate store)."""
    section = small_section()
    section["config"]["sslCerts"] += [
        {"path": "/Common/app.crt", "cert": "edge-rsa"},
        {"path": "/k8s/app.crt", "cert": "public-root"},
        {"path": "/k8s/app1/app.crt", "cert": "anchor-a"},
    ]
    with world(tmp_path, section) as w:
        state = ok(w.poll())
    same = {
        path: state.certs[path].fingerprint for path in state.certs if path.endswith("/app.crt")
    }
    assert same == {
        "/Common/app.crt": sha256("edge-rsa"),
        "/k8s/app.crt": sha256("public-root"),
        "/k8s/app1/app.crt": sha256("anchor-a"),
    }
    assert {p.split("/")[1] for p in state.certs} == {"Common", "k8s"}
