"""A real monitoring stack around the demo world, for tests/e2e/test_stack.py and
tests/e2e/test_stack_outage.py.

Owns starting and stopping, on free loopback ports in one temporary directory:
`simulate` (the demo scenario, manual timeline: the bundle fix by default, or the events
a test gives), the daemon (`run`), a webhook receiver
(http.server in a thread) recording Alertmanager's POSTs, Debian's
`prometheus-alertmanager` and `prometheus` (1s scrape and evaluation interval, the
shipped rules with only their `for:` shortened). Every process writes its stdout and
stderr to `<name>.log` in that directory; `Stack.logs()` gives their tails for assertion
messages, and `running_stack` stops every process it started, also on failure. Also the
waits both test modules share: an alert firing in Prometheus, a notification at the webhook.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import CLI, DEMO, ROOT
from tests.support.tools import require_tool
from tests.support.waiting import free_port, get_json, wait_until

RULES = ROOT / "deploy" / "prometheus" / "rules.yaml"
# The shipped `for:` durations are minutes (they ride out rollouts and confirm over
# cycles); the copy Prometheus loads waits one evaluation instead. Nothing else changes.
SHORT_FOR = "1s"
FOR_LINE = re.compile(r"^(?P<indent>\s+)for: \S+$", flags=re.M)

AlertKey = tuple[str, str, str | None]  # (alertname, severity, check label)
BOUNDARY_CRITICAL: AlertKey = ("F5LinkerdBoundaryCheckFailing", "critical", "bundle_missing_anchor")


class Proc:
    """One child process; stdout and stderr go to `<directory>/<name>.log`."""

    def __init__(self, name: str, argv: list[str], directory: Path) -> None:
        self.name = name
        self.log = directory / f"{name}.log"
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("w") as log:
            self.popen = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def tail(self, lines: int = 30) -> str:
        text = "\n".join(self.output().splitlines()[-lines:])
        status = "running" if self.popen.poll() is None else f"exited {self.popen.returncode}"
        return f"--- {self.name} ({status}), last {lines} lines of {self.log}:\n{text}"

    def alive(self) -> bool:
        if self.popen.poll() is not None:
            raise AssertionError(f"{self.name} exited early\n{self.tail()}")
        return True

    def has_line(self, prefix: str) -> bool:
        return self.alive() and any(line.startswith(prefix) for line in self.output().splitlines())

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


class Webhook:
    """An Alertmanager webhook receiver: every POSTed JSON body, in arrival order."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        lock = threading.Lock()
        self._lock = lock
        bodies = self.bodies

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with lock:
                    bodies.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert of every notification so far (each with its own `status`)."""
        with self._lock:
            return [alert for body in self.bodies for alert in body.get("alerts", [])]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def demo_scenario(
    directory: Path, port: int, timeline: Sequence[Mapping[str, Any]] | None = None
) -> Path:
    """The demo scenario polled every second, serving /metrics on `port`, with `timeline`
    as its timeline; by default one event: the operator adds the new anchor to the BIG-IP
    CA bundle (fixes `bundle_missing_anchor`)."""
    doc = yaml.safe_load(DEMO.read_text(encoding="utf-8"))
    doc["expected"]["poll"] = {"interval": "1s", "timeout": "1s"}
    doc["expected"]["server"] = {"listen": f"127.0.0.1:{port}"}
    if timeline is None:
        fix = [e for e in doc["timeline"] if "patch" in e and "new anchor" in e["description"]]
        assert len(fix) == 1, f"demo.yaml: no single 'new anchor' timeline event: {fix}"
        timeline = [{**fix[0], "at": "1s"}]
    doc["timeline"] = [dict(event) for event in timeline]
    path = directory / "demo-stack.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def short_for_rules(directory: Path) -> Path:
    """deploy/prometheus/rules.yaml, byte for byte, except every `for:` is SHORT_FOR."""
    text, count = FOR_LINE.subn(rf"\g<indent>for: {SHORT_FOR}", RULES.read_text(encoding="utf-8"))
    assert count, "no `for:` line found in rules.yaml"
    path = directory / "rules-short-for.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def alertmanager_config(webhook: str) -> str:
    # group_by '...': one group per alert, so a resolved alert gets its own notification.
    return yaml.safe_dump(
        {
            "route": {
                "receiver": "webhook",
                "group_by": ["..."],
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": "1m",
            },
            "receivers": [
                {"name": "webhook", "webhook_configs": [{"url": webhook, "send_resolved": True}]}
            ],
        }
    )


def prometheus_config(rules: Path, daemon_port: int, alertmanager_port: int) -> str:
    return yaml.safe_dump(
        {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": "1s",
            },
            "rule_files": [str(rules)],
            "alerting": {
                "alertmanagers": [
                    {"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}
                ]
            },
            "scrape_configs": [
                {
                    "job_name": "f5-linkerd-monitor",
                    "static_configs": [{"targets": [f"127.0.0.1:{daemon_port}"]}],
                }
            ],
        }
    )


@dataclass
class Stack:
    directory: Path
    rules: Path
    prometheus_url: str = ""
    alertmanager_url: str = ""
    webhook: Webhook | None = None
    procs: dict[str, Proc] = field(default_factory=dict)

    def logs(self) -> str:
        return "\n".join(proc.tail() for proc in self.procs.values())

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector (a scalar result as one label-less sample)."""
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        try:
            answer = get_json(url)
        except urllib.error.HTTPError as err:
            raise AssertionError(f"query {expr!r}: HTTP {err.code} {err.read()!r}") from err
        assert answer["status"] == "success", (expr, answer)
        data = answer["data"]
        if data["resultType"] == "vector":
            return list(data["result"])
        return [{"metric": {}, "value": data["result"]}]

    def prometheus_alerts(self) -> list[dict[str, Any]]:
        return list(get_json(f"{self.prometheus_url}/api/v1/alerts")["data"]["alerts"])

    def rule_groups(self) -> list[dict[str, Any]]:
        return list(get_json(f"{self.prometheus_url}/api/v1/rules")["data"]["groups"])

    def step_timeline(self) -> None:
        """Apply the scenario's next timeline event (SIGUSR1) and wait until it is applied."""
        sim = self.procs["simulate"]
        before = sim.output().count("timeline: ")
        sim.popen.send_signal(signal.SIGUSR1)
        wait_until(
            "simulate to apply the next timeline event",
            lambda: sim.alive() and sim.output().count("timeline: ") > before,
            context=self.logs,
        )


