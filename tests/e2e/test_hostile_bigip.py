"""A hostile BIG-IP beside the simulated demo pair and Kubernetes: `check` still answers.

Against a device serving JSON nested 200,000 levels, a body dripping one byte a second, or
a 300 MB body (`tests.support.hostile_bigip`, over TLS on 127.0.0.1), `check` run as a
user runs it must exit 2 within `poll.timeout` + 5 s, report the healthy BIG-IPs and
Kubernetes up and the hostile one down with its reason, print no traceback, and keep its
peak RSS at or under 400 MB (measured with `wait4` on the child itself).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.hostile_bigip import CHUNK, HostileBigip, Mode
from tests.support.paths import CLI, DEMO, ROOT
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

TIMEOUT = 5.0  # poll.timeout of the test's config
PEAK_RSS_MB = 400


def _run_measured(args: list[str], out: Path, limit: float) -> tuple[int, float, float, str, str]:
    """Run the CLI; (exit code, seconds, peak RSS in MB, stdout, stderr)."""
    stdout, stderr = out / "stdout", out / "stderr"
    with stdout.open("w") as so, stderr.open("w") as se:
        started = time.monotonic()
        proc = subprocess.Popen([*CLI, *args], stdout=so, stderr=se, cwd=ROOT)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - started > limit:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        took = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
    peak_mb = usage.ru_maxrss / 1024  # KiB on Linux
    return proc.returncode, took, peak_mb, stdout.read_text(), stderr.read_text()


def _config(world_config: Path, hostile: HostileBigip, tmp: Path) -> Path:
    doc: dict[str, Any] = yaml.safe_load(world_config.read_text())
    template = doc["bigip"][0]
    doc["bigip"].append(
        {
            "name": "bigip-hostile",
            "url": hostile.url,
            "usernameFile": template["usernameFile"],
            "passwordFile": template["passwordFile"],
            "caFile": str(hostile.write_ca(tmp / "hostile-ca.pem")),
        }
    )
    doc["poll"] = {"interval": "15s", "timeout": f"{TIMEOUT:g}s"}
    path = world_config.parent / "hostile.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize(
    ("mode", "reason"),
    [("deep", "bad_json"), ("drip", "timeout"), ("huge", "response_too_large")],
)
def test_check_answers_beside_a_hostile_bigip(
    tmp_path: Path, mode: Mode, reason: str, record_property: Any
) -> None:
    with (
        running_world(DEMO, tmp_path / "world") as (_, world_config),
        HostileBigip(mode) as hostile,
    ):
        config = _config(world_config, hostile, tmp_path)
        code, took, peak_mb, out, err = _run_measured(
            ["check", "--config", str(config), "-o", "json"], tmp_path, limit=120
        )
    record_property("seconds", round(took, 2))
    record_property("peak_rss_mb", round(peak_mb, 1))
    print(f"{mode}: exit {code} in {took:.2f}s, peak RSS {peak_mb:.1f} MB")
    assert "Traceback" not in err, err
    assert code == 2, err
    assert took <= TIMEOUT + 5, took
    assert peak_mb <= PEAK_RSS_MB, peak_mb
    document = json.loads(out)
    up = {s["target"]: s["up"] for s in document["sources"]}
    assert up == {
        "bigip-a": True,
        "bigip-b": True,
        "bigip-hostile": False,
        "kubernetes": True,
        "oidc:workforce": True,  # the demo's identity provider
    }
    hostile_errors = next(s for s in document["sources"] if s["target"] == "bigip-hostile")
    assert [e["reason"] for e in hostile_errors["errors"]] == [reason]
    assert hostile.requests >= 1
    if mode == "huge":
        # the client stopped reading at its 64 MiB cap (plus what socket buffers took)
        assert hostile.bytes_sent < 100 * CHUNK
