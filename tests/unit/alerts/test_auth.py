"""The Alertmanager push's credentials and TLS trust (`monitor.alerts.auth`).

Basic auth from a password file or variable, a bearer token file, each read for every
push (a rotated Secret applies to the next one); an unreadable secret is a failed push
that names the file or variable and never its content; `caFile` verifies HTTPS against a
private CA, over real TLS.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from monitor.alerts.push import AlertPusher
from monitor.config.schema import AlertmanagerConfig
from monitor.simulate.httpserver import SimHandler, SimServer, server_tls_context
from monitor.simulate.httpserver import sim_server_identity as sim_identity
from tests.support.waiting import wait_until
from tests.unit.alerts.test_push import Clock, finding, snap, tracked

URL = "https://am.test:9093"


def recording(headers: list[str | None]) -> httpx.MockTransport:
    def answer(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("authorization"))
        return httpx.Response(200)

    return httpx.MockTransport(answer)


def push_twice(cfg: AlertmanagerConfig, between: Callable[[], None], **kw: Any) -> list[str | None]:
    """Two pushes (the second after a change of the snapshot), `between` run in between."""
    headers: list[str | None] = []
    clock = Clock()
    p = AlertPusher(cfg, recording(headers), clock, start=False, **kw)
    p.submit(snap(tracked(finding())))
    p.step()
    between()
    p.submit(snap(tracked(finding()), tracked(finding(obj="/Common/other"))))
    p.step()
    return headers


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_auth_reads_the_password_file_for_every_push(tmp_path: Path) -> None:
    secret = tmp_path / "am-password"
    secret.write_text("first-pw\n")
    cfg = AlertmanagerConfig(url=URL, username="monitor", password_file=secret)
    headers = push_twice(cfg, lambda: secret.write_text("rotated-pw\n"))
    assert headers == [basic("monitor", "first-pw"), basic("monitor", "rotated-pw")]


def test_basic_auth_from_the_environment() -> None:
    cfg = AlertmanagerConfig(url=URL, username="monitor", password_env="AM_PASSWORD")
    environ = {"AM_PASSWORD": "env-pw"}
    headers = push_twice(cfg, lambda: environ.update(AM_PASSWORD="env-pw-2"), environ=environ)
    assert headers == [basic("monitor", "env-pw"), basic("monitor", "env-pw-2")]


def test_a_bearer_token_file_is_read_for_every_push(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("tok-1\n")
    cfg = AlertmanagerConfig(url=URL, bearer_token_file=token)
    headers = push_twice(cfg, lambda: token.write_text("tok-2"))
    assert headers == ["Bearer tok-1", "Bearer tok-2"]


def test_no_credentials_no_authorization_header() -> None:
    assert push_twice(AlertmanagerConfig(url=URL), lambda: None) == [None, None]


def test_an_unreadable_secret_fails_the_push_and_names_only_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "am-password"
    cfg = AlertmanagerConfig(url=URL, username="monitor", password_file=secret)
    headers: list[str | None] = []
    clock = Clock()
    p = AlertPusher(cfg, recording(headers), clock, jitter=lambda: 1.0, start=False)
    p.submit(snap(tracked(finding())))
    with caplog.at_level(logging.WARNING, logger="monitor"):
        p.step()
    assert headers == []  # nothing was sent without the credentials
    assert p.stats().last_error == "credentials_unreadable"
    assert f"cannot read the password file {secret}" in caplog.text
    secret.write_text("now-there-pw")
    clock.advance(60)  # past the retry's backoff
    p.step()
    assert headers == [basic("monitor", "now-there-pw")]
    assert "now-there-pw" not in caplog.text


class Receiver(SimHandler):
    posts: ClassVar[int] = 0

    def do_POST(self) -> None:
        self.read_body()
        Receiver.posts += 1
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_ca_file_verifies_a_private_ca_over_real_tls(tmp_path: Path) -> None:
    ca, server_cert = sim_identity(datetime.now(UTC), "alerts-ca")
    (tmp_path / "ca.pem").write_text(ca.pem)
    server = SimServer(Receiver, server_tls_context(server_cert))
    server.start()
    Receiver.posts = 0
    trusted = AlertPusher(AlertmanagerConfig(url=server.url, ca_file=tmp_path / "ca.pem"))
    missing = AlertPusher(AlertmanagerConfig(url=server.url, ca_file=tmp_path / "nope.pem"))
    try:
        for p in (trusted, missing):
            p.submit(snap(tracked(finding())))
        wait_until(
            "a push with and a push without the CA",
            lambda: trusted.stats().sent == 1 and missing.stats().failed >= 1,
            10,
            every=0.05,
        )
    finally:
        trusted.close(timeout=1)
        missing.close(timeout=1)
        server.stop()
    assert Receiver.posts == 1
    assert missing.stats().last_error == "tls_error"
