"""Sharding in the daemon and on the command line (in-process): `--shard` errors, a shard
that owns nothing, reloads cut down to the shard. The same errors from a process are in
tests/e2e/test_cli_monitor.py; the Helm chart's `shard` value in
tests/deploy/test_helm_shard.py."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor import cli
from monitor.config.schema import BigIPConfig, Config, load_config
from monitor.daemon.cycle import Monitor
from monitor.daemon.reload import ConfigFile
from monitor.daemon.serve import Daemon
from monitor.daemon.shard import Shard, shard_config
from monitor.render import metrics
from monitor.web.server import Published
from tests.support import checkdata as cd
from tests.support.configfile import write_config
from tests.unit.daemon.test_reload import Clock, FakeF5, FakeMesh

# --- `--shard` on the command line ----------------------------------------------------------


@pytest.mark.parametrize("command", ["run", "check", "rotation"])
@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0/3", "the shard number must be between 1 and 3, got 0"),
        ("4/3", "the shard number must be between 1 and 3, got 4"),
        ("a/b", "expected i/N such as 1/3, got 'a/b'"),
        ("3", "expected i/N such as 1/3, got '3'"),
    ],
)
def test_a_bad_shard_is_one_line_naming_the_flag(
    command: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = cli.main([command, "--config", "/nonexistent.yaml", f"--shard={value}"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err == f"f5-linkerd-monitor {command}: --shard: {message}\n"


# --- the daemon on a shard ------------------------------------------------------------------


def _device(name: str, group: str) -> dict[str, Any]:
    return {
        "name": name,
        "url": f"https://{name}.example.net",
        "username": "monitor",
        "passwordEnv": "BIGIP_PASSWORD",
        "insecure": True,
        "haGroup": group,
    }


ONE_PAIR: dict[str, Any] = {  # edge-pair-1 hashes to shard 1 of 2
    "bigip": [_device("bigip-a", "edge-pair-1"), _device("bigip-b", "edge-pair-1")],
    "boundaries": [cd.SHOP],
}
TWO_PAIRS: dict[str, Any] = {  # edge-pair-2 hashes to shard 2 of 2
    "bigip": [
        *ONE_PAIR["bigip"],
        _device("bigip-c", "edge-pair-2"),
        _device("bigip-d", "edge-pair-2"),
    ],
    "boundaries": [cd.SHOP, {**cd.SHOP, "name": "dr", "devices": ["bigip-c", "bigip-d"]}],
}


def _write(path: Path, doc: dict[str, Any]) -> Path:
    return write_config(path, copy.deepcopy(doc))


class ShardHarness:
    """A `Daemon` on shard `shard` of the config file at `path`, over fake sources."""

    def __init__(self, path: Path, shard: Shard) -> None:
        self.published: list[Published] = []
        self.built: list[str] = []
        clock = Clock()

        def make_f5(device: BigIPConfig, cfg: Config) -> FakeF5:
            self.built.append(device.name)
            return FakeF5(device, cfg)

        def build(cfg: Config, publish: Any) -> Monitor:
            return Monitor(
                cfg,
                [make_f5(d, cfg) for d in cfg.bigip],
                FakeMesh(cfg),
                clock=clock,
                publish=publish,
                make_f5=make_f5,
                make_mesh=FakeMesh,
            )

        self.daemon = Daemon(
            shard_config(load_config(path), shard),
            self.published.append,
            config_file=ConfigFile(path, clock),
            build=build,
            clock=clock,
            shard=shard,
        )

    def series(self, name: str) -> list[dict[str, str]]:
        text = self.published[-1].metrics.decode()
        return [
            s.labels
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == name
        ]


def test_a_shard_that_owns_nothing_cycles_and_publishes_its_own_metrics(
    tmp_path: Path,
) -> None:
    h = ShardHarness(_write(tmp_path / "config.yaml", ONE_PAIR), Shard(2, 2))
    assert (h.daemon.cfg.bigip, h.daemon.cfg.boundaries) == ((), ())
    h.daemon.tick()
    h.daemon.tick()
    snapshot = h.published[-1].snapshot
    assert snapshot is not None
    assert (snapshot.cycle, snapshot.states, snapshot.findings) == (2, (), ())
    assert h.series(metrics.BUILD_INFO)
    assert h.series(metrics.CHECK) == []
    assert [s["source"] for s in h.series(metrics.SOURCE_UP)] == ["kubernetes"]
    h.daemon.close()


def test_a_reload_is_cut_down_to_the_shard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = _write(tmp_path / "config.yaml", ONE_PAIR)
    first, second = ShardHarness(path, Shard(1, 2)), ShardHarness(path, Shard(2, 2))
    first.daemon.tick()
    second.daemon.tick()
    assert first.built == ["bigip-a", "bigip-b"]
    assert second.built == []
    _write(path, TWO_PAIRS)
    with caplog.at_level(logging.INFO, logger="monitor"):
        first.daemon.tick()
        second.daemon.tick()
    assert [d.name for d in first.daemon.cfg.bigip] == ["bigip-a", "bigip-b"]
    assert [b.name for b in first.daemon.cfg.boundaries] == ["shop"]
    assert first.built == ["bigip-a", "bigip-b"]  # nothing rebuilt, nothing added
    assert [d.name for d in second.daemon.cfg.bigip] == ["bigip-c", "bigip-d"]
    assert [b.name for b in second.daemon.cfg.boundaries] == ["dr"]
    assert second.built == ["bigip-c", "bigip-d"]
    assert {s["boundary"] for s in first.series(metrics.CHECK)} == {"shop"}
    assert {s["boundary"] for s in second.series(metrics.CHECK)} == {"dr"}
    messages = [r.getMessage() for r in caplog.records]
    assert f"config reloaded from {path}: BIG-IP bigip-a, bigip-b kept; Kubernetes kept" in (
        messages
    )
    assert "shard 2/2 owns 2 BIG-IP devices (bigip-c, bigip-d) and 1 boundary (dr)" in messages
    assert not any(m.startswith("shard 1/2") for m in messages)  # its part did not change
    for h in (first, second):
        h.daemon.close()
