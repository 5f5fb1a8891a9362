"""`demo --once`, `check` and `run` exit codes, run as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from monitor.checks import CHECKS
from monitor.config import load_config
from tests.test_cli_simulate import ROOT

CLI = [sys.executable, "-m", "monitor"]


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
    assert sorted({(f["check"], f["severity"]) for f in document["findings"]}) == [
        ("bundle_missing_anchor", "critical"),
        ("pool_member_extra", "warning"),
        ("trust_anchor_expiry", "warning"),
    ]
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
    # every other check passes: the mesh side is read completely (nothing unknown)
    cfg = load_config(tmp_path / "config.yaml")
    applicable = sum(1 for check in CHECKS if check.applies_to(cfg, cfg.boundaries[0]))
    assert f"2 critical, 3 warning, 0 unknown, {applicable - 3} passing checks" in result.stdout


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
