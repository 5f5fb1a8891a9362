"""The HTTP server (`monitor.web.server`) over plain HTTP: endpoints, readiness, headers,
basic auth.

TLS and client certificates are in `tests/unit/web/test_server_tls.py`; the file format in
`tests/unit/web/test_config.py`.
"""

from __future__ import annotations

import base64
import gzip
import http.client
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bcrypt
import httpx
import pytest

from monitor.web import security as websecurity
from monitor.web.config import WebConfig, WebConfigError
from monitor.web.security import Authenticator
from monitor.web.server import PAGE_POLICY, Published, WebServer, accepts_gzip
from tests.support.snapshots import snapshot

PATHS = ("/", "/metrics", "/api/findings", "/api/rotation", "/healthz", "/readyz")


def hashed(password: str) -> bytes:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(4))


@pytest.fixture
def server() -> Iterator[WebServer]:
    running = WebServer("127.0.0.1:0")
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module", autouse=True)
def client() -> Iterator[httpx.Client]:
    """One client for the module (building one costs about 0.1 s)."""
    global _client
    with httpx.Client(timeout=10) as _client:
        yield _client


_client: httpx.Client


def get(server: WebServer, path: str, **kw: object) -> httpx.Response:
    return _client.get(f"http://127.0.0.1:{server.port}{path}", **kw)  # type: ignore[arg-type]


def test_readyz_is_503_until_the_first_snapshot_is_published(server: WebServer) -> None:
    assert server.scheme == "http"
    answer = get(server, "/readyz")
    assert (answer.status_code, answer.text) == (503, "waiting for the first complete cycle\n")
    assert get(server, "/healthz").text == "ok\n"
    assert "Waiting for the first complete cycle" in get(server, "/").text
    assert json.loads(get(server, "/api/findings").text) == {"findings": []}
    server.publish(Published.of(snapshot()))
    assert (get(server, "/readyz").status_code, get(server, "/readyz").text) == (200, "ready\n")


def test_healthz_fails_with_the_one_line_reason_liveness_gives(server: WebServer) -> None:
    reasons: list[str | None] = [None]
    server.liveness = lambda: reasons[0]
    assert (get(server, "/healthz").status_code, get(server, "/healthz").text) == (200, "ok\n")
    reasons[0] = "no cycle completed for 190s\n(more than 3 poll intervals of 60s)"
    answer = get(server, "/healthz")
    assert (answer.status_code, answer.text) == (
        503,
        "no cycle completed for 190s (more than 3 poll intervals of 60s)\n",
    )
    assert answer.headers["content-type"] == "text/plain; charset=utf-8"
    assert get(server, "/readyz").status_code == 503  # readiness is a separate question
    reasons[0] = None
    assert get(server, "/healthz").status_code == 200


def test_every_endpoint_serves_what_the_cycle_rendered(server: WebServer) -> None:
    published = Published.of(snapshot())
    server.publish(published)
    kinds = {
        "/": "text/html; charset=utf-8",
        "/metrics": "text/plain; version=",
        "/api/findings": "application/json",
        "/api/rotation": "application/json",
    }
    for path, kind in kinds.items():
        answer = get(server, path)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith(kind)
        assert answer.headers["Cache-Control"] == "no-store"
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert get(server, "/").content == published.index_html
    assert get(server, "/?refresh=1").content == published.index_html
    assert json.loads(get(server, "/api/findings").text)["counts"]["critical"] == 1
    assert get(server, "/api/rotation").json()["boundaries"][0]["phase"] == "broken"


def test_the_page_gets_a_strict_content_security_policy(server: WebServer) -> None:
    assert get(server, "/").headers["Content-Security-Policy"] == PAGE_POLICY
    assert "script-src" not in PAGE_POLICY
    assert "default-src 'none'" in PAGE_POLICY
    assert "Content-Security-Policy" not in get(server, "/metrics").headers


def test_head_has_headers_and_no_body_and_unknown_paths_are_404(server: WebServer) -> None:
    head = _client.head(f"http://127.0.0.1:{server.port}/metrics")
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) > 0
    assert head.content == b""
    assert get(server, "/nope").status_code == 404
    assert _client.post(f"http://127.0.0.1:{server.port}/").status_code == 501


