"""End to end on a real Prometheus stack: both BIG-IPs unreadable for a while.

Owns the proof, on the stack of tests/support/stack.py, that a failed poll resolves nothing that
was wrong before it (the top comment of deploy/prometheus/rules.yaml; the certificate
fallback of monitor/render/metrics_rows.py). The demo world runs with its bundle unfixed, and
its timeline makes every request to bigip-a, then to bigip-b, answer 503 for
OUTAGE_SECONDS (two events, stepped one after the other). While neither device can be
read and Prometheus has scraped and evaluated several times:

- f5_linkerd_source_up is 0 for both devices and bundle_missing_anchor is `unknown`;
- the critical F5LinkerdBoundaryCheckFailing alert for bundle_missing_anchor still fires
  in Prometheus with the same labels (state="critical") and the same activeAt, as does
  every other alert that fired before the outage, and the webhook behind Alertmanager
  got no resolved notification for any of them;
- the BIG-IP certificate series (bundle_cert, client_cert, edge_cert of bigip-a and
  bigip-b) are all there with the values of the last complete read;

and when the faults end, both sources are up again and the check is critical again.

It has its own stack: tests/e2e/test_stack.py shares one whose last test fixes the bundle.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from tests.support.stack import (
    BOUNDARY_CRITICAL,
    Stack,
    alert_key,
    started_stack,
    wait_for_firing,
    wait_for_webhook,
)
from tests.support.waiting import wait_until

pytestmark = pytest.mark.e2e

DEVICES = ("bigip-a", "bigip-b")
ROLES = ("bundle_cert", "client_cert", "edge_cert")
# Long enough to see the sources go down, hold through HELD_SCRAPES and assert (about
# 5 s with 1 s polls, scrapes and evaluations; three times that for a slow machine); the
# test fails, rather than passing vacuously, when the outage ends before those checks.
OUTAGE_SECONDS = 15
# Scrapes with the check `unknown` before the checks during the outage: each is followed
# by a rule evaluation (both every second), so the alert has had that many chances to
# resolve.
HELD_SCRAPES = 5
OUTAGE: list[dict[str, Any]] = [
    {
        "at": f"{n}s",
        "description": f"{device}'s restjavad answers 503 to everything",
        "fault": {"target": device, "type": "http503", "seconds": OUTAGE_SECONDS},
    }
    for n, device in enumerate(DEVICES, start=1)
]
SOURCE_UP = 'f5_linkerd_source_up{source="bigip", target=~"bigip-a|bigip-b"}'
CHECK = 'f5_linkerd_check{check="bundle_missing_anchor", state="%s"}'
CERTS = (
    "f5_linkerd_certificate_not_after_timestamp_seconds"
    '{source=~"bigip-a|bigip-b", role=~"bundle_cert|client_cert|edge_cert"}'
)

Series = dict[frozenset[tuple[str, str]], str]  # labels -> value
Labels = tuple[tuple[str, str], ...]  # an alert's labels, sorted


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    with started_stack(tmp_path_factory, timeline=OUTAGE) as running:
        yield running


def values(stack: Stack, expr: str) -> Series:
    return {frozenset(s["metric"].items()): s["value"][1] for s in stack.query(expr)}


def sources_up(stack: Stack) -> dict[str, str]:
    return {s["metric"]["target"]: s["value"][1] for s in stack.query(SOURCE_UP)}


def firing_alerts(stack: Stack) -> dict[Labels, dict[str, Any]]:
    """Prometheus' firing alerts by their labels."""
    return {
        tuple(sorted(a["labels"].items())): a
        for a in stack.prometheus_alerts()
        if a["state"] == "firing"
    }


def boundary_alert(alerts: dict[Labels, dict[str, Any]]) -> dict[str, Any]:
    found = [a for a in alerts.values() if alert_key(a["labels"]) == BOUNDARY_CRITICAL]
    assert len(found) == 1, f"{BOUNDARY_CRITICAL} firing once: {found}"
    return found[0]


def resolved_notifications(stack: Stack, alerts: Iterable[dict[str, Any]]) -> list[Any]:
    """The webhook's resolved notifications for any of `alerts`."""
    assert stack.webhook is not None
    keys = {alert_key(a["labels"]) for a in alerts}
    return [
        a
        for a in stack.webhook.alerts()
        if a["status"] == "resolved" and alert_key(a["labels"]) in keys
    ]


