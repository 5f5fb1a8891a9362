"""The boundaries' certificate and chain files read through util/bash (`SslCert.facts`)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import pytest

from monitor.config.schema import BackendConfig, BoundaryConfig, ServiceRef
from monitor.model import (
    CertKeyChain,
    ClientSslProfile,
    ProfileRef,
    ServerSslProfile,
    Virtual,
)
from monitor.simulate.bigip.model import BigipWorld
from monitor.sources.f5.bash import REFUSED_PAUSE
from monitor.sources.f5.certfiles import needed
from monitor.sources.f5.source import F5Source
from tests.support.sim_bigip import certs, render, running
from tests.unit.sources.f5.test_source import (
    World,
    make_config,
    no_sleep,
    ok,
    sha256,
    small_section,
)

BASH = ("POST", "/mgmt/tm/util/bash")
EDGE = "/Common/edge.crt"  # client-ssl certKeyChain cert
EDGE_CHAIN = "/Common/public_root.crt"  # its chain: one certificate, also in the CA bundle
CLIENT = "/k8s/Shared/bigip_client.crt"  # server-ssl cert
CLIENT_CHAIN = "/k8s/Shared/bigip_client_chain.crt"  # server-ssl chain: a bundle of two
UNRELATED = "/k8s/Shared/linkerd_anchor_a.crt"  # cert of a profile no boundary uses
CA_BUNDLE = "/k8s/Shared/serverssl_ca_bundle"
BUNDLES_ONLY_BASH_READS = 2  # legacy_bundle.crt and nested_bundle (see test_bash.py)
FILES = 4  # EDGE, EDGE_CHAIN, CLIENT, CLIENT_CHAIN


def files_section(allowed: bool = True) -> dict[str, Any]:
    sec = small_section()
    sec["devices"] = [{"name": "solo", "bashAllowed": allowed}]
    config = sec["config"]
    config["sslCerts"].append({"path": CLIENT_CHAIN, "bundle": ["anchor-a", "public-root"]})
    config["serverSslProfiles"][0]["chain"] = CLIENT_CHAIN
    config["clientSslProfiles"][0]["certKeyChain"][0]["chain"] = EDGE_CHAIN
    config["clientSslProfiles"].append(
        {
            "path": "/Common/unrelated_clientssl",
            "certKeyChain": [{"cert": UNRELATED, "key": "/Common/unrelated.key"}],
        }
    )
    return sec


@contextmanager
def served(tmp_path: Path, bigip: BigipWorld, **settings: Any) -> Iterator[World]:
    with running(bigip) as rt:
        cfg = make_config(tmp_path, rt.sim.url("solo"), rt.ca_pem, **settings)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock, sleep=no_sleep)
        try:
            yield World(rt, source, cfg)
        finally:
            source.close()


def test_auto_with_bash_allowed_reads_the_boundary_files_once(tmp_path: Path) -> None:
    with served(tmp_path, render(files_section()), f5Concurrency=2) as w:
        state = ok(w.poll())
        assert w.stats_by(*BASH) == BUNDLES_ONLY_BASH_READS + FILES
        assert w.rt.sim.stats("solo").max_in_flight <= 2
        again = ok(w.poll())
        assert w.stats_by(*BASH) == BUNDLES_ONLY_BASH_READS + FILES  # unchanged: not read
        _, status = w.poll()
        assert status.requests == {"200": 2 * 6 + 2}  # the collections and the HA reads only
    assert again == state
    edge, client = state.certs[EDGE].facts, state.certs[CLIENT].facts
    assert edge is not None
    assert client is not None
    assert (edge.der, client.der) == (certs()["edge-rsa"].der, certs()["bigip-client"].der)
    # a chain file that is a bundle: every certificate, as a CaBundle read by bash
    chain = state.bundles[CLIENT_CHAIN]
    assert chain.reader == "bash"
    assert [m.fingerprint for m in chain.members or ()] == [
        sha256("anchor-a"),
        sha256("public-root"),
    ]
    assert all(m.facts is not None for m in chain.members or ())
    # a chain file of one certificate: its facts, also where the CA bundle lists it
    root = state.certs[EDGE_CHAIN]
    assert root.facts is not None
    assert root.facts.der == certs()["public-root"].der
    assert EDGE_CHAIN not in state.bundles
    ca_bundle = state.bundles[CA_BUNDLE]
    assert ca_bundle.reader == "ca-bundle-manager"
    assert [m for m in ca_bundle.members or () if m.path == EDGE_CHAIN] == [root]
    # only the boundaries' files: not every ssl-cert on the box
    assert state.certs[UNRELATED].facts is None


def test_auto_refused_tries_once_then_leaves_bash_alone(tmp_path: Path) -> None:
    with served(tmp_path, render(files_section(allowed=False))) as w:
        state = ok(w.poll())  # under auto a refusal is not an error
        assert w.stats_by(*BASH) == 1  # one try for the bundles and the files together
        ok(w.poll())
        assert w.stats_by(*BASH) == 1
        w.rt.clock.advance(REFUSED_PAUSE + 1)
        ok(w.poll())
        assert w.stats_by(*BASH) == 2
    assert all(c.facts is None for c in state.certs.values())
    assert CLIENT_CHAIN not in state.bundles
    # the names still come from the REST fields ($select keeps subjectAlternativeName)
    assert state.version == "15.1.10.2"
    names = state.certs[CLIENT].alt_names
    assert names is not None
    assert (names.common_name, names.dns, names.uris, names.ips, names.source) == (
        "bigip.f5-edge.serviceaccount",
        ("bigip.f5-edge.serviceaccount",),
        ("spiffe://cluster.local/ns/f5-edge/sa/bigip",),
        ("2001:db8::5",),
        "ssl-cert",
    )
    assert state.certs[EDGE].alt_names is None  # no SAN extension: no field


@pytest.mark.parametrize("reader", ["ca-bundle-manager", "none"])
def test_readers_without_bash_never_read_the_files(tmp_path: Path, reader: str) -> None:
    with served(tmp_path, render(files_section()), bundleReader=reader) as w:
        state = ok(w.poll())
        assert w.stats_by(*BASH) == 0
    assert all(c.facts is None for c in state.certs.values())
    assert CLIENT_CHAIN not in state.bundles


def test_bash_reader_reads_the_files_too(tmp_path: Path) -> None:
    with served(tmp_path, render(files_section()), bundleReader="bash") as w:
        state = ok(w.poll())
        assert w.stats_by(*BASH) == 3 + FILES  # every bundle file, and the boundary's files
    assert state.certs[CLIENT].facts is not None
    assert state.bundles[CLIENT_CHAIN].reader == "bash"


def test_a_changed_file_is_read_again_and_only_it(tmp_path: Path) -> None:
    sec = files_section()
    with served(tmp_path, render(sec)) as w:
        ok(w.poll())
        assert w.stats_by(*BASH) == BUNDLES_ONLY_BASH_READS + FILES
        sec["config"]["sslCerts"][0] = {"path": EDGE, "cert": "bigip-client"}  # renewed
        w.rt.sim.update(render(sec))
        state = ok(w.poll())
        assert w.stats_by(*BASH) == BUNDLES_ONLY_BASH_READS + FILES + 1
    edge = state.certs[EDGE].facts
    assert edge is not None
    assert edge.der == certs()["bigip-client"].der


def test_a_file_without_the_described_certificate_is_rejected(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    bigip = render(files_section())
    store = bigip.devices["solo"].filestore
    (edge_file,) = [p for p in store if ":Common:edge.crt_" in p]
    store[edge_file] = certs()["public-root"].pem  # not what the ssl-cert object describes
    caplog.set_level(logging.WARNING, "monitor.sources.f5")
    with served(tmp_path, bigip) as w:
        state = ok(w.poll())  # not an error: the certificate is unknown, not wrong
        again = ok(w.poll())
        assert w.stats_by(*BASH) == BUNDLES_ONLY_BASH_READS + FILES  # the rejection is cached
    assert state.certs[EDGE].facts is None
    assert again.certs[EDGE].facts is None
    assert state.certs[CLIENT].facts is not None  # the other files are fine
    warnings = [r.getMessage() for r in caplog.records if EDGE in r.getMessage()]
    assert warnings == [
        f"solo: {EDGE}: the file read through util/bash does not hold the certificate its"
        " ssl-cert object describes (changed meanwhile, or another file matched)"
    ]


# -- which files: the profiles of the boundaries' virtuals -------------------------------


def _boundary(mode: Literal["mesh-tls", "plaintext"] = "mesh-tls", **kw: Any) -> BoundaryConfig:
    service = BackendConfig(ServiceRef("ingress", "web", 443))
    return BoundaryConfig("shop", mode, ("bigip-a",), "/k8s/vs", service, **kw)


def _server(path: str, cert: str, chain: str | None) -> ServerSslProfile:
    return ServerSslProfile(path, None, "ignore", None, None, "drop", "drop", (), cert, None, chain)


VIRTUALS = {
    "/k8s/vs": Virtual(
        "/k8s/vs",
        "/k8s/10.0.0.1:443",
        True,
        None,
        (
            ProfileRef("/k8s/edge", "clientside", "client-ssl"),
            ProfileRef("/k8s/first", "serverside", "server-ssl"),
            ProfileRef("/k8s/second", "serverside", "server-ssl"),
        ),
    )
}
SERVER = {
    "/k8s/first": _server("/k8s/first", "/k8s/first.crt", "/k8s/first-chain.crt"),
    "/k8s/second": _server("/k8s/second", "/k8s/second.crt", None),
}
CLIENT_SSL = {
    "/k8s/edge": ClientSslProfile(
        "/k8s/edge",
        (
            CertKeyChain("rsa", "/k8s/rsa.crt", None, "/k8s/rsa-chain.crt"),
            CertKeyChain("ec", "/k8s/ec.crt", None, None),
        ),
        None,
        False,
    )
}


@pytest.mark.parametrize(
    ("boundary", "device", "expected_certs", "expected_chains"),
    [
        (
            _boundary(),
            "bigip-a",
            {"/k8s/first.crt", "/k8s/rsa.crt", "/k8s/ec.crt"},
            {"/k8s/first-chain.crt", "/k8s/rsa-chain.crt"},
        ),
        (
            _boundary(server_ssl_profile="/k8s/second"),
            "bigip-a",
            {"/k8s/second.crt", "/k8s/rsa.crt", "/k8s/ec.crt"},
            {"/k8s/rsa-chain.crt"},
        ),
        (
            _boundary("plaintext"),
            "bigip-a",
            {"/k8s/rsa.crt", "/k8s/ec.crt"},
            {"/k8s/rsa-chain.crt"},
        ),
        (_boundary(), "bigip-b", set(), set()),
    ],
    ids=["virtual's-first-server-ssl", "serverSslProfile", "plaintext-edge-only", "other-device"],
)
def test_needed_files(
    boundary: BoundaryConfig, device: str, expected_certs: set[str], expected_chains: set[str]
) -> None:
    need = needed(device, [boundary], VIRTUALS, SERVER, CLIENT_SSL)
    assert (set(need.certs), set(need.chains)) == (expected_certs, expected_chains)


def test_needed_files_follow_the_profile_the_virtual_carries() -> None:
    """The checks judge the server-ssl profile the virtual carries: its files are read,
    not those of a configured profile the virtual does not carry; of several, the SNI
    default's."""
    elsewhere = _server("/k8s/elsewhere", "/k8s/elsewhere.crt", None)
    server = {**SERVER, "/k8s/elsewhere": elsewhere}
    boundary = _boundary(server_ssl_profile="/k8s/elsewhere")
    need = needed("bigip-a", [boundary], VIRTUALS, server, CLIENT_SSL)
    assert "/k8s/first.crt" in need.certs
    assert "/k8s/elsewhere.crt" not in need.certs
    server["/k8s/second"] = dataclasses.replace(SERVER["/k8s/second"], sni_default=True)
    need = needed("bigip-a", [_boundary()], VIRTUALS, server, CLIENT_SSL)
    assert "/k8s/second.crt" in need.certs
    assert "/k8s/first.crt" not in need.certs


def test_needed_files_of_missing_objects_are_none() -> None:
    need = needed("bigip-a", [_boundary()], {}, SERVER, CLIENT_SSL)
    assert need.paths == frozenset()
