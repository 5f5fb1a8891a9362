"""Sharding end to end: two shards of `serve` (and `run --shard` as a user runs it) against a
simulated world with two independent HA pairs, next to an unsharded monitor on the same
world. Together the shards report exactly the unsharded checks, none of them twice."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from monitor import cli
from monitor.config.schema import Config, load_config
from monitor.daemon.serve import serve
from monitor.daemon.shard import Shard, shard_of
from monitor.render import metrics
from monitor.state.snapshot import Snapshot
from tests.support.paths import CLI, DEMO, ROOT
from tests.support.waiting import free_port, wait_until
from tests.support.world import running_world

pytestmark = pytest.mark.e2e

Series = set[tuple[tuple[tuple[str, str], ...], float]]


def two_pairs(tmp: Path) -> Path:
    """The demo world with a second HA pair (bigip-c, bigip-d in edge-pair-2) holding the
    same objects, and a second boundary `shop-dr` on it; no timeline."""
    doc: dict[str, Any] = yaml.safe_load(DEMO.read_text())
    doc.pop("timeline", None)
    devices = doc["bigip"]["devices"]
    for index, name in ((2, "bigip-c"), (3, "bigip-d")):
        devices.append(
            {
                **devices[index - 2],
                "name": name,
                "hostname": f"{name}.example.net",
                "managementIp": f"192.0.2.{11 + index}",
            }
        )
    expected = doc["expected"]
    expected["bigip"] += [
        {"name": "bigip-c", "haGroup": "edge-pair-2"},
        {"name": "bigip-d", "haGroup": "edge-pair-2"},
    ]
    (shop,) = expected["boundaries"]
    expected["boundaries"].append({**shop, "name": "shop-dr", "devices": ["bigip-c", "bigip-d"]})
    path = tmp / "two-pairs.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return str(response.read().decode())


def series(text: str, name: str) -> Series:
    return {
        (tuple(sorted(s.labels.items())), s.value)
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == name
    }


def pairs(found: Series) -> set[tuple[str, str]]:
    """(check, boundary) of f5_linkerd_check series."""
    return {(dict(labels)["check"], dict(labels)["boundary"]) for labels, _ in found}


@contextlib.contextmanager
def serving(cfg: Config, shard: Shard | None) -> Iterator[int]:
    """`serve` on a port of its own, in a thread, until its first cycle is published."""
    port = free_port()
    cfg = replace(cfg, server=replace(cfg.server, listen=f"127.0.0.1:{port}"))
    cycled, stop = threading.Event(), threading.Event()

    def on_cycle(snapshot: Snapshot) -> None:
        cycled.set()

    thread = threading.Thread(
        target=serve, args=(cfg, stop, on_cycle), kwargs={"shard": shard}, daemon=True
    )
    thread.start()
    try:
        assert cycled.wait(60), f"no cycle of shard {shard} within 60s"
        yield port
    finally:
        stop.set()
        thread.join(timeout=30)


def test_two_shards_report_the_unsharded_checks_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    assert (shard_of("edge-pair-1", 2), shard_of("edge-pair-2", 2)) == (1, 2)
    with (
        running_world(two_pairs(tmp_path), tmp_path / "world") as (_, config_file),
        caplog.at_level(logging.INFO, logger="monitor"),
    ):
        cfg = load_config(config_file)
        scraped: dict[str, str] = {}
        for label, shard in (("all", None), ("1/2", Shard(1, 2)), ("2/2", Shard(2, 2))):
            with serving(cfg, shard) as port:
                scraped[label] = scrape(port)
    every, first, second = (series(scraped[k], metrics.CHECK) for k in ("all", "1/2", "2/2"))
    # the demo's identity provider trusts edge-pair-1's devices: it goes with them
    assert {b for _, b in pairs(first)} == {"shop", "workforce"}
    assert {b for _, b in pairs(second)} == {"shop-dr"}
    assert first | second == every
    assert not pairs(first) & pairs(second)
    assert len(pairs(every)) > 20  # every applicable check of both boundaries
    up = {
        k: {dict(labels)["target"] for labels, _ in series(v, metrics.SOURCE_UP)}
        for k, v in scraped.items()
    }
    assert up == {
        "all": {"bigip-a", "bigip-b", "bigip-c", "bigip-d", "kubernetes", "oidc:workforce"},
        "1/2": {"bigip-a", "bigip-b", "kubernetes", "oidc:workforce"},
        "2/2": {"bigip-c", "bigip-d", "kubernetes"},
    }
    messages = [r.getMessage() for r in caplog.records]
    assert "shard 1/2 owns 2 BIG-IP devices (bigip-a, bigip-b) and 1 boundary (shop)" in messages
    assert "shard 2/2 owns 2 BIG-IP devices (bigip-c, bigip-d) and 1 boundary (shop-dr)" in (
        messages
    )


def test_a_shard_without_boundaries_serves_its_own_metrics_and_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        running_world(DEMO, tmp_path) as (_, config_file),
        caplog.at_level(logging.INFO, logger="monitor"),
        serving(load_config(config_file), Shard(2, 2)) as port,  # edge-pair-1 is shard 1/2
    ):
        text = scrape(port)
    assert series(text, metrics.BUILD_INFO)
    assert series(text, metrics.CHECK) == set()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["shard 2/2 has nothing to check: no boundary's devices hash to it"]


def test_run_and_check_with_a_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with running_world(two_pairs(tmp_path), tmp_path / "world") as (_, config_file):
        code = cli.main(["check", "--config", str(config_file), "-o", "json", "--shard", "1/2"])
        assert code == 1  # the demo's critical findings, on shop
        checked = {c["boundary"] for c in json.loads(capsys.readouterr().out)["checks"]}
        assert checked == {"shop", "workforce"}
        doc = yaml.safe_load(config_file.read_text())
        port = free_port()
        doc["server"] = {"listen": f"127.0.0.1:{port}"}
        config_file.write_text(yaml.safe_dump(doc))
        process = subprocess.Popen(
            [*CLI, "run", "--config", str(config_file), "--shard", "2/2"],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            wait_until("a first cycle", lambda: "f5_linkerd_check{" in scrape(port))
            assert {b for _, b in pairs(series(scrape(port), metrics.CHECK))} == {"shop-dr"}
        finally:
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert "shard 2/2 owns 2 BIG-IP devices (bigip-c, bigip-d) and 1 boundary (shop-dr)" in stderr
