"""HA reads, several devices at once, the poll's time budget and the token limit."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from monitor.config.schema import Config, parse_config
from monitor.model import REASONS, CheckResult, MeshState, Observed, SourceStatus
from monitor.render import exposition, metrics
from monitor.simulate.faults import Fault
from monitor.sources.f5.source import F5Source
from monitor.state.snapshot import KNOWN_CODES, next_snapshot
from tests.support.sim_bigip import PASSWORD, USER, render, running
from tests.unit.sources.f5.test_source import make_config, no_sleep, ok, world

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def devices_config(tmp_path: Path, urls: dict[str, str], ca_pem: str, **poll: Any) -> Config:
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "password").write_text(PASSWORD + "\n")
    bigip = [
        {
            "name": name,
            "url": url,
            "username": USER,
            "passwordFile": "password",
            "caFile": "ca.pem",
            "partitions": ["Common", "k8s"],
            "haGroup": "pair",
        }
        for name, url in urls.items()
    ]
    boundary = {
        "name": "shop",
        "mode": "mesh-tls",
        "devices": list(urls),
        "virtual": "/k8s/Shared/shop_443",
        "backend": {"service": {"namespace": "ingress", "name": "nginx", "port": 443}},
    }
    return parse_config({"bigip": bigip, "boundaries": [boundary], "poll": poll}, tmp_path)


def closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"https://127.0.0.1:{s.getsockname()[1]}"


def test_sync_status_and_devices_of_an_ha_pair(tmp_path: Path) -> None:
    with running(render()) as rt:
        cfg = devices_config(tmp_path, {"ha-b": rt.sim.url("ha-b")}, rt.ca_pem)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock, sleep=no_sleep)
        state = ok(source.poll())
        source.close()
    assert state.sync is not None
    assert (state.sync.color, state.sync.status, state.sync.mode) == (
        "green",
        "In Sync",
        "high-availability",
    )
    assert state.sync.summary == "All devices in the device group are in sync"
    assert state.sync.details == (
        "solo.example.net: connected",
        "ha-a.example.net: connected",
        "ha-b.example.net: connected",
        "datasync-global-dg (In Sync): All devices in the device group are in sync",
        "device_trust_group (In Sync): All devices in the device group are in sync",
    )
    assert [(d.name, d.failover_state, d.self_device) for d in state.devices] == [
        ("ha-a.example.net", "active", False),
        ("ha-b.example.net", "standby", True),
        ("solo.example.net", "active", False),
    ]
    assert state.devices[0].management_ip == "192.0.2.12"
    assert state.devices[0].version == "15.1.10.2"


def test_ha_reads_that_fail_are_named_and_the_rest_is_read(tmp_path: Path) -> None:
    with world(tmp_path, f5Concurrency=1) as w:
        ok(w.poll())
        # concurrency 1: 6 collections x 2 partitions, then cm/device, then cm/sync-status
        w.rt.sim.inject(Fault("solo", "latency", count=13, delay=0.001))
        w.rt.sim.inject(Fault("solo", "truncate", count=1))
        state, status = w.poll()
    assert state is not None
    assert state.failed == frozenset({"cm/sync-status"})
    assert state.sync is None
    assert [(e.reason, e.target) for e in status.errors] == [("bad_json", "cm/sync-status")]
    assert [d.name for d in state.devices] == ["solo"]


def test_a_dead_device_is_down_and_the_others_are_read_meanwhile(tmp_path: Path) -> None:
    with running(render()) as rt:
        urls = {"ha-a": rt.sim.url("ha-a"), "dead": closed_port(), "ha-b": rt.sim.url("ha-b")}
        cfg = devices_config(tmp_path, urls, rt.ca_pem, interval="10s", timeout="2s")
        sources = [F5Source(d, cfg, clock=rt.clock) for d in cfg.bigip]  # real backoff
        started = time.monotonic()
        with ThreadPoolExecutor(len(sources)) as pool:
            results = list(pool.map(lambda s: s.poll(), sources))
        took = time.monotonic() - started
        for source in sources:
            source.close()
    by_name = {status.source: (state, status) for state, status in results}
    assert by_name["dead"][0] is None
    assert [e.reason for e in by_name["dead"][1].errors] == ["connect_error"]
    for name in ("ha-a", "ha-b"):
        ok(by_name[name])
    assert took < sources[0].budget  # retries of the dead one end within its budget

    mesh = SourceStatus("kubernetes", "kubernetes", up=True)
    statuses = (*(status for _, status in results), mesh)
    observed = Observed({n: s for n, (s, _) in by_name.items() if s}, MeshState(), statuses)
    first = next_snapshot(None, observed, CheckResult(), T0, took)
    second = next_snapshot(first, observed, CheckResult(), T0, took)
    samples = {
        (s.name, s.labels.get("target"), s.labels.get("reason") or s.labels.get("code")): s.value
        for family in text_string_to_metric_families(exposition.render(second).decode())
        for s in family.samples
    }
    errors = metrics.SOURCE_ERRORS + "_total"
    requests = metrics.SOURCE_REQUESTS + "_total"
    assert samples[(errors, "dead", "connect_error")] == 2  # one per cycle, counted twice
    assert all(samples[(errors, "ha-a", reason)] == 0 for reason in REASONS)
    assert all((requests, "ha-b", code) in samples for code in KNOWN_CODES)
    assert samples[(requests, "dead", "error")] == 2 * 4  # four attempts per poll
    assert samples[(requests, "ha-a", "200")] == 2 * by_name["ha-a"][1].requests["200"]
    assert samples[(metrics.SOURCE_UP, "dead", None)] == 0
    assert samples[(metrics.SOURCE_UP, "ha-a", None)] == 1


def test_the_poll_ends_within_its_budget(tmp_path: Path) -> None:
    with world(tmp_path, interval="1s", timeout="1s", f5Concurrency=1) as w:
        assert w.source.budget == 1.0
        w.rt.sim.inject(Fault("solo", "latency", count=1000, delay=0.3))
        started = time.monotonic()
        state, status = w.poll()
        took = time.monotonic() - started
    assert took < 1.6
    assert state is not None  # what could be read in time is kept
    assert {e.reason for e in status.errors} == {"timeout"}
    assert any(
        e.message == "solo: cm/sync-status not read: the poll's time budget (1s) ran out"
        for e in status.errors
    )
    assert sum(status.requests.values()) <= 5  # nothing was sent after the deadline


def test_the_token_limit_is_its_own_clear_error(tmp_path: Path) -> None:
    with running(render()) as rt:
        with rt.client("solo") as client:
            for _ in range(100):
                rt.login(client)
        cfg = make_config(tmp_path, rt.sim.url("solo"), rt.ca_pem)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock, sleep=no_sleep)
        state, status = source.poll()
        source.close()
        total = rt.sim.stats("solo").total
    assert state is None
    [error] = status.errors
    assert (error.reason, error.target) == ("auth_failed", "login")
    assert error.message == (
        "solo: login as 'monitor' refused: the user holds BIG-IP's maximum of 100 login"
        " tokens (taken by other clients of this user; use a dedicated user or authType"
        " basic): HTTP 400: user monitor has reached maximum active login tokens"
    )
    assert total == 101  # the hundred logins above, then one attempt: no retries
