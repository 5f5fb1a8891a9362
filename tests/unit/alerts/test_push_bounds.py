"""A hostile Alertmanager: an answer too large, announced or streamed, and one that drips
slower than the deadline, each end as a failed push with its reason; the sender goes on."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from monitor.alerts.push import MAX_ANSWER, AlertPusher
from monitor.config.schema import AlertmanagerConfig
from tests.support.drip import Dripper
from tests.support.waiting import wait_until
from tests.unit.alerts.test_push import CFG, Clock, finding, snap, tracked


class Hostile:
    """Answers with a body too large (streamed, or announced in Content-Length) while
    `hostile` is set, then with a plain 200; counts the chunks it was asked for."""

    def __init__(self, status: int = 200, announce: bool = False) -> None:
        self.status = status
        self.announce = announce
        self.hostile = True
        self.chunks = 0
        self.posts = 0

    def body(self) -> Iterator[bytes]:
        for _ in range(1000):  # 64 MiB if it were all read
            self.chunks += 1
            yield b" " * 65536

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.posts += 1
        if not self.hostile:
            return httpx.Response(200, content=b"")
        headers = {"content-length": str(1000 * 65536)} if self.announce else {}
        return httpx.Response(self.status, headers=headers, content=self.body())


@pytest.mark.parametrize(
    ("status", "announce"), [(200, False), (200, True), (500, False), (400, True)]
)
def test_an_answer_larger_than_the_cap_is_a_failed_push_and_is_not_read(
    status: int, announce: bool, caplog: pytest.LogCaptureFixture
) -> None:
    am, clock = Hostile(status, announce), Clock()
    p = AlertPusher(CFG, httpx.MockTransport(am), clock, jitter=lambda: 1.0, start=False)
    p.submit(snap(tracked(finding())))
    assert p.step() == 1.0  # the first retry's backoff
    stats = p.stats()
    assert (stats.sent, stats.failed, stats.last_error) == (0, 1, "response_too_large")
    assert am.chunks <= (0 if announce else MAX_ANSWER // 65536 + 1)
    assert f"larger than {MAX_ANSWER} bytes" in caplog.text
    am.hostile = False  # the next attempt is sent and accepted
    clock.advance(1.0)
    p.step()
    p.close()
    assert (p.stats().sent, p.stats().last_error, am.posts) == (1, "", 2)


def test_the_sender_thread_survives_a_huge_answer() -> None:
    am = Hostile()
    p = AlertPusher(CFG, httpx.MockTransport(am), jitter=lambda: 0.0, first_backoff=0.01)
    try:
        p.submit(snap(tracked(finding())))
        wait_until("a failed push", lambda: p.stats().failed >= 1, 5, every=0.01)
        am.hostile = False
        wait_until("the retry accepted", lambda: p.stats().sent == 1, 5, every=0.01)
    finally:
        p.close(timeout=1)
    assert p.stats().last_error == ""


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_dripping_alertmanager_is_ended_by_the_deadline(where: str) -> None:
    """One byte every 0.05 s comes well within the per-operation timeout; the whole answer
    would take about 8 s. Only the POST's 1 s deadline ends it (bounds generous)."""
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 120\r\n"
    answer = head + b"X-Slow: " + b"a" * 120 if where == "headers" else head + b"\r\n" + b" " * 120
    with Dripper(answer, every=0.05) as am:
        cfg = AlertmanagerConfig(url=f"http://{am.address}")
        p = AlertPusher(cfg, request_timeout=1.0, jitter=lambda: 1.0, start=False)
        p.submit(snap(tracked(finding())))
        started = time.monotonic()
        p.step()
        took = time.monotonic() - started
        p.close(timeout=0.5)
    assert am.heard[0].startswith(b"POST /api/v2/alerts HTTP/1.1")
    stats = p.stats()
    assert (stats.sent, stats.last_error) == (0, "timeout")
    assert 0.9 <= took < 4.0
