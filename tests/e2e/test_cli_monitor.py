"""`demo --once`, `check`, `run` and `validate-config`, run as a user runs them (subprocesses):
exit codes, `--shard` errors, and `check -o json` against the daemon's `/api/findings` on the
same world. The `rotation` steps, through `cli.main` in-process: tests/unit/test_cli.py."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.catalogue import CHECKS_BY_FAMILY
from monitor.checks import CHECKS
from monitor.config.schema import load_config
from monitor.daemon.serve import serve
from tests.support.paths import CLI, DEMO, ROOT
from tests.support.waiting import free_port
from tests.support.world import running_world

pytestmark = pytest.mark.e2e


def test_demo_once_prints_the_planted_drift_and_exits_1() -> None:
    result = subprocess.run(
        [*CLI, "demo", "--once", "-o", "json", "--listen", "127.0.0.1:0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert sorted((f["check"], f["severity"], f["device"]) for f in document["findings"]) == [
        ("bundle_cert_expiry", "warning", "bigip-a"),  # anchor-a seen in the BIG-IP bundle
        ("bundle_cert_expiry", "warning", "bigip-b"),
        ("bundle_missing_anchor", "critical", "bigip-a"),
        ("bundle_missing_anchor", "critical", "bigip-b"),
        ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-a"),  # the IdP's next key
        ("oidc_jwks_key_missing_on_bigip", "warning", "bigip-b"),
        ("policy_identity_unknown", "warning", ""),  # the renamed probe account
        ("pool_member_extra", "warning", "bigip-a"),
        ("pool_member_extra", "warning", "bigip-b"),
        ("trust_anchor_expiry", "warning", ""),
    ]
    # every check is evaluated: the demo's BIG-IP user may run bash, so the certificate
    # PEMs the client-certificate and edge checks need are read
    assert [c["check"] for c in document["checks"] if c["state"] == "unknown"] == []
    # every oidc check has a state for the demo's identity provider
    oidc = {c["check"]: c["state"] for c in document["checks"] if c["boundary"] == "workforce"}
    assert set(oidc) == set(CHECKS_BY_FAMILY["oidc"])
    assert oidc["oidc_jwks_key_missing_on_bigip"] == "warning"
    assert "Traceback" not in result.stderr


def test_demo_once_table_with_fail_on_warning(tmp_path: Path) -> None:
    result = subprocess.run(
        [*CLI, "demo", "--once", "--fail-on", "warning", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 1
    assert "CRITICAL bundle_missing_anchor" in result.stdout
    assert (tmp_path / "config.yaml").is_file()  # --out keeps the world's files
    # every other check passes: both sides are read completely (nothing unknown)
    cfg = load_config(tmp_path / "config.yaml")
    applicable = sum(1 for check in CHECKS if check.applies_to(cfg, cfg.boundaries[0]))
    applicable += len(CHECKS_BY_FAMILY["oidc"])  # per identity provider (one in the demo)
    assert f"2 critical, 8 warning, 0 unknown, {applicable - 6} passing checks" in result.stdout


def test_check_exits_2_when_a_source_is_down(tmp_path: Path) -> None:
    (tmp_path / "password").write_text("secret-value\n")
    config = {
        "mesh": {"kubeconfig": "missing-kubeconfig"},
        "bigip": [
            {
                "name": "bigip-a",
                "url": "https://127.0.0.1:9",  # nothing listens on the discard port
                "username": "monitor",
                "passwordFile": "password",
                "insecure": True,
            }
        ],
        "boundaries": [
            {
                "name": "shop",
                "mode": "mesh-tls",
                "devices": ["bigip-a"],
                "virtual": "/k8s/Shared/shop_443",
                "backend": {"service": {"namespace": "ingress", "name": "web", "port": 443}},
            }
        ],
        "poll": {"interval": "5s", "timeout": "2s"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    result = subprocess.run(
        [*CLI, "check", "--config", str(path), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    document = json.loads(result.stdout)
    reasons = {s["target"]: [e["reason"] for e in s["errors"]] for s in document["sources"]}
    assert reasons == {"bigip-a": ["connect_error"], "kubernetes": ["credentials_unreadable"]}
    assert document["findings"] == []
    assert {c["state"] for c in document["checks"]} == {"unknown"}
    assert "secret-value" not in result.stdout + result.stderr


def test_run_with_a_bad_config_exits_2_without_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("bigip: []\n")
    result = subprocess.run(
        [*CLI, "run", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.startswith(f"{path}: ")
    assert "Traceback" not in result.stderr


# --- `check -o json` and the daemon's /api/findings agree -----------------------------------


def test_check_json_and_the_daemon_api_findings_agree(tmp_path: Path) -> None:
    with running_world(DEMO, tmp_path) as (_, config_file):
        doc = yaml.safe_load(config_file.read_text())
        port = free_port()
        doc["server"] = {"listen": f"127.0.0.1:{port}"}
        doc["ignore"] = [
            {"check": "pool_member_extra", "boundary": "*", "reason": "CIS removes it soon"}
        ]
        config_file.write_text(yaml.safe_dump(doc))
        stop = threading.Event()
        daemon = threading.Thread(target=serve, args=(load_config(config_file), stop), daemon=True)
        daemon.start()
        try:
            served = _first_findings(port)
        finally:
            stop.set()
            daemon.join(timeout=30)
        result = subprocess.run(
            [*CLI, "check", "--config", str(config_file), "-o", "json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=ROOT,
        )
    checked = json.loads(result.stdout)

    def comparable(document: dict[str, Any]) -> tuple[object, ...]:
        """The findings apart from the times of the cycles themselves."""
        findings = [
            {
                **{k: v for k, v in f.items() if k != "first_seen"},
                "evidence": {k: v for k, v in f["evidence"].items() if k != "checked_at"},
            }
            for f in document["findings"]
        ]
        return findings, document["checks"], document["counts"]

    assert comparable(checked) == comparable(served)
    ignored = [f for f in checked["findings"] if f["ignored"]]
    assert [(f["check"], f["device"]) for f in ignored] == [
        ("pool_member_extra", "bigip-a"),
        ("pool_member_extra", "bigip-b"),
    ]
    assert {f["ignore_reason"] for f in ignored} == {"CIS removes it soon"}
    states = {c["check"]: (c["state"], c["ignored"]) for c in checked["checks"]}
    assert states["pool_member_extra"] == ("pass", 2)
    assert result.returncode == 1  # the critical bundle_missing_anchor is not ignored


def _first_findings(port: int) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            url = f"http://127.0.0.1:{port}/api/findings"
            with urllib.request.urlopen(url, timeout=5) as response:
                document: dict[str, Any] = json.loads(response.read())
            if "taken_at" in document:
                return document
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("the daemon published no findings within 60s")


def test_a_broken_web_config_is_named_by_validate_config_and_run(tmp_path: Path) -> None:
    """A webConfig whose certificate cannot be read: `validate-config` says so (offline),
    and `run` exits 2 naming the setting, not as a failure to listen."""
    with running_world(DEMO, tmp_path / "world") as (_, config_file):
        (tmp_path / "web.yml").write_text(
            "tls_server_config:\n  cert_file: missing.pem\n  key_file: missing.key\n"
        )
        doc = yaml.safe_load(config_file.read_text())
        doc["server"] = {
            "listen": f"127.0.0.1:{free_port()}",
            "webConfig": str(tmp_path / "web.yml"),
        }
        config_file.write_text(yaml.safe_dump(doc))
        results = [
            subprocess.run(
                [*CLI, *args], capture_output=True, text=True, timeout=60, check=False, cwd=ROOT
            )
            for args in (
                ["validate-config", str(config_file)],
                ["run", "--config", str(config_file)],
            )
        ]
    missing = f"cannot read {tmp_path / 'missing.pem'}"
    for result in results:
        assert result.returncode == 2, result.stderr
        assert "server.webConfig: " in result.stderr
        assert missing in result.stderr
        assert "cannot listen" not in result.stderr
        assert "Traceback" not in result.stderr


def test_run_on_a_busy_port_says_how_to_choose_another(tmp_path: Path) -> None:
    with running_world(DEMO, tmp_path / "world") as (_, config_file), socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        doc = yaml.safe_load(config_file.read_text())
        doc["server"] = {"listen": f"127.0.0.1:{holder.getsockname()[1]}"}
        config_file.write_text(yaml.safe_dump(doc))
        result = subprocess.run(
            [*CLI, "run", "--config", str(config_file)],
            capture_output=True, text=True, timeout=60, check=False, cwd=ROOT,
        )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "another process holds the port: set server.listen" in result.stderr
    assert "Traceback" not in result.stderr


# --- `--shard` -----------------------------------------------------------------------------------


def test_a_bad_shard_exits_2_without_a_traceback() -> None:
    result = subprocess.run(
        [*CLI, "run", "--config", "x.yaml", "--shard", "0/3"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "f5-linkerd-monitor run: --shard: the shard number must be between 1 and 3, got 0"
    ]


def test_help_names_the_option() -> None:
    result = subprocess.run(
        [*CLI, "run", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
    )
    assert "--shard i/N" in result.stdout