def users_server(
    tmp_path: Path, users: dict[str, bytes], reload_check: float = websecurity.RELOAD_CHECK
) -> WebServer:
    lines = "".join(f"  {user}: '{hash_.decode()}'\n" for user, hash_ in users.items())
    (tmp_path / "web.yml").write_text("basic_auth_users:\n" + lines)
    running = WebServer("127.0.0.1:0", tmp_path / "web.yml", reload_check=reload_check)
    running.start()
    return running


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[WebServer]:
    running = users_server(tmp_path, {"prometheus": hashed("right")})
    yield running
    running.stop()


def basic(text: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(text.encode()).decode()}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic("prometheus:wrong"),
        basic("nobody:right"),
        basic("prometheus"),  # no colon
        {"Authorization": "Basic !!!not-base64!!!"},
        {"Authorization": "Bearer cHJvbWV0aGV1czpyaWdodA=="},
        {"Authorization": "Basic " + base64.b64encode(b"\xff:right").decode()},
    ],
)
def test_basic_auth_guards_every_endpoint(guarded: WebServer, headers: dict[str, str]) -> None:
    for path in (*PATHS, "/nope"):
        answer = get(guarded, path, headers=headers)
        assert answer.status_code == 401, path
        assert (
            answer.headers["WWW-Authenticate"]
            == 'Basic realm="f5-linkerd-monitor", charset="UTF-8"'
        )
        assert answer.text == "unauthorized\n"


def test_the_right_password_opens_every_endpoint(guarded: WebServer) -> None:
    for path in PATHS:
        assert get(guarded, path, auth=("prometheus", "right")).status_code in (200, 503)
    lower = {"Authorization": "basic " + base64.b64encode(b"prometheus:right").decode()}
    assert get(guarded, "/healthz", headers=lower).status_code == 200  # scheme: any case


def test_bcrypt_runs_once_per_credentials_and_unknown_users_cost_the_same() -> None:
    calls: list[bytes] = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed_password: bytes) -> bool:
        calls.append(hashed_password)
        return real(password, hashed_password)

    auth = Authenticator(max_entries=2, checkpw=counting)
    users = {"prometheus": hashed("right")}
    right = basic("prometheus:right")["Authorization"]
    assert all(auth.check(users, right) for _ in range(5))
    assert not any(auth.check(users, basic("prometheus:wrong")["Authorization"]) for _ in range(3))
    assert len(calls) == 2
    assert not auth.check(users, basic("nobody:right")["Authorization"])
    assert calls[-1] == websecurity._NO_USER_HASH
    assert len(calls) == 3
    assert auth.check(users, right)  # evicted (two entries kept): checked again
    assert len(calls) == 4
    changed = {"prometheus": hashed("right")}  # a new hash (new salt) misses the cache
    assert auth.check(changed, right)
    assert len(calls) == 5
    assert auth.check({}, None)  # no users: open


def test_the_no_user_hash_is_a_real_cost_10_hash() -> None:
    assert websecurity._NO_USER_HASH.startswith(b"$2b$10$")
    assert not bcrypt.checkpw(b"fakepassword", websecurity._NO_USER_HASH)


