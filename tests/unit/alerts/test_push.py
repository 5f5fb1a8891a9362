"""The Alertmanager push: the pure alert list (tables) and the sender (MockTransport, a
fake clock, `step` driven by hand; a few runs of the real thread and a local server)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest

from monitor.alerts.plan import Entry, Pairs, alerts_for, at_or_above, rfc3339
from monitor.alerts.push import AlertPusher, backoff, display_url, endpoint
from monitor.catalogue import Severity
from monitor.config.schema import AlertmanagerConfig
from monitor.model import CheckResult, CheckState, Finding, MeshState, Observed, SourceStatus
from monitor.simulate.httpserver import SimHandler, SimServer, server_tls_context
from monitor.simulate.httpserver import sim_server_identity as sim_identity
from monitor.state.ignore import IgnoreMatch
from monitor.state.snapshot import Snapshot, TrackedFinding, next_snapshot
from tests.support.waiting import wait_until

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)
CFG = AlertmanagerConfig(url="http://am.test:9093")
OBSERVED = Observed(f5={}, mesh=MeshState(), sources=())


def finding(
    check: str = "bundle_missing_anchor",
    severity: Severity = "critical",
    device: str = "bigip-a",
    obj: str = "/Common/linkerd-ca",
    message: str = "the bundle lacks anchor ab12",
) -> Finding:
    return Finding(check, severity, "shop", device, obj, message, (("anchor", "ab12"),))


def tracked(f: Finding, first: datetime = T0 - 60 * MIN, **kw: Any) -> TrackedFinding:
    return TrackedFinding(f, first, **kw)


def snap(*items: TrackedFinding, at: datetime = T0) -> Snapshot:
    return Snapshot(at, 1, 0.1, OBSERVED, (), tuple(items))


def labels(alert_labels: Pairs) -> dict[str, str]:
    return dict(alert_labels)


# -- the alert list (pure) -----------------------------------------------------------------


def test_a_firing_alert_has_stable_labels_first_seen_and_endsat_four_resends_ahead() -> None:
    alerts, state = alerts_for(snap(tracked(finding())), {}, T0 + 30 * MIN, CFG)
    assert len(alerts) == 1
    body = alerts[0].to_json()
    assert body == {
        "labels": {
            "alertname": "F5LinkerdFinding",
            "source": "f5-linkerd-monitor",
            "check": "bundle_missing_anchor",
            "severity": "critical",
            "boundary": "shop",
            "device": "bigip-a",
            "object": "/Common/linkerd-ca",
        },
        "annotations": {
            "summary": "critical: bundle_missing_anchor on boundary shop on bigip-a:"
            " /Common/linkerd-ca",
            "description": "the bundle lacks anchor ab12",
            "first_seen": "2026-11-26T11:00:00.000Z",
            "evidence": "anchor=ab12",
        },
        "startsAt": "2026-11-26T11:00:00.000Z",
        "endsAt": "2026-11-26T12:34:00.000Z",  # now + 4 × 1m
    }
    assert list(state) == [alerts[0].labels]


@pytest.mark.parametrize(
    ("severity", "minimum", "sent"),
    [
        ("warning", "warning", True),
        ("critical", "warning", True),
        ("warning", "critical", False),
        ("critical", "critical", True),
    ],
)
def test_only_findings_at_or_above_the_minimum_severity_fire(
    severity: Severity, minimum: Severity, sent: bool
) -> None:
    cfg = AlertmanagerConfig(url=CFG.url, min_severity=minimum)
    alerts, _ = alerts_for(snap(tracked(finding(severity=severity))), {}, T0, cfg)
    assert bool(alerts) is sent
    assert at_or_above(severity, minimum) is sent


@pytest.mark.parametrize(
    ("match", "fires"),
    [
        (None, True),
        (IgnoreMatch(0, "canary", date(2027, 1, 1), active=True), False),
        (IgnoreMatch(0, "canary", date(2026, 1, 1), active=False), True),  # expired rule
    ],
)
def test_ignored_findings_do_not_fire(match: IgnoreMatch | None, fires: bool) -> None:
    alerts, _ = alerts_for(snap(tracked(finding(), ignore=match)), {}, T0, CFG)
    assert bool(alerts) is fires


def test_a_mesh_side_finding_has_no_device_label() -> None:
    alerts, _ = alerts_for(
        snap(tracked(finding("issuer_expiry", device="", obj="ab12"))), {}, T0, CFG
    )
    assert "device" not in labels(alerts[0].labels)
    assert labels(alerts[0].labels)["object"] == "ab12"


def test_labels_stay_while_message_and_evidence_change() -> None:
    first, state = alerts_for(snap(tracked(finding(message="13 days left"))), {}, T0, CFG)
    later = tracked(finding(message="12 days left"))
    second, state = alerts_for(snap(later, at=T0 + MIN), state, T0 + MIN, CFG)
    assert [a.labels for a in second] == [a.labels for a in first]
    assert not second[0].resolved
    assert dict(second[0].annotations)["description"] == "12 days left"
    assert len(state) == 1


def test_a_carried_finding_keeps_firing_after_a_failed_poll() -> None:
    f = finding("pool_member_extra", "warning", obj="10.0.0.9:443")
    up = SourceStatus("bigip-a", "bigip", up=True)
    down = SourceStatus("bigip-a", "bigip", up=False)
    s1 = next_snapshot(
        None,
        Observed({}, MeshState(), (up,)),
        CheckResult((CheckState(f.check, "shop", "warning"),), (f,)),
        T0,
        0.1,
    )
    unknown = CheckState(f.check, "shop", "unknown", unknown_parts=("bigip-a",))
    s2 = next_snapshot(
        s1, Observed({}, MeshState(), (down,)), CheckResult((unknown,)), T0 + MIN, 0.1
    )
    assert s2.findings[0].carried
    _, state = alerts_for(s1, {}, T0, CFG)
    alerts, state = alerts_for(s2, state, T0 + MIN, CFG)
    assert [a.resolved for a in alerts] == [False]
    assert alerts[0].starts_at == T0
    assert "carried" in dict(alerts[0].annotations)


@pytest.mark.parametrize(
    ("minutes_after", "sent"),
    [(0, True), (1, True), (5, True), (15, True), (15.1, False), (60, False)],
)
def test_a_resolved_alert_is_resent_for_15_minutes_then_forgotten(
    minutes_after: float, sent: bool
) -> None:
    _, state = alerts_for(snap(tracked(finding())), {}, T0, CFG)
    gone_at = T0 + MIN
    alerts, state = alerts_for(snap(at=gone_at), state, gone_at, CFG)
    assert [(a.resolved, a.ends_at) for a in alerts] == [(True, gone_at)]
    now = gone_at + minutes_after * MIN
    alerts, state = alerts_for(snap(at=now), state, now, CFG)  # later, still absent
    assert [(a.resolved, a.ends_at, a.starts_at) for a in alerts] == (
        [(True, gone_at, T0 - 60 * MIN)] if sent else []
    )
    assert bool(state) is sent


def test_resending_the_same_snapshot_keeps_the_resolution_time() -> None:
    _, state = alerts_for(snap(tracked(finding())), {}, T0, CFG)
    gone = snap(at=T0 + MIN)
    first, state = alerts_for(gone, state, T0 + MIN, CFG)
    again, state2 = alerts_for(gone, state, T0 + 3 * MIN, CFG)
    assert again == first
    assert state2 == state


def test_a_severity_change_resolves_the_old_alert_and_fires_the_new_one() -> None:
    _, state = alerts_for(snap(tracked(finding(severity="warning"))), {}, T0, CFG)
    now = T0 + MIN
    alerts, _ = alerts_for(snap(tracked(finding(severity="critical")), at=now), state, now, CFG)
    assert [(labels(a.labels)["severity"], a.resolved) for a in alerts] == [
        ("critical", False),
        ("warning", True),
    ]


def test_a_finding_silenced_later_is_resolved() -> None:
    _, state = alerts_for(snap(tracked(finding())), {}, T0, CFG)
    rule = IgnoreMatch(0, "accepted", None, active=True)
    alerts, _ = alerts_for(snap(tracked(finding(), ignore=rule), at=T0 + MIN), state, T0 + MIN, CFG)
    assert [a.resolved for a in alerts] == [True]


def test_a_finding_that_comes_back_fires_with_its_new_first_seen() -> None:
    key: Pairs = tuple(sorted({"alertname": "F5LinkerdFinding"}.items()))
    old = {key: Entry(key, (), T0 - 90 * MIN, resolved_at=T0 - 10 * MIN)}
    again = tracked(finding(), first=T0)
    alerts, state = alerts_for(snap(again), old, T0, CFG)
    assert [(a.resolved, a.starts_at) for a in alerts] == [(False, T0), (True, T0 - 90 * MIN)]
    assert len(state) == 2


def test_rfc3339_and_urls() -> None:
    assert rfc3339(datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"
    assert endpoint("https://am.example:9093/alertmanager/") == (
        "https://am.example:9093/alertmanager/api/v2/alerts"
    )
    assert display_url("https://user:secret@am.example:9093/x?token=1") == (
        "https://am.example:9093/x"
    )


@pytest.mark.parametrize(
    ("attempt", "jitter", "seconds"),
    [
        (1, 1.0, 1.0),
        (2, 1.0, 2.0),
        (3, 1.0, 4.0),
        (6, 1.0, 32.0),
        (7, 1.0, 60.0),
        (99, 1.0, 60.0),
        (1, 0.0, 0.5),  # jitter scales the delay into [half, whole]
        (3, 0.5, 3.0),
    ],
)
def test_backoff_doubles_up_to_the_resend_interval_with_jitter(
    attempt: int, jitter: float, seconds: float
) -> None:
    assert backoff(attempt, 1.0, 60.0, lambda: jitter) == seconds


# -- the sender, driven by hand --------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class AM:
    """A scripted Alertmanager: answers with the given statuses (then 200), records bodies."""

    def __init__(self, *statuses: int | Exception) -> None:
        self.script = list(statuses)
        self.bodies: list[list[dict[str, Any]]] = []
        self.urls: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        self.bodies.append(json.loads(request.content))
        outcome = self.script.pop(0) if self.script else 200
        if isinstance(outcome, Exception):
            raise outcome
        if outcome != 200:
            return httpx.Response(outcome, json=f"status {outcome}")
        return httpx.Response(200, content=b"")


def pusher(am: AM, clock: Clock, cfg: AlertmanagerConfig = CFG) -> AlertPusher:
    transport = httpx.MockTransport(am)
    return AlertPusher(cfg, transport, clock, jitter=lambda: 1.0, start=False)


def objects(body: list[dict[str, Any]]) -> list[str]:
    return [a["labels"]["object"] for a in body]


def test_the_first_snapshot_goes_out_at_once_then_every_resend_interval() -> None:
    am, clock = AM(), Clock()
    p = pusher(am, clock)
    assert p.step() is None  # nothing submitted yet
    p.submit(snap(tracked(finding())))
    assert p.step() == 60.0
    assert am.urls == ["http://am.test:9093/api/v2/alerts"]
    clock.advance(30)
    p.submit(snap(tracked(finding()), at=clock.now))  # same alerts: waits for the resend
    assert p.step() == 30.0
    assert len(am.bodies) == 1
    clock.advance(30)
    assert p.step() == 60.0
    assert [b[0]["endsAt"] for b in am.bodies] == [
        "2026-11-26T12:04:00.000Z",
        "2026-11-26T12:05:00.000Z",
    ]
    assert p.stats().sent == 2
    assert p.stats().firing == 1


def test_a_change_goes_out_at_once_and_resolved_alerts_are_resent() -> None:
    am, clock = AM(), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding()), tracked(finding(obj="/Common/other"))))
    p.step()
    clock.advance(5)
    p.submit(snap(tracked(finding()), at=clock.now))
    p.step()
    assert len(am.bodies) == 2
    resolved = am.bodies[1][1]
    assert (resolved["labels"]["object"], resolved["endsAt"]) == (
        "/Common/other",
        "2026-11-26T12:00:05.000Z",
    )
    clock.advance(60)
    p.step()
    assert objects(am.bodies[2]) == ["/Common/linkerd-ca", "/Common/other"]
    assert (p.stats().firing, p.stats().resolved) == (1, 1)


def test_latest_wins() -> None:
    am, clock = AM(), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding(obj="/Common/a"))))
    p.submit(snap(tracked(finding(obj="/Common/b"))))
    p.step()
    assert [objects(b) for b in am.bodies] == [["/Common/b"]]


def test_nothing_is_posted_while_there_is_nothing_to_say() -> None:
    am, clock = AM(), Clock()
    p = pusher(am, clock)
    p.submit(snap())
    assert p.step() == 60.0
    assert am.bodies == []


def test_failures_retry_with_backoff_and_are_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    am, clock = AM(500, 500, httpx.ConnectError("refused"), 503), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding())))
    delays = []
    with caplog.at_level(logging.INFO, logger="monitor"):
        for _ in range(5):
            delay = p.step()
            assert delay is not None
            delays.append(delay)
            clock.advance(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 60.0]
    assert len(am.bodies) == 5
    ends = [b[0]["endsAt"] for b in am.bodies]
    assert ends == sorted(ends)  # rebuilt each attempt
    stats = p.stats()
    assert (stats.sent, stats.failed, stats.last_error) == (1, 4, "")
    assert stats.last_success == T0 + timedelta(seconds=15)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3  # http_5xx, then connect_error, then http_5xx again
    assert "HTTP 500: status 500" in warnings[0]
    assert "works again" in caplog.records[-1].getMessage()


def test_a_new_snapshot_during_backoff_waits_for_the_retry() -> None:
    am, clock = AM(500), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding(obj="/Common/a"))))
    assert p.step() == 1.0
    clock.advance(0.5)
    p.submit(snap(tracked(finding(obj="/Common/b")), at=clock.now))
    assert p.step() == 0.5
    assert len(am.bodies) == 1
    clock.advance(0.5)
    p.step()
    assert objects(am.bodies[-1]) == ["/Common/b", "/Common/a"]  # b fires, a resolved


def test_the_backoff_is_capped_by_the_resend_interval() -> None:
    am, clock = AM(*[500] * 6), Clock()
    p = pusher(am, clock, AlertmanagerConfig(url=CFG.url, resend_interval=timedelta(seconds=5)))
    p.submit(snap(tracked(finding())))
    delays = []
    for _ in range(6):
        delay = p.step()
        assert delay is not None
        delays.append(delay)
        clock.advance(delay)
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]


@pytest.mark.parametrize(
    ("script", "posts"),
    [((), 1), ((500,), 2)],  # accepted: nothing left to flush; failed: one more try
)
def test_close_flushes_what_was_not_accepted(script: tuple[int, ...], posts: int) -> None:
    am, clock = AM(*script), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding())))
    p.step()
    p.close()
    assert len(am.bodies) == posts
    p.submit(snap(tracked(finding(obj="/Common/late"))))  # ignored after close
    assert len(am.bodies) == posts


def test_close_sends_a_snapshot_never_looked_at() -> None:
    am, clock = AM(), Clock()
    p = pusher(am, clock)
    p.submit(snap(tracked(finding())))
    p.close()
    assert len(am.bodies) == 1


def test_credentials_in_the_url_become_basic_auth_and_stay_out_of_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    headers: list[str | None] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        headers.append(request.headers.get("authorization"))
        return httpx.Response(403, json={"message": "no for s3cret"})

    cfg = AlertmanagerConfig(url="https://amuser:s3cret@am.test/prefix")
    p = AlertPusher(cfg, httpx.MockTransport(refuse), Clock(), start=False)
    p.submit(snap(tracked(finding())))
    with caplog.at_level(logging.WARNING, logger="monitor"):
        p.step()
    assert headers == ["Basic YW11c2VyOnMzY3JldA=="]
    assert p.stats().last_error == "http_403"
    assert "https://am.test/prefix/api/v2/alerts" in caplog.text
    assert "HTTP 403: no for ***" in caplog.text
    assert "s3cret" not in caplog.text


# -- the real thread ---------------------------------------------------------------------------


def test_submit_never_blocks_on_a_hanging_alertmanager_and_close_is_bounded() -> None:
    release = threading.Event()
    seen: list[list[dict[str, Any]]] = []

    def hang(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        release.wait(10)
        return httpx.Response(200)

    p = AlertPusher(CFG, httpx.MockTransport(hang))
    try:
        p.submit(snap(tracked(finding(obj="/Common/a"))))
        wait_until("the POST to reach the hanging server", lambda: len(seen) == 1, 5, every=0.01)
        started = time.monotonic()
        for name in ("b", "c", "d"):
            p.submit(snap(tracked(finding(obj=f"/Common/{name}"))))
        assert time.monotonic() - started < 0.1
    finally:
        release.set()
        p.close(timeout=2)
    assert [objects(b)[0] for b in seen] == ["/Common/a", "/Common/d"]  # b, c never sent


def test_close_gives_up_after_its_timeout() -> None:
    release = threading.Event()

    def hang(request: httpx.Request) -> httpx.Response:
        release.wait(10)
        return httpx.Response(200)

    p = AlertPusher(CFG, httpx.MockTransport(hang))
    p.submit(snap(tracked(finding())))
    time.sleep(0.05)
    started = time.monotonic()
    p.close(timeout=0.2)
    assert time.monotonic() - started < 1.5
    release.set()


class Receiver(SimHandler):
    bodies: ClassVar[list[list[dict[str, Any]]]] = []

    def do_POST(self) -> None:
        Receiver.bodies.append(json.loads(self.read_body()))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver() -> Iterator[SimServer]:
    Receiver.bodies = []
    server = SimServer(Receiver, None)
    server.start()
    yield server
    server.stop()


def test_posts_json_over_the_network(receiver: SimServer) -> None:
    p = AlertPusher(AlertmanagerConfig(url=receiver.url + "/"))
    try:
        p.submit(snap(tracked(finding())))
        wait_until("one accepted push", lambda: p.stats().sent == 1, 5, every=0.01)
    finally:
        p.close()
    assert objects(Receiver.bodies[0]) == ["/Common/linkerd-ca"]


def test_https_is_verified_against_the_system_cas(caplog: pytest.LogCaptureFixture) -> None:
    _, server_cert = sim_identity(datetime.now(UTC), "alerts")
    server = SimServer(Receiver, server_tls_context(server_cert))
    server.start()
    p = AlertPusher(AlertmanagerConfig(url=server.url))
    try:
        with caplog.at_level(logging.WARNING, logger="monitor"):
            p.submit(snap(tracked(finding())))
            wait_until("a failed push", lambda: p.stats().failed >= 1, 5, every=0.01)
    finally:
        p.close(timeout=1)
        server.stop()
    assert p.stats().last_error == "tls_error"
    assert p.stats().sent == 0
