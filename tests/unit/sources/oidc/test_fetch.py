"""The identity-provider source against an in-process IdP served by an httpx MockTransport:
what it keeps, how it is bounded, Cache-Control, and that a failed read is never a state."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from monitor.config.schema import Config, parse_config
from monitor.simulate.certgen import CertSpec, generate_all
from monitor.simulate.idp.model import jwk_of
from monitor.sources.oidc import OidcSource
from monitor.sources.oidc.documents import MAX_KEYS, max_age, parse_jwks
from tests.support.sim_bigip import NOW

ISSUER = "https://idp.example.com/oauth2/aus1"
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
JWKS = f"{ISSUER}/v1/keys"


def config() -> Config:
    return parse_config(
        {
            "bigip": [{"name": "a", "url": "https://a", "username": "u", "passwordFile": "p",
                       "insecure": True}],
            "boundaries": [{"name": "shop", "mode": "mesh-tls", "devices": ["a"],
                            "virtual": "/k8s/v",
                            "backend": {"service": {"namespace": "i", "name": "n", "port": 1}}}],
            "identityProviders": [{"name": "okta", "issuer": ISSUER, "devices": ["a"],
                                   "oauthProvider": "/Common/okta"}],
        },
        Path("/tmp"),
    )  # fmt: skip


def key(kid: str) -> dict[str, Any]:
    made = generate_all({kid: CertSpec(kid, f"key {kid}", not_after="+20d")}, NOW, "oidc-test")
    return jwk_of(kid, made[kid], "ES256", "sig")


class Idp:
    """Answers discovery and JWKS; counts requests; its answers can be changed."""

    def __init__(self) -> None:
        self.keys = [key("k1")]
        self.cache = "no-cache"
        self.kind = "application/json; charset=utf-8"
        self.status = 200
        self.body: bytes | None = None
        self.seen: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.seen.append(url)
        headers = {"Content-Type": self.kind, "Cache-Control": self.cache}
        if self.status != 200:
            return httpx.Response(self.status, headers=headers, content=b'{"error":"x"}')
        if url == DISCOVERY:
            doc: Any = {"issuer": ISSUER, "jwks_uri": JWKS,
                        "id_token_signing_alg_values_supported": ["RS256"]}  # fmt: skip
        elif url == JWKS:
            doc = {"keys": self.keys}
        else:
            return httpx.Response(404, headers=headers, content=b"{}")
        return httpx.Response(200, headers=headers, content=self.body or json.dumps(doc).encode())


def source(idp: Idp, clock: list[float]) -> OidcSource:
    cfg = config()
    return OidcSource(
        cfg.identity_providers[0], cfg, transport=httpx.MockTransport(idp), clock=lambda: clock[0]
    )


def test_a_poll_reads_discovery_then_the_jwks() -> None:
    idp = Idp()
    state, status = source(idp, [NOW.timestamp()]).poll()
    assert status.up
    assert status.source == "oidc:okta"
    assert status.kind == "oidc"
    assert idp.seen == [DISCOVERY, JWKS]
    assert state is not None
    assert state.issuer == ISSUER
    assert state.jwks_uri == JWKS
    assert state.algs == ("RS256",)
    assert [(k.kid, k.kty, k.alg) for k in state.keys] == [("k1", "EC", "ES256")]
    assert state.keys[0].cert_not_after is not None  # x5c[0] parsed
    assert state.keys[0].material is not None


def test_cache_control_max_age_is_respected_and_expires() -> None:
    idp = Idp()
    idp.cache = "max-age=300, must-revalidate"
    clock = [NOW.timestamp()]
    src = source(idp, clock)
    assert src.poll()[1].up
    state, status = src.poll()  # within max-age: no request at all
    assert status.up
    assert state is not None
    assert len(idp.seen) == 2
    assert status.requests == {}
    assert state.max_age is not None
    assert state.max_age <= timedelta(seconds=300)
    clock[0] += 301
    idp.keys = [key("k1"), key("k2")]
    state, _ = src.poll()
    assert len(idp.seen) == 4
    assert state is not None
    assert [k.kid for k in state.keys] == ["k1", "k2"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"status": 503}, "http_5xx"),
        ({"status": 404}, "http_404"),
        ({"kind": "text/html"}, "bad_json"),
        ({"body": b"{not json"}, "bad_json"),
        ({"body": b'{"issuer": "x"}'}, "bad_json"),  # no jwks_uri
        ({"body": b"x" * (600 * 1024)}, "response_too_large"),
    ],
)
def test_a_failed_read_is_no_state_and_a_reason(change: dict[str, Any], reason: str) -> None:
    idp = Idp()
    idp.cache = "max-age=600"
    clock = [NOW.timestamp()]
    src = source(idp, clock)
    assert src.poll()[0] is not None
    clock[0] += 601  # the cached copy expired: a failure must not serve it
    for name, value in change.items():
        setattr(idp, name, value)
    state, status = src.poll()
    assert state is None
    assert not status.up
    assert [e.reason for e in status.errors] == [reason]


def test_a_connection_failure_is_connect_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    cfg = config()
    src = OidcSource(cfg.identity_providers[0], cfg, transport=httpx.MockTransport(refuse))
    state, status = src.poll()
    assert state is None
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert status.requests == {"error": 1}


def test_keys_without_kid_are_skipped_with_a_note_and_the_set_is_bounded() -> None:
    keys, notes = parse_jwks({"keys": [{"kty": "RSA", "n": "AQAB", "e": "AQAB"}, "x"]})
    assert keys == ()
    assert len(notes) == 2
    many = {"keys": [{"kid": str(i), "kty": "RSA", "n": "q", "e": "AQAB"} for i in range(150)]}
    keys, notes = parse_jwks(many)
    assert len(keys) == MAX_KEYS
    assert notes


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        (None, None),
        ("no-cache", None),
        ("no-store, max-age=60", None),
        ("max-age=0", None),
        ("public, max-age=3600", 3600),
        ("max-age=31536000", 86400),  # clamped to 24h
        ("s-maxage=5", None),
    ],
)
def test_max_age(header: str | None, seconds: int | None) -> None:
    found = max_age(header)
    assert (found.total_seconds() if found else None) == seconds
