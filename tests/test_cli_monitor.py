"""`demo --once`, `check`, `rotation` and `run`, run as a user runs them: exit codes, the
rotation steps on the demo world and along a scenario timeline, and `check -o json` against
the daemon's `/api/findings` on the same world."""

from __future__ import annotations

import contextlib
import hashlib
import json
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import cli
from monitor.checks import CHECKS
from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, build_monitor
from monitor.daemon.serve import serve
from monitor.simulate.world import Scenario, World
from tests.test_cli_simulate import DEMO, ROOT
from tests.waiting import free_port

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
    assert sorted((f["check"], f["severity"], f["device"]) for f in document["findings"]) == [
        ("bundle_cert_expiry", "warning", "bigip-a"),  # anchor-a seen in the BIG-IP bundle
        ("bundle_cert_expiry", "warning", "bigip-b"),
        ("bundle_missing_anchor", "critical", "bigip-a"),
        ("bundle_missing_anchor", "critical", "bigip-b"),
        ("pool_member_extra", "warning", "bigip-a"),
        ("pool_member_extra", "warning", "bigip-b"),
        ("trust_anchor_expiry", "warning", ""),
    ]
    # every check is evaluated: the demo's BIG-IP user may run bash, so the certificate
    # PEMs the client-certificate and edge checks need are read
    assert [c["check"] for c in document["checks"] if c["state"] == "unknown"] == []
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
    assert f"2 critical, 5 warning, 0 unknown, {applicable - 4} passing checks" in result.stdout


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


# --- In-process simulated worlds (as `demo` runs them) -------------------------------------


@contextlib.contextmanager
def running_world(scenario: Path, out: Path) -> Iterator[tuple[World, Path]]:
    """The scenario's world served in-process (timeline stepped by hand); its config file."""
    world = World(Scenario.load(scenario))
    world.start(play_timeline=False)
    try:
        yield world, world.write_outputs(out)["config"]
    finally:
        world.stop()


def flat(text: str) -> str:
    """Table output with its line wrapping undone."""
    return " ".join(text.split())


def cert_fingerprint(world: World, cert_id: str) -> str:
    return hashlib.sha256(world.state.certs[cert_id].der).hexdigest()


def test_rotation_on_the_demo_world_names_the_missing_anchor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_world(DEMO, tmp_path) as (world, config_file):
        anchor_b = cert_fingerprint(world, "anchor-b")
        assert cli.main(["rotation", "--config", str(config_file)]) == 1  # broken
        text = flat(capsys.readouterr().out)
        assert cli.main(["rotation", "--config", str(config_file), "-o", "json"]) == 1
        document = json.loads(capsys.readouterr().out)
    assert "BOUNDARY shop: BROKEN" in text
    assert f"1. add anchor SHA256 {anchor_b[:16]}… (CN=root.linkerd.cluster.local, expires" in text
    assert "to /k8s/Shared/serverssl_ca_bundle on bigip-a and bigip-b now" in text
    (shop,) = document["boundaries"]
    assert shop["phase"] == "broken"
    assert shop["objects"] == [
        "bigip-a:/k8s/Shared/serverssl_ca_bundle",
        "bigip-b:/k8s/Shared/serverssl_ca_bundle",
    ]
    assert {a["fingerprint"]: a["role"] for a in shop["anchors"]}[anchor_b] == "issuer"
    assert document["complete"] is True


