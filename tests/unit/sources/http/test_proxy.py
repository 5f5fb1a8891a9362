"""Proxies from the environment: every client goes through them when told to, skips them
for NO_PROXY, and stays bounded by the request's deadline however slowly a proxy answers.
The proxies are `Dripper`s on 127.0.0.1; the targets' names never resolve (`.invalid`,
`.test`), so a request that reached the network directly would fail differently."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.alerts.push import AlertPusher
from monitor.config.schema import AlertmanagerConfig
from monitor.sources.f5.source import F5Source
from monitor.sources.http.proxy import ProxyRoutes, bounded_client, environment_proxies
from monitor.sources.http.transport import send
from monitor.sources.oidc import OidcSource
from tests.support.drip import Dripper
from tests.unit.alerts.test_push import finding, snap, tracked
from tests.unit.sources.f5.test_paging import Clock, _config, no_sleep
from tests.unit.sources.oidc.test_fetch import config as oidc_config

REFUSE = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"
ACCEPT = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
# a CONNECT answer (or a plain one) whose header never ends: 60 bytes, one each 0.1 s
SLOW = b"HTTP/1.1 200 Connection established\r\nX-Slow: " + b"a" * 20
VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD")
LIMITS = httpx.Limits(max_connections=1)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> Iterator[Dripper]:
    """A proxy that refuses every request, named by HTTP_PROXY and HTTPS_PROXY."""
    with Dripper(REFUSE) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
        monkeypatch.setenv("HTTPS_PROXY", proxy.address)  # no scheme: http://
        yield proxy


def test_the_environment_is_read_like_urllib_does(monkeypatch: pytest.MonkeyPatch) -> None:
    assert environment_proxies() == {}
    monkeypatch.setenv("ALL_PROXY", "http://all:3128")
    monkeypatch.setenv("https_proxy", "proxy.corp:8080")
    assert environment_proxies() == {"http": "http://all:3128", "https": "http://proxy.corp:8080"}


@pytest.mark.parametrize(
    ("no_proxy", "direct", "proxied"),
    [
        (
            "idp.corp, .internal,10.0.0.1",
            ["https://idp.corp/", "https://bigip.internal:8443/", "https://10.0.0.1/"],
            ["https://login.example.com/", "https://10.0.0.2/"],
        ),
        (  # networks, as Go's httpproxy and curl read them; urllib alone does not
            ".svc, 10.0.0.0/8,fd00::/8 ,192.0.2.10,not/a/net",
            ["https://10.20.30.40:8443/", "https://[fd00::5]/", "https://192.0.2.10/"],
            ["https://11.0.0.1/", "https://[2001:db8::5]/", "https://192.0.2.11/",
             "https://10.example.com/"],  # a name is not an address in the network
        ),
    ],
)  # fmt: skip
def test_no_proxy_sends_a_host_direct(
    monkeypatch: pytest.MonkeyPatch, no_proxy: str, direct: list[str], proxied: list[str]
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:8080")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    routes = ProxyRoutes(True, LIMITS)
    urls = [*direct, *proxied, "http://am.example.com/"]  # the last: no HTTP_PROXY
    ways = {url: routes.route(httpx.URL(url)) for url in urls}
    routes.close()
    want = {url: "https" for url in proxied}
    assert ways == {url: want.get(url, "direct") for url in urls}


def test_the_bigip_client_goes_through_the_proxy(tmp_path: Path, refusing: Dripper) -> None:
    cfg = _config(tmp_path)
    source = F5Source(cfg.bigip[0], cfg, clock=Clock(), sleep=no_sleep)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert refusing.heard
    assert refusing.heard[0].startswith(b"CONNECT bigip.test:8443 HTTP/1.1")


def test_the_identity_provider_source_goes_through_the_proxy(refusing: Dripper) -> None:
    cfg = oidc_config()
    source = OidcSource(cfg.identity_providers[0], cfg)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["connect_error"]
    assert refusing.heard[0].startswith(b"CONNECT idp.example.com:443 HTTP/1.1")


def test_the_alertmanager_push_goes_through_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with Dripper(ACCEPT) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
        p = AlertPusher(AlertmanagerConfig(url="http://am.invalid:9093"), start=False)
        p.submit(snap(tracked(finding())))
        p.step()
        p.close()
    assert p.stats().sent == 1
    assert proxy.heard[0].startswith(b"POST http://am.invalid:9093/api/v2/alerts HTTP/1.1")


def test_no_proxy_is_honoured_by_the_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    with Dripper(ACCEPT) as target, Dripper(REFUSE) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://{proxy.address}")
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        p = AlertPusher(AlertmanagerConfig(url=f"http://{target.address}"), start=False)
        p.submit(snap(tracked(finding())))
        p.step()
        p.close()
    assert p.stats().sent == 1
    assert proxy.heard == []
    assert target.heard[0].startswith(b"POST /api/v2/alerts HTTP/1.1")


@pytest.mark.parametrize("target", ["https://idp.invalid/keys", "http://am.invalid/"])
def test_a_dripping_proxy_ends_by_the_deadline(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    """Each byte comes well within the 5 s per-operation timeout; the whole answer would
    take 6 s. Only the request's 1 s deadline ends it (bounds generous for a busy box)."""
    with Dripper(SLOW, every=0.1) as proxy:
        monkeypatch.setenv("ALL_PROXY", f"http://{proxy.address}")
        with bounded_client(True, LIMITS, 5.0, {}) as client:
            started = time.monotonic()
            with pytest.raises(httpx.TimeoutException):
                send(client, "GET", target, 1.0, 1000)
            took = time.monotonic() - started
    assert proxy.heard  # it did go through the proxy
    assert 0.9 <= took < 4.0


def test_an_unusable_proxy_fails_each_request_without_showing_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://user:s3cret@proxy.corp:1080")
    with (
        bounded_client(True, LIMITS, 5.0, {}) as client,
        pytest.raises(httpx.ProxyError) as caught,
    ):
        send(client, "GET", "https://idp.invalid/", 1.0, 1000)
    assert "'socks5'" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "proxy.corp" not in str(caught.value)


def test_an_injected_transport_ignores_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    with bounded_client(True, LIMITS, 5.0, {}, httpx.MockTransport(answer)) as client:
        assert send(client, "GET", "https://idp.invalid/", 1.0, 10).status_code == 200
    assert seen == ["https://idp.invalid/"]


def test_credentials_in_the_proxy_url_are_sent_to_the_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with Dripper(ACCEPT) as proxy:
        monkeypatch.setenv("HTTP_PROXY", f"http://monitor:pr0xy@{proxy.address}")
        with bounded_client(True, LIMITS, 5.0, {}) as client:
            assert send(client, "GET", "http://am.invalid/", 2.0, 10).status_code == 200
    assert b"Proxy-Authorization: Basic bW9uaXRvcjpwcjB4eQ==" in proxy.heard[0]