def test_a_changed_user_list_applies_without_a_restart(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # reload_check 0: the files are looked at on every request
    running = users_server(tmp_path, {"old": hashed("pw-old")}, reload_check=0.0)
    try:
        assert get(running, "/healthz", auth=("old", "pw-old")).status_code == 200
        time.sleep(0.02)
        (tmp_path / "web.yml").write_text(
            f"basic_auth_users: {{new: '{hashed('pw-new').decode()}'}}\n"
        )
        with caplog.at_level(logging.INFO):
            assert get(running, "/healthz", auth=("new", "pw-new")).status_code == 200
        assert get(running, "/healthz", auth=("old", "pw-old")).status_code == 401
        assert "reloaded: TLS off; basic auth for 1 user" in caplog.text
        time.sleep(0.02)
        (tmp_path / "web.yml").write_text("basic_auth_users: {new: not-a-hash}\n")
        with caplog.at_level(logging.WARNING):
            assert get(running, "/healthz", auth=("new", "pw-new")).status_code == 200
        assert "basic_auth_users.new: not a bcrypt hash" in caplog.text
        time.sleep(0.02)
        (tmp_path / "web.yml").write_text("tls_server_config: {cert_file: a, key_file: b}\n")
        caplog.clear()
        with caplog.at_level(logging.WARNING):
            assert get(running, "/healthz", auth=("new", "pw-new")).status_code == 200
        assert "cannot read" in caplog.text or "needs a restart" in caplog.text
    finally:
        running.stop()


def test_a_bad_web_config_stops_the_server_from_starting(tmp_path: Path) -> None:
    (tmp_path / "web.yml").write_text("basic_auth_users: {a: b}\n")
    with pytest.raises(WebConfigError, match=r"web\.yml: basic_auth_users\.a: not a bcrypt hash"):
        WebServer("127.0.0.1:0", tmp_path / "web.yml")


def test_configured_headers_replace_the_defaults(tmp_path: Path) -> None:
    config = WebConfig(headers=(("Content-Security-Policy", "default-src 'self'"),))
    running = WebServer("127.0.0.1:0", config)
    running.start()
    try:
        assert get(running, "/").headers["Content-Security-Policy"] == "default-src 'self'"
    finally:
        running.stop()


def test_a_port_in_use_is_an_oserror() -> None:
    first = WebServer("127.0.0.1:0")
    try:
        with pytest.raises(OSError, match="in use"):
            WebServer(f"127.0.0.1:{first.port}")
    finally:
        first.stop()


def _raw(server: WebServer, path: str, method: str = "GET", **headers: str) -> tuple[Any, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        return answer, answer.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path", ["/metrics", "/", "/api/findings", "/api/rotation"])
def test_documents_go_out_gzipped_to_clients_that_accept_it(server: WebServer, path: str) -> None:
    published = Published.of(snapshot())
    server.publish(published)
    text = {
        "/metrics": published.metrics,
        "/": published.index_html,
        "/api/findings": published.findings_json,
        "/api/rotation": published.rotation_json,
    }[path]
    answer, body = _raw(server, path, **{"Accept-Encoding": "gzip"})
    assert answer.getheader("Content-Encoding") == "gzip"
    assert answer.getheader("Vary") == "Accept-Encoding"
    assert int(answer.getheader("Content-Length")) == len(body) < len(text)
    assert gzip.decompress(body) == text
    plain, body = _raw(server, path)  # no Accept-Encoding: as it is, written part by part
    assert plain.getheader("Content-Encoding") is None
    assert int(plain.getheader("Content-Length")) == len(text)
    assert plain.getheader("Vary") == "Accept-Encoding"
    assert body == text
    refused, body = _raw(server, path, **{"Accept-Encoding": "br, gzip;q=0, *;q=1"})
    assert refused.getheader("Content-Encoding") is None
    assert body == text
    head, body = _raw(server, path, "HEAD", **{"Accept-Encoding": "gzip"})
    assert (head.getheader("Content-Encoding"), body) == ("gzip", b"")
    assert int(head.getheader("Content-Length")) == int(answer.getheader("Content-Length"))


def test_probes_and_errors_are_never_gzipped(server: WebServer) -> None:
    for path in ("/healthz", "/readyz", "/nowhere"):
        answer, _ = _raw(server, path, **{"Accept-Encoding": "gzip"})
        assert answer.getheader("Content-Encoding") is None


@pytest.mark.parametrize(
    ("fields", "accepted"),
    [
        ((), False),
        (("gzip",), True),
        (("deflate, gzip;q=0.5",), True),
        (("GZIP",), True),
        (("x-gzip",), True),
        (("*",), True),
        (("identity",), False),
        (("gzip;q=0",), False),
        (("gzip;q=0.000",), False),
        (("gzip; q=0, *",), False),  # named beats the wildcard
        (("br", "gzip"), True),  # several header fields
        (("gzip;q=nonsense",), False),
    ],
)
def test_accept_encoding(fields: tuple[str, ...], accepted: bool) -> None:
    assert accepts_gzip(fields) is accepted


def test_a_followers_documents_are_gzipped_when_published_not_when_asked() -> None:
    metrics = Published.of(snapshot()).metrics_doc
    follower = Published.follower(metrics, "pod-x")
    assert follower.ready
    assert b"pod-x" in follower.index_html
    for document in follower.documents():
        assert document._gzip is not None  # made in the cycle, never while a client waits
