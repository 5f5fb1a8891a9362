"""End to end: `simulate` and `doctor` as separate processes, as a user runs them.

The world has util/bash refused on both BIG-IPs and the issuer Secret's grant withheld:
`doctor` exits 1 and its table names exactly the checks that will be unknown. Once the
world is stopped, the same config exits 2 (nothing can be reached).
"""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.support.paths import CLI, ROOT, SCENARIOS
from tests.support.world import start_simulate
from tests.unit.doctor.test_doctor import MUST_SHOW_UNKNOWN

pytestmark = pytest.mark.e2e


def refused_world(tmp: Path) -> Path:
    doc = yaml.safe_load((SCENARIOS / "base.yaml").read_text())
    for device in doc["bigip"]["devices"]:
        device["bashAllowed"] = False
    doc["kubernetes"]["withhold"] = [
        {"resource": "secrets", "namespace": "linkerd", "name": "linkerd-identity-issuer"}
    ]
    path = tmp / "refused.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def doctor(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "doctor", "--config", str(config), "-o", "json"],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )  # fmt: skip


def test_doctor_names_the_unknown_checks_then_finds_the_world_gone(tmp_path: Path) -> None:
    out = tmp_path / "world"
    running = start_simulate(refused_world(tmp_path), out)
    try:
        running.wait_for("ready")
        run = doctor(out / "config.yaml")
        assert run.returncode == 1, run.stderr
        document = json.loads(run.stdout)
        unknown = {c["check"] for c in document["checks"] if c["will"] == "unknown"}
        assert unknown == MUST_SHOW_UNKNOWN
        password = (out / "bigip-password").read_text().strip()
        assert password not in run.stdout + run.stderr
    finally:
        running.proc.send_signal(signal.SIGTERM)
        running.proc.wait(timeout=30)
    gone = doctor(out / "config.yaml")
    assert gone.returncode == 2
    assert all(not s["reachable"] for s in json.loads(gone.stdout)["sources"])
    assert "which is not running" in gone.stderr
