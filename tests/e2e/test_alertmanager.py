"""The push against a real Alertmanager (Debian's `prometheus-alertmanager`).

Alertmanager runs on a free loopback port with its own data directory and no cluster
listener (`--cluster.listen-address=`); the test reads back what it accepted through
`GET /api/v2/alerts` and stops the process by its PID.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.alerts.push import AlertPusher
from monitor.config.schema import AlertmanagerConfig, load_config
from monitor.daemon.serve import serve
from monitor.model import Finding, MeshState, Observed
from monitor.state.snapshot import Snapshot, TrackedFinding
from tests.support.paths import DEMO
from tests.support.tools import require_tool
from tests.support.waiting import free_port, wait_until
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

AM_CONFIG = """\
route: {receiver: blackhole, group_by: [alertname], group_wait: 1s, group_interval: 1s}
receivers:
  - name: blackhole
"""


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = require_tool("prometheus-alertmanager")
    tmp: Path = tmp_path_factory.mktemp("alertmanager")
    (tmp / "alertmanager.yml").write_text(AM_CONFIG)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp / "alertmanager.log").open("w") as log:
        proc = subprocess.Popen(
            [
                binary,
                f"--config.file={tmp / 'alertmanager.yml'}",
                f"--storage.path={tmp / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:

        def ready() -> bool:
            assert proc.poll() is None, (tmp / "alertmanager.log").read_text()
            with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
                return bool(response.status == 200)

        wait_until("alertmanager ready", ready)
        yield url
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def finding(obj: str, severity: str, device: str) -> Finding:
    return Finding(
        "bundle_missing_anchor",
        severity,  # type: ignore[arg-type]
        "shop",
        device,
        obj,
        f"{obj} lacks the trust anchor ab12",
        (("anchor", "ab12"), ("bundle", obj)),
    )


def snapshot(now: datetime, first_seen: datetime, *findings: Finding) -> Snapshot:
    observed = Observed(f5={}, mesh=MeshState(), sources=())
    tracked = tuple(TrackedFinding(f, first_seen) for f in findings)
    return Snapshot(now, 1, 0.1, observed, (), tracked)


def ours(url: str) -> dict[str, dict[str, Any]]:
    """Our alerts Alertmanager lists (active, silenced, inhibited …), by `object` label."""
    alerts = get(f"{url}/api/v2/alerts?filter=source%3D%22f5-linkerd-monitor%22")
    return {a["labels"]["object"]: a for a in alerts}


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_findings_fire_in_alertmanager_and_a_resolved_one_stops(alertmanager: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    first_seen = now - timedelta(hours=1)
    a = finding("/Common/bundle-a", "critical", "bigip-a")
    b = finding("/Common/bundle-b", "warning", "bigip-b")
    pusher = AlertPusher(AlertmanagerConfig(url=alertmanager))
    try:
        pusher.submit(snapshot(now, first_seen, a, b))

        def both_active() -> bool:
            listed = ours(alertmanager)
            return len(listed) == 2 and all(
                x["status"]["state"] == "active" for x in listed.values()
            )

        wait_until("both alerts active", both_active)
        listed = ours(alertmanager)
        alert = listed["/Common/bundle-a"]
        assert alert["labels"] == {
            "alertname": "F5LinkerdFinding",
            "source": "f5-linkerd-monitor",
            "check": "bundle_missing_anchor",
            "severity": "critical",
            "boundary": "shop",
            "device": "bigip-a",
            "object": "/Common/bundle-a",
        }
        assert alert["annotations"]["description"] == "/Common/bundle-a lacks the trust anchor ab12"
        assert alert["annotations"]["evidence"] == "anchor=ab12; bundle=/Common/bundle-a"
        assert parse(alert["annotations"]["first_seen"]) == first_seen
        assert parse(alert["startsAt"]) == first_seen
        ends = parse(alert["endsAt"]) - datetime.now(UTC)
        assert timedelta(minutes=3) < ends <= timedelta(minutes=4)
        assert listed["/Common/bundle-b"]["labels"]["severity"] == "warning"

        # b disappears: it is sent as resolved and Alertmanager stops listing it as active
        later = datetime.now(UTC)
        pusher.submit(snapshot(later, first_seen, a))

        def b_resolved() -> bool:
            listed = ours(alertmanager)
            b_state = listed.get("/Common/bundle-b", {}).get("status", {}).get("state")
            a_state = listed["/Common/bundle-a"]["status"]["state"]
            return bool(b_state != "active" and a_state == "active")

        wait_until("b no longer active, a still active", b_resolved)
        # Alertmanager lists the alert before the push has read its answer and counted it
        wait_until(
            "the second push counted", lambda: pusher.stats().sent + pusher.stats().failed == 2
        )
        stats = pusher.stats()
        assert (stats.sent, stats.failed, stats.firing, stats.resolved) == (2, 0, 1, 1)
    finally:
        pusher.close()


def test_the_daemon_pushes_the_demo_worlds_findings(alertmanager: str, tmp_path: Path) -> None:
    """`run` with `alertmanager:` configured: the demo world's findings reach Alertmanager
    from the daemon's own cycles, with the config's minimum severity applied."""
    earlier = {"/Common/bundle-a", "/Common/bundle-b"}  # the test above's alerts

    def demo_alerts() -> list[dict[str, str]]:
        listed = get(f"{alertmanager}/api/v2/alerts?filter=source%3D%22f5-linkerd-monitor%22")
        return [a["labels"] for a in listed if a["labels"]["object"] not in earlier]

    with running_world(DEMO, tmp_path / "world") as (_, config_file):
        doc = yaml.safe_load(config_file.read_text())
        port = free_port()
        doc["server"] = {"listen": f"127.0.0.1:{port}"}
        doc["poll"] = {"interval": "2s", "timeout": "2s"}
        doc["alertmanager"] = {"url": alertmanager, "minSeverity": "critical"}
        config_file.write_text(yaml.safe_dump(doc))
        stop = threading.Event()
        daemon = threading.Thread(target=serve, args=(load_config(config_file), stop))
        daemon.start()
        try:
            wait_until("the daemon's alerts in Alertmanager", lambda: len(demo_alerts()) >= 2, 60)

            def accepted() -> bool:  # the push's own metrics, refreshed each cycle
                url = f"http://127.0.0.1:{port}/metrics"
                with urllib.request.urlopen(url, timeout=5) as response:
                    text = response.read().decode()
                found = re.search(r'pushes_total\{result="accepted"\} (\S+)', text)
                return found is not None and float(found.group(1)) >= 1

            wait_until("f5_linkerd_alertmanager_pushes_total counts the push", accepted, 30)
        finally:
            stop.set()
            daemon.join(timeout=30)
    assert not daemon.is_alive()
    pushed = sorted((a["check"], a["severity"], a["boundary"], a["device"]) for a in demo_alerts())
    # the demo's two critical findings; its warnings are below minSeverity
    assert pushed == [
        ("bundle_missing_anchor", "critical", "shop", "bigip-a"),
        ("bundle_missing_anchor", "critical", "shop", "bigip-b"),
    ]
