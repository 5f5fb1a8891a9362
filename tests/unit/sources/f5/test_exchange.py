"""The pure rules around the BIG-IP source: budget and retries, HA shapes, source counters."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from monitor.model import REASONS, CheckResult, MeshState, Observed, SourceError, SourceStatus
from monitor.sources.f5.credentials import Credentials
from monitor.sources.f5.exchange import (
    MAX_ATTEMPTS,
    RETRIES_PER_POLL,
    Exchange,
    backoff,
    poll_budget,
    retry_after,
)
from monitor.sources.f5.ha import parse_device, parse_sync_status, stats_details
from monitor.sources.f5.parse import Malformed
from monitor.state.snapshot import KNOWN_CODES, next_snapshot

T0 = datetime(2026, 1, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def exchange(budget: float = 30.0) -> tuple[Exchange, Clock, list[float]]:
    clock, waits = Clock(), []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += seconds

    creds = Credentials("monitor", "pw")
    return Exchange(creds, budget, sleep, random.Random(7), clock), clock, waits


def test_budget_is_the_larger_of_timeout_and_most_of_the_interval() -> None:
    assert poll_budget(timedelta(seconds=60), timedelta(seconds=30)) == 48.0
    assert poll_budget(timedelta(seconds=60), timedelta(seconds=55)) == 55.0
    assert poll_budget(timedelta(seconds=1), timedelta(seconds=1)) == 1.0


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(1)
    for attempt, (low, high) in enumerate([(0.25, 0.5), (0.5, 1.0), (1.0, 2.0)], start=1):
        waits = [backoff(attempt, rng) for _ in range(200)]
        assert low <= min(waits)
        assert max(waits) <= high
        assert len(set(waits)) > 150  # jittered
    assert backoff(10, rng) <= 8.0


def test_retry_after_in_seconds_only() -> None:
    assert retry_after(httpx.Response(503, headers={"Retry-After": "4"})) == 4.0
    assert retry_after(httpx.Response(503, headers={"Retry-After": "Wed, 21 Oct 2026"})) == 0.0
    assert retry_after(None) == 0.0


def test_retries_stop_at_max_attempts_and_when_the_budget_is_short() -> None:
    ex, clock, waits = exchange()
    assert [ex.wait_to_retry(a) for a in range(1, MAX_ATTEMPTS + 1)] == [True] * (
        MAX_ATTEMPTS - 1
    ) + [False]
    assert len(waits) == MAX_ATTEMPTS - 1
    short, clock, _ = exchange(budget=1.0)
    assert not short.wait_to_retry(1, httpx.Response(503, headers={"Retry-After": "1"}))
    clock.now += 0.9
    assert short.remaining() == pytest.approx(0.1)
    assert not short.wait_to_retry(1)


def test_retries_per_poll_are_shared() -> None:
    ex, _, _ = exchange(budget=10_000)
    granted = sum(ex.wait_to_retry(1) for _ in range(RETRIES_PER_POLL + 10))
    assert granted == RETRIES_PER_POLL


def test_no_retry_after_giving_up() -> None:
    ex, _, waits = exchange()
    ex.give_up(SourceError("connect_error", "down"))
    assert not ex.wait_to_retry(1)
    assert waits == []


# -- HA shapes ---------------------------------------------------------------------------


def _stats(entries: dict[str, Any]) -> dict[str, Any]:
    return {
        "entries": {
            "https://localhost/mgmt/tm/cm/sync-status/0": {"nestedStats": {"entries": entries}}
        }
    }


def _details(*texts: tuple[int, str]) -> dict[str, Any]:
    base = "https://localhost/mgmt/tm/cm/syncStatus/0/details"
    return {
        base: {
            "nestedStats": {
                "entries": {
                    f"{base}/{i}": {"nestedStats": {"entries": {"details": {"description": t}}}}
                    for i, t in texts
                }
            }
        }
    }


def test_details_in_index_order_and_values_read() -> None:
    entries = {
        "color": {"description": "yellow"},
        "status": {"description": "Changes Pending"},
        "mode": {"value": "high-availability"},
        **_details((10, "ten"), (2, "two"), (0, " zero ")),
    }
    sync = parse_sync_status(_stats(entries))
    assert sync.details == ("zero", "two", "ten")
    assert (sync.color, sync.status, sync.mode, sync.summary) == (
        "yellow",
        "Changes Pending",
        "high-availability",
        "",
    )
    assert stats_details({"color": {"description": "green"}}) == ()


@pytest.mark.parametrize(
    "doc",
    [
        {},
        {"entries": {}},
        {"entries": {"x/0": {"nested": {}}}},
        _stats(
            {
                "https://localhost/mgmt/tm/cm/syncStatus/0/details": {
                    "nestedStats": {"entries": {"a/details/0": {"nothing": 1}}}
                }
            }
        ),
        [],
    ],
)
def test_odd_stats_documents_are_malformed(doc: Any) -> None:
    with pytest.raises(Malformed):
        parse_sync_status(doc)


def test_device_needs_a_name_and_reads_string_booleans() -> None:
    with pytest.raises(Malformed):
        parse_device({"hostname": "x"})
    device = parse_device({"name": "b", "selfDevice": "false", "failoverState": "standby"})
    assert (device.name, device.hostname, device.self_device, device.failover_state) == (
        "b",
        "b",
        False,
        "standby",
    )


# -- source counters ---------------------------------------------------------------------


def _observed(*statuses: SourceStatus) -> Observed:
    return Observed(f5={}, mesh=MeshState(), sources=statuses)


def test_counters_start_at_zero_and_only_grow() -> None:
    quiet = SourceStatus("bigip-a", "bigip", up=True, requests={"200": 10})
    s1 = next_snapshot(None, _observed(quiet), CheckResult(), T0, 1.0)
    assert all(s1.error_totals[("bigip", "bigip-a", r)] == 0 for r in REASONS)
    assert {code for (_, _, code) in s1.request_totals} == set(KNOWN_CODES)
    assert s1.request_totals[("bigip", "bigip-a", "200")] == 10
    noisy = SourceStatus(
        "bigip-a",
        "bigip",
        up=False,
        errors=(
            SourceError("http_5xx", "a", "ltm/pool"),
            SourceError("http_5xx", "b", "ltm/virtual"),
            SourceError("timeout", "c", "cm/device"),
        ),
        requests={"200": 3, "503": 8, "418": 1},
    )
    s2 = next_snapshot(s1, _observed(noisy), CheckResult(), T0, 1.0)
    assert s2.error_totals[("bigip", "bigip-a", "http_5xx")] == 2
    assert s2.error_totals[("bigip", "bigip-a", "timeout")] == 1
    assert s2.request_totals[("bigip", "bigip-a", "200")] == 13
    assert s2.request_totals[("bigip", "bigip-a", "418")] == 1  # a code seen stays from now on
    s3 = next_snapshot(s2, _observed(quiet), CheckResult(), T0, 1.0)
    for key, value in s2.error_totals.items():
        assert s3.error_totals[key] >= value
    assert s3.request_totals[("bigip", "bigip-a", "418")] == 1
    assert s3.request_totals[("bigip", "bigip-a", "200")] == 23