def still_firing(stack: Stack, before: dict[Labels, dict[str, Any]], when: str) -> None:
    """Every alert of `before` fires in Prometheus with the same labels and the same
    activeAt (a resolve and a new firing in between would have moved it)."""
    now = firing_alerts(stack)
    for labels, alert in before.items():
        assert labels in now, f"{when}: no longer fires: {dict(labels)}\n{stack.logs()}"
        assert now[labels]["activeAt"] == alert["activeAt"], f"{when}: fired anew: {now[labels]}"


def test_an_outage_of_both_bigips_resolves_nothing(stack: Stack) -> None:
    # Before: the finding fires and has been notified; the certificate series are complete.
    wait_for_firing(stack, {BOUNDARY_CRITICAL})
    wait_for_webhook(stack, {BOUNDARY_CRITICAL}, "firing")
    before = firing_alerts(stack)  # the other findings' alerts, too: none may resolve
    assert boundary_alert(before)["labels"]["state"] == "critical"
    assert sources_up(stack) == {"bigip-a": "1", "bigip-b": "1"}
    certs = values(stack, CERTS)
    present = {(dict(labels)["role"], dict(labels)["source"]) for labels in certs}
    assert present == {(role, device) for role in ROLES for device in DEVICES}, certs

    # The outage: two timeline events, one fault each.
    started = time.monotonic()
    stack.step_timeline()
    stack.step_timeline()
    assert all(e["description"] in stack.procs["simulate"].output() for e in OUTAGE)

    wait_until(
        "both BIG-IP sources down and the check unknown in Prometheus",
        lambda: (
            sources_up(stack) == {"bigip-a": "0", "bigip-b": "0"}
            and set(values(stack, CHECK % "unknown").values()) == {"1"}
        ),
        timeout=OUTAGE_SECONDS,
        context=stack.logs,
    )

    def held() -> bool:
        # asserted on every poll of this wait, so at no point in between did one resolve
        still_firing(stack, before, "during the outage")
        count = f"sum_over_time({CHECK % 'unknown'}[1m])"
        return any(float(s["value"][1]) >= HELD_SCRAPES for s in stack.query(count))

    wait_until(
        f"{HELD_SCRAPES} scrapes with the check unknown",
        held,
        timeout=OUTAGE_SECONDS,
        context=stack.logs,
    )

    # During the outage, after HELD_SCRAPES scrapes and evaluations.
    assert sources_up(stack) == {"bigip-a": "0", "bigip-b": "0"}
    assert set(values(stack, CHECK % "unknown").values()) == {"1"}
    assert set(values(stack, CHECK % "critical").values()) == {"0"}
    carried = 'f5_linkerd_finding_first_seen_timestamp_seconds{check="bundle_missing_anchor"}'
    assert {dict(s)["severity"] for s in values(stack, carried)} == {"critical"}
    still_firing(stack, before, "during the outage")
    assert boundary_alert(firing_alerts(stack))["labels"]["state"] == "critical"
    assert resolved_notifications(stack, before.values()) == []
    assert values(stack, CERTS) == certs, "certificate series changed during the outage"
    # what was seen above was seen during the outage, not after it
    assert sources_up(stack) == {"bigip-a": "0", "bigip-b": "0"}
    assert time.monotonic() - started < OUTAGE_SECONDS, "the outage ended too soon"

    # After: the faults end by themselves; the sources and the finding come back.
    wait_until(
        "both BIG-IP sources up and the check critical again",
        lambda: (
            sources_up(stack) == {"bigip-a": "1", "bigip-b": "1"}
            and set(values(stack, CHECK % "critical").values()) == {"1"}
            and set(values(stack, CHECK % "unknown").values()) == {"0"}
        ),
        timeout=OUTAGE_SECONDS + 30,
        context=stack.logs,
    )
    still_firing(stack, before, "after the outage")
    assert values(stack, CERTS) == certs
    assert resolved_notifications(stack, before.values()) == []
    assert "Traceback" not in stack.procs["daemon"].output(), stack.logs()
