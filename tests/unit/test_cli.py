"""`rotation` through `cli.main`, in-process: the steps it prints on the demo world and at
each phase of a scenario timeline (the daemon writes the state file the command reads);
what `check --help` and `rotation --help` say about their deadline and exit codes.

The commands run as processes (exit codes, `check -o json` against the daemon's
`/api/findings`) are in tests/e2e/test_cli_monitor.py; beside a source that does not answer
in time, in tests/e2e/test_cli_oneshot.py."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest
import yaml

from monitor import cli
from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, build_monitor
from monitor.simulate.world import World
from tests.support.paths import DEMO
from tests.support.world import running_world


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


@pytest.mark.parametrize("command", ["check", "rotation"])
def test_the_one_shot_commands_help_says_how_long_they_wait_and_their_exit_codes(
    command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main([command, "--help"])
    assert exited.value.code == 0
    text = flat(capsys.readouterr().out)
    assert "Each source is awaited at most 90% of poll.interval" in text
    assert "reported down (timeout) beside the others' results" in text
    assert "2 bad config or a source down or timed out" in text