@contextmanager
def started_stack(
    tmp_path_factory: pytest.TempPathFactory,
    timeline: Sequence[Mapping[str, Any]] | None = None,
) -> Iterator[Stack]:
    """A running stack in a new temporary directory, for a module-scoped fixture; skips
    (fails under CI) when Debian's Prometheus tools are missing."""
    prometheus = require_tool("prometheus")
    promtool = require_tool("promtool")
    alertmanager = require_tool("prometheus-alertmanager")
    tmp = tmp_path_factory.mktemp("stack")
    with running_stack(tmp, prometheus, promtool, alertmanager, timeline) as running:
        yield running


@contextmanager
def running_stack(
    directory: Path,
    prometheus: str,
    promtool: str,
    alertmanager: str,
    timeline: Sequence[Mapping[str, Any]] | None = None,
) -> Iterator[Stack]:
    """Start everything (each waited for), yield the stack, stop everything at the end;
    `timeline` as for `demo_scenario`.

    `promtool check config` vets Prometheus' config and the rule copy it loads first."""
    stack = Stack(directory=directory, rules=short_for_rules(directory))
    daemon_port, am_port, prom_port = free_port(), free_port(), free_port()
    try:
        world = directory / "world"
        sim = Proc(
            "simulate",
            [
                *CLI,
                "simulate",
                "--scenario",
                str(demo_scenario(directory, daemon_port, timeline)),
                "--out",
                str(world),
                "--manual-timeline",
            ],
            directory,
        )
        stack.procs["simulate"] = sim
        wait_until("simulate: ready", lambda: sim.has_line("ready"), context=stack.logs)
        stack.procs["daemon"] = Proc(
            "daemon", [*CLI, "run", "--config", str(world / "config.yaml")], directory
        )

        stack.webhook = Webhook()
        (directory / "alertmanager.yml").write_text(alertmanager_config(stack.webhook.url))
        stack.procs["alertmanager"] = Proc(
            "alertmanager",
            [
                alertmanager,
                f"--config.file={directory / 'alertmanager.yml'}",
                f"--storage.path={directory / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{am_port}",
                "--cluster.listen-address=",
            ],
            directory,
        )
        stack.alertmanager_url = f"http://127.0.0.1:{am_port}"

        (directory / "prometheus.yml").write_text(
            prometheus_config(stack.rules, daemon_port, am_port)
        )
        checked = subprocess.run(
            [promtool, "check", "config", str(directory / "prometheus.yml")],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
        stack.procs["prometheus"] = Proc(
            "prometheus",
            [
                prometheus,
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{prom_port}",
            ],
            directory,
        )
        stack.prometheus_url = f"http://127.0.0.1:{prom_port}"
        for name, url in (
            ("alertmanager", stack.alertmanager_url),
            ("prometheus", stack.prometheus_url),
        ):
            wait_until(f"{name} ready", partial(ready, stack.procs[name], url), context=stack.logs)
        yield stack
    finally:
        for proc in reversed(list(stack.procs.values())):
            proc.stop()
        if stack.webhook is not None:
            stack.webhook.stop()


def ready(proc: Proc, url: str) -> bool:
    proc.alive()
    with urllib.request.urlopen(f"{url}/-/ready", timeout=2) as response:
        return bool(response.status == 200)


def alert_key(labels: Mapping[str, str]) -> AlertKey:
    return labels["alertname"], labels["severity"], labels.get("check")


def wait_for_firing(stack: Stack, wanted: set[AlertKey]) -> set[AlertKey]:
    """Wait until every `wanted` alert is firing in Prometheus; all that fire then."""

    def firing() -> set[AlertKey]:
        return {alert_key(a["labels"]) for a in stack.prometheus_alerts() if a["state"] == "firing"}

    wait_until(
        f"{sorted(wanted, key=str)} firing in Prometheus",
        lambda: wanted <= firing(),
        context=stack.logs,
    )
    return firing()


def wait_for_webhook(stack: Stack, wanted: set[AlertKey], status: str) -> None:
    """Wait until Alertmanager has posted every `wanted` alert with `status` to the webhook."""
    webhook = stack.webhook
    assert webhook is not None

    def posted() -> bool:
        return wanted <= {alert_key(a["labels"]) for a in webhook.alerts() if a["status"] == status}

    wait_until(
        f"{sorted(wanted, key=str)} posted {status} to the webhook",
        posted,
        context=lambda: f"webhook got: {webhook.alerts()}\n{stack.logs()}",
    )
