"""The scenario table's end-to-end path: `simulate` and `check -o json` as processes, and
one daemon cycle whose `/api/findings` and `/api/rotation` are fetched over HTTP.

`run_e2e` runs a case of tests/scenarios/ (loaded by `tests.support.scenario_table`) that way and
returns the same `Result` as the unit path, so `problems` judges both alike.
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509

from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, build_monitor
from monitor.simulate.httpserver import sim_server_identity
from monitor.simulate.world import render
from monitor.state.snapshot import Snapshot
from monitor.web.server import Published, WebServer
from tests.support.paths import CLI, ROOT
from tests.support.scenario_table import (
    Case,
    Result,
    patch_config,
    resolved_from,
    write_scenario,
)


def started_at(out: Path, document: Mapping[str, Any]) -> datetime:
    """When a `simulate` process started its world: its TLS CA is valid from a day before
    (`sim_server_identity`); confirmed by making that CA again, byte for byte."""
    written = (out / "bigip-ca.pem").read_text()
    ca = x509.load_pem_x509_certificate(written.encode())
    moment = ca.not_valid_before_utc + timedelta(days=1)
    again, _ = sim_server_identity(moment, str(document["name"]))
    if again.pem != written:
        raise AssertionError("cannot tell when the simulated world started (CA differs)")
    return moment


def _wait_ready(proc: subprocess.Popen[str], log: Path) -> None:
    """Read `simulate`'s lines until `ready` (a hung process is pytest-timeout's business)."""
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line.rstrip("\n"))
        if lines[-1] == "ready":
            return
    raise AssertionError(f"simulate exited early: {lines} {log.read_text()}")


@contextlib.contextmanager
def simulating(scenario: Path, out: Path, *extra: str) -> Iterator[subprocess.Popen[str]]:
    """`python -m monitor simulate` on `scenario`, once it has printed `ready`; its stderr
    goes to `simulate.log` beside `out` (a pipe nobody reads could fill up)."""
    log = out.parent / "simulate.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [*CLI, "simulate", "--scenario", str(scenario), "--out", str(out), *extra],
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=ROOT,
        )
    try:
        _wait_ready(proc, log)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def daemon_documents(config: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """One daemon cycle (the daemon's sources, no state file written), published by a
    `WebServer`: its `/api/findings` and `/api/rotation`, read back over HTTP."""
    web = WebServer("127.0.0.1:0")
    web.start()
    try:

        def publish(snapshot: Snapshot) -> None:
            web.publish(Published.of(snapshot))

        monitor: Monitor = build_monitor(load_config(config), publish=publish, persist=False)
        try:
            monitor.cycle()
        finally:
            monitor.close()
        served = []
        for endpoint in ("findings", "rotation"):
            url = f"http://127.0.0.1:{web.port}/api/{endpoint}"
            with urllib.request.urlopen(url, timeout=10) as response:
                served.append(json.loads(response.read()))
    finally:
        web.stop()
    return served[0], served[1]


def run_e2e(case: Case, directory: Path) -> Result:
    """`simulate` and `check -o json` as processes; the daemon's documents beside them. The
    result's rotation is the daemon's (`check` prints none)."""
    scenario = write_scenario(case, directory)
    out = directory / "world"
    with simulating(scenario, out):
        moment = started_at(out, case.document)
        resolved = resolved_from(render(case.document, moment, "e2e", "e2e"))
        config = out / "config.yaml"
        patch_config(config, case, resolved)
        check = subprocess.run(
            [*CLI, "check", "--config", str(config), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
        assert "Traceback" not in check.stderr, check.stderr
        served, rotation = daemon_documents(config)
    document = json.loads(check.stdout)
    return Result(document, rotation, resolved, check.returncode, served)


def comparable(document: Mapping[str, Any]) -> dict[str, Any]:
    """A findings document without the cycle's own times (taken_at, first_seen, the
    `checked_at` evidence), for comparing two cycles on the same world."""
    findings = [
        {
            **{k: v for k, v in f.items() if k != "first_seen"},
            "evidence": {k: v for k, v in f["evidence"].items() if k != "checked_at"},
        }
        for f in document["findings"]
    ]
    return {
        "findings": findings,
        "checks": document["checks"],
        "counts": document["counts"],
        "sources": document["sources"],
    }


def expected_exit_code(document: Mapping[str, Any]) -> int:
    """`check`'s exit code for a complete cycle (default --fail-on critical)."""
    return 1 if any(f["severity"] == "critical" for f in document["findings"]) else 0
