"""A hostile BIG-IP: deep JSON, huge bodies and dripping peers end as reasons, on time."""

from __future__ import annotations

import dataclasses
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor.sources.f5.bundles import MAX_NESTING, build_bundles
from monitor.sources.f5.source import F5Source
from monitor.sources.http.transport import DeadlineTransport, TooLarge, deadline, read_body
from tests.unit.sources.f5.test_paging import PASSWORD, Clock, FakeBigip, _config, no_sleep
from tests.unit.sources.f5.test_parse import cert, server

DEEP = b"[" * 200_000 + b"]" * 200_000


def _poll(tmp_path: Path, fake: FakeBigip, max_mib: int = 64) -> F5Source:
    cfg = _config(tmp_path)
    cfg = dataclasses.replace(cfg, poll=dataclasses.replace(cfg.poll, max_response_mib=max_mib))
    return F5Source(
        cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), clock=Clock(), sleep=no_sleep
    )


def test_deep_json_at_login_is_bad_json_not_a_recursion_error(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.login = lambda r: httpx.Response(200, content=DEEP)
    source = _poll(tmp_path, fake)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["bad_json"]
    assert "nested too deeply" in status.errors[0].message


def test_deep_json_in_a_collection_is_bad_json_for_that_collection(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(200, content=DEEP)
    source = _poll(tmp_path, fake)
    state, status = source.poll()
    source.close()
    assert state is not None
    assert [(e.reason, e.target) for e in status.errors] == [("bad_json", "ltm/pool")]


def test_announced_oversize_body_is_response_too_large_and_not_read(tmp_path: Path) -> None:
    read: list[int] = []

    def body() -> Iterator[bytes]:
        read.append(1)
        yield b"{}"

    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(
        200, headers={"content-length": str(2 * 1024 * 1024)}, content=body()
    )
    source = _poll(tmp_path, fake, max_mib=1)
    _state, status = source.poll()
    source.close()
    assert [(e.reason, e.target) for e in status.errors] == [("response_too_large", "ltm/pool")]
    assert "limit of 1048576 bytes (2097152 bytes announced)" in status.errors[0].message
    assert read == []


def test_streamed_oversize_body_stops_at_the_cap(tmp_path: Path) -> None:
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(1000):  # 64 MiB if it were all read
            sent.append(1)
            yield b" " * 65536

    fake = FakeBigip()
    fake.login = lambda r: httpx.Response(200, content=body())
    source = _poll(tmp_path, fake, max_mib=1)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["response_too_large"]
    assert len(sent) <= 17  # 1 MiB and one chunk more


# -- the deadline on a real socket -----------------------------------------------------------


@pytest.fixture
def dripping() -> Iterator[tuple[str, threading.Event]]:
    """A plain HTTP server that sends its response one byte every 0.1 s, forever."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
            for byte in head:
                if stop.wait(0.1):
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", stop
    stop.set()
    thread.join()
    listener.close()


def test_headers_dripping_end_by_the_deadline(dripping: tuple[str, threading.Event]) -> None:
    url, _ = dripping
    limits = httpx.Limits(max_connections=1)
    with httpx.Client(transport=DeadlineTransport(False, limits), timeout=5.0) as client:
        started = time.monotonic()
        with pytest.raises(httpx.TimeoutException), deadline(started + 1.0):
            client.get(url)
        took = time.monotonic() - started
    # each byte comes well within the 5 s read timeout; only the deadline ends it (the
    # 10,000-byte head would take 1,000 s); generous for a loaded machine
    assert 0.9 <= took < 4.0


def test_without_a_deadline_the_transport_is_plain_httpx() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"ok")

    response = read_body(
        httpx.Client(transport=httpx.MockTransport(handler)).send(
            httpx.Request("GET", "http://x/"), stream=True
        ),
        10,
        time.monotonic() + 5,
    )
    assert response.content == b"ok"
    with pytest.raises(TooLarge):
        read_body(
            httpx.Client(transport=httpx.MockTransport(handler)).send(
                httpx.Request("GET", "http://x/"), stream=True
            ),
            1,
            time.monotonic() + 5,
        )


# -- secrets in logs ---------------------------------------------------------------------------


def test_renewed_and_deleted_tokens_never_reach_a_log_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The canary: at DEBUG, every logger on, tokens renewed early, refused and deleted."""
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="httpx")  # the CLI may have quietened it
    issued = [f"CANARYTOKEN{i:02d}ABCDEFGHIJKLMNOP" for i in range(6)]
    tokens = iter(issued)
    fake = FakeBigip()
    fake.login = lambda r: httpx.Response(
        200, json={"token": {"token": next(tokens), "timeout": 600}}
    )
    clock = Clock()
    cfg = _config(tmp_path)
    source = F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(fake), clock=clock)
    source.poll()
    clock.now += 550  # renewed early: the old one is deleted
    source.poll()
    fake.live = set()  # every token refused: a re-login, the refused one deleted
    source.poll()
    source.close()
    deletes = [r for r in fake.requests if r.method == "DELETE"]
    assert len(deletes) >= 2
    assert "/mgmt/shared/authz/tokens/***" in caplog.text  # httpx's request lines were on
    for token in issued:
        assert token not in caplog.text
    assert PASSWORD not in caplog.text


def test_insecure_warns_at_every_start(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = _config(tmp_path)  # insecure: true
    for _ in range(2):
        F5Source(cfg.bigip[0], cfg, transport=httpx.MockTransport(FakeBigip())).close()
    warnings = [r for r in caplog.records if "TLS certificate is not verified" in r.getMessage()]
    assert [r.levelno for r in warnings] == [logging.WARNING] * 2


def test_deep_json_in_an_error_body_is_reported_by_its_status(tmp_path: Path) -> None:
    fake = FakeBigip()
    fake.routes["ltm/pool"] = lambda r: httpx.Response(500, content=DEEP)
    fake.login = lambda r: httpx.Response(401, content=DEEP)
    source = _poll(tmp_path, fake)
    state, status = source.poll()
    source.close()
    assert state is None
    assert [e.reason for e in status.errors] == ["auth_failed"]
    assert "body is not JSON" in status.errors[0].message


@pytest.mark.parametrize(("depth", "known"), [(MAX_NESTING, True), (5000, False)])
def test_bundles_nested_in_bundles_are_expanded_to_a_bound(depth: int, known: bool) -> None:
    """A device may describe a chain of ca-bundle-managers each including the next: a
    chain of thousands must be unknown with a reason, not a RecursionError."""
    certs = {f"/Common/b{i}": cert(f"/Common/b{i}", None, bundle=True) for i in range(depth)}
    certs["/Common/leaf.crt"] = cert("/Common/leaf.crt", "aa")
    managers = {f"/Common/b{i}": (f"/Common/b{i + 1}",) for i in range(depth - 1)}
    managers[f"/Common/b{depth - 1}"] = ("/Common/leaf.crt",)
    got = build_bundles({"/p": server("/p", "/Common/b0")}, certs, managers, ("Common",))
    bundle = got["/Common/b0"]
    if known:
        assert bundle.members is not None
        assert [m.path for m in bundle.members] == ["/Common/leaf.crt"]
    else:
        assert bundle.members is None
        assert f"nests bundles more than {MAX_NESTING} deep" in bundle.unknown_reason