def _rotation_scenario(tmp: Path) -> Path:
    """The demo world before a rotation (one anchor everywhere), and a timeline that walks
    Linkerd's procedure (research/linkerd.md 6.1) to the new anchor, one step per event."""
    doc = yaml.safe_load(DEMO.read_text())
    doc["certificates"]["anchor-a"]["notAfter"] = "+200d"
    doc["certificates"]["issuer-a"] = {
        "cn": "identity.linkerd.cluster.local",
        "signer": "anchor-a",
        "ca": True,
        "pathLen": 0,
        "notBefore": "-30d",
        "notAfter": "+300d",
    }
    doc["certificates"]["bigip-client-a"] = {
        **doc["certificates"]["bigip-client"],
        "signer": "issuer-a",
    }
    linkerd = doc["kubernetes"]["linkerd"]
    linkerd["anchors"] = ["anchor-a"]
    linkerd["issuer"] = {"scheme": "kubernetes.io/tls", "cert": "issuer-a", "caCert": "anchor-a"}
    (ingress,) = [w for w in doc["kubernetes"]["workloads"] if w["name"] == "nginx-ingress"]
    for pod in ingress["pods"]:
        pod["trustAnchors"] = ["anchor-a"]
    config = doc["bigip"]["config"]
    for cert in config["sslCerts"]:
        cert["cert"] = {"bigip-client": "bigip-client-a", "issuer": "issuer-a"}.get(
            cert.get("cert"), cert.get("cert")
        )
    for pool in config["pools"]:
        pool["members"] = [m for m in pool["members"] if m["address"] != "10.42.9.99"]
    doc["expected"]["state"] = {"file": "state.json"}
    pods = "/kubernetes/workloads/name=nginx-ingress/pods"
    bundle = "/bigip/config/caBundleManagers/[path=/k8s/Shared/serverssl_ca_bundle]/includeBundle"

    def pods_trust(*anchors: str) -> list[dict[str, object]]:
        return [
            {"op": "replace", "path": f"{pods}/{i}/trustAnchors", "value": list(anchors)}
            for i in range(3)
        ]

    def use_cert(path: str, cert_id: str) -> dict[str, object]:
        return {
            "op": "replace",
            "path": f"/bigip/config/sslCerts/[path={path}]/cert",
            "value": cert_id,
        }

    anchors = "/kubernetes/linkerd/anchors"
    doc["timeline"] = [
        {
            "at": "1s",
            "patch": [{"op": "replace", "path": anchors, "value": ["anchor-b", "anchor-a"]}],
        },
        {
            "at": "2s",
            "patch": [
                {
                    "op": "add",
                    "path": "/bigip/config/sslCerts/-",
                    "value": {"path": "/k8s/Shared/linkerd_anchor_b.crt", "cert": "anchor-b"},
                },
                {"op": "add", "path": f"{bundle}/-", "value": "/k8s/Shared/linkerd_anchor_b.crt"},
                *pods_trust("anchor-b", "anchor-a"),
            ],
        },
        {
            "at": "3s",
            "patch": [
                {"op": "replace", "path": "/kubernetes/linkerd/issuer/cert", "value": "issuer"},
                {"op": "replace", "path": "/kubernetes/linkerd/issuer/caCert", "value": "anchor-b"},
                use_cert("/k8s/Shared/bigip_client.crt", "bigip-client"),
                use_cert("/k8s/Shared/linkerd_issuer.crt", "issuer"),
            ],
        },
        {
            "at": "4s",
            "patch": [
                {"op": "replace", "path": f"{pods}/{i}/node", "value": f"node-{i + 4}"}
                for i in range(3)
            ],
        },
        {"at": "5s", "patch": [{"op": "replace", "path": anchors, "value": ["anchor-b"]}]},
        {"at": "6s", "patch": [{"op": "remove", "path": f"{bundle}/0"}, *pods_trust("anchor-b")]},
    ]
    path = tmp / "rotation.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _daemon_sees(monitor: Monitor, phase: str) -> None:
    """Cycle the daemon until its watches have caught up with the world's last change."""
    deadline = time.monotonic() + 20
    while True:
        snapshot = monitor.cycle()
        if snapshot.rotation[0].phase == phase or time.monotonic() > deadline:
            assert snapshot.rotation[0].phase == phase, snapshot.rotation[0].explanation
            return
        time.sleep(0.2)


def test_rotation_prints_the_right_step_at_each_phase_of_a_scenario_timeline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_world(_rotation_scenario(tmp_path), tmp_path / "world") as (world, config_file):
        a = cert_fingerprint(world, "anchor-a")[:16]
        b = cert_fingerprint(world, "anchor-b")[:16]
        bundle = "/k8s/Shared/serverssl_ca_bundle"
        expected = [
            ("STEADY", "1. nothing to do"),
            ("NEW_ANCHOR_IN_MESH", f"1. add anchor SHA256 {b}…"),
            (
                "NEW_ANCHOR_STAGED_EVERYWHERE",
                f"1. rotate the identity issuer onto anchor SHA256 {b}…",
            ),
            (
                "ISSUER_ROTATED",
                f"keep SHA256 {a}… in ConfigMap linkerd/linkerd-identity-trust-roots",
            ),
            ("OLD_ANCHOR_REMOVABLE", f"remove anchor SHA256 {a}… (CN=root.linkerd.cluster.local"),
            (
                "OLD_ANCHOR_REMOVABLE",
                f"remove anchor SHA256 {a}… from {bundle} on bigip-a and bigip-b",
            ),
            ("STEADY", "1. nothing to do"),
        ]
        cfg = load_config(config_file)
        daemon = build_monitor(cfg)  # writes the state file the command reads
        try:
            for step, (phase, text) in enumerate(expected):
                if step:
                    assert world.step() is not None
                _daemon_sees(daemon, phase.lower())
                code = cli.main(["rotation", "--config", str(config_file)])
                out = flat(capsys.readouterr().out)
                assert f"BOUNDARY shop: {phase}" in out, (step, out)
                assert text in out, (step, out)
                assert code == 0
        finally:
            daemon.close()
    assert (tmp_path / "world" / "state.json").is_file()


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
