"""`run` as a user runs it, reloading its config: a broken file is reported and the old
config kept, a repaired one is loaded on SIGHUP, and the new ignore rule applies. What a
reload rebuilds is unit-tested in tests/unit/daemon/test_reload.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.support.configfile import write_config
from tests.support.paths import DEMO, ROOT
from tests.support.waiting import free_port, wait_until
from tests.support.world import running_world

pytestmark = pytest.mark.e2e


def _metrics(port: int) -> str:
    url = f"http://127.0.0.1:{port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def test_run_reloads_on_sighup_and_on_a_change_of_the_file(tmp_path: Path) -> None:
    with running_world(DEMO, tmp_path / "world") as (_, config_file):
        doc = yaml.safe_load(config_file.read_text())
        port = free_port()
        doc["server"] = {"listen": f"127.0.0.1:{port}"}
        doc["poll"] = {"interval": "1s", "timeout": "1s"}
        write_config(config_file, doc)
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "run", "--config", str(config_file)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until("a first cycle", lambda: "f5_linkerd_check{" in _metrics(port))
            assert "f5_linkerd_config_last_reload_successful 1.0" in _metrics(port)
            config_file.write_text("boundaries: [\n")  # broken, and no SIGHUP: seen by a cycle
            wait_until(
                "the broken file reported",
                lambda: "f5_linkerd_config_last_reload_successful 0.0" in _metrics(port),
            )
            assert "f5_linkerd_check{" in _metrics(port)  # still polling with the old config
            doc["ignore"] = [{"check": "pool_member_extra", "boundary": "*", "reason": "r"}]
            write_config(config_file, doc)
            process.send_signal(signal.SIGHUP)
            wait_until(
                "the repaired file loaded",
                lambda: "f5_linkerd_config_last_reload_successful 1.0" in _metrics(port),
            )
            wait_until(
                "the new ignore rule applied",
                lambda: (
                    'check="pool_member_extra"} 2.0'  # findings_ignored: one per device
                    in _metrics(port)
                ),
            )
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if "config reload failed" in line]
    assert len(lines) == 1, stderr
    assert f"config reload failed, keeping the previous config: {config_file}:" in lines[0]
    assert "received SIGHUP" in stderr
    assert "config reloaded from" in stderr
