"""Reloading the config: the file watch, what a new config rebuilds, the daemon's reload
gauges, and `run` reloading on SIGHUP and on a change of the file."""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.schema import BigIPConfig, Config, load_config
from monitor.daemon.cycle import Monitor
from monitor.daemon.reload import ConfigFile, plan_reload
from monitor.daemon.serve import Daemon
from monitor.model import F5State, MeshState, SourceStatus
from monitor.render import metrics
from monitor.web.server import Published
from tests.support import checkdata as cd
from tests.support.configfile import write_config

T0 = datetime(2026, 11, 26, 12, tzinfo=UTC)


def _device(name: str, **changes: Any) -> dict[str, Any]:
    return {
        "name": name,
        "url": f"https://{name}.example.net",
        "username": "monitor",
        "passwordEnv": "BIGIP_PASSWORD",
        "insecure": True,
        **changes,
    }


BASE: dict[str, Any] = {
    "bigip": [_device("bigip-a"), _device("bigip-b")],
    "boundaries": [cd.SHOP],
}


def _doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    doc.update(changes)
    return doc


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


# --- ConfigFile --------------------------------------------------------------------------


def test_an_unchanged_file_is_not_reloaded_and_a_changed_one_is(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.yaml", BASE)
    clock = Clock()
    watched = ConfigFile(path, clock)
    assert (watched.successful, watched.success_at) == (True, T0)
    assert watched.check() is None
    path.touch()
    write_config(path, BASE)  # same content, new mtime: nothing to do
    assert watched.check() is None
    clock.now = T0 + timedelta(minutes=5)
    write_config(path, _doc(poll={"interval": "30s"}))
    new = watched.check()
    assert new is not None
    assert new.poll.interval == timedelta(seconds=30)
    assert (watched.successful, watched.success_at) == (True, clock.now)
    assert watched.check() is None
    assert watched.check(force=True) == new  # SIGHUP: loaded again even when unchanged


def test_an_invalid_file_is_logged_once_and_the_old_config_stays(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = write_config(tmp_path / "config.yaml", BASE)
    watched = ConfigFile(path, Clock())
    broken = _doc(boundaries=[{**cd.SHOP, "backend": {"identity": "auto"}}])
    with caplog.at_level(logging.ERROR, logger="monitor"):
        write_config(path, broken)
        assert watched.check() is None
        write_config(path, broken)  # touched again, still broken: not reported again
        assert watched.check() is None
    assert [r.getMessage() for r in caplog.records] == [
        f"config reload failed, keeping the previous config: {path}: "
        "boundaries[0].backend.service: required"
    ]
    assert (watched.successful, watched.success_at) == (False, T0)
    write_config(path, BASE)  # repaired (back to what is in force): loaded, and fine again
    assert watched.check() is not None
    assert watched.successful


def test_a_deleted_file_fails_the_reload(tmp_path: Path) -> None:
    path = write_config(tmp_path / "config.yaml", BASE)
    watched = ConfigFile(path, Clock())
    path.unlink()
    assert watched.check() is None
    assert not watched.successful


# --- What a new config rebuilds ----------------------------------------------------------


def _cfg(tmp_path: Path, **changes: Any) -> Config:
    return load_config(write_config(tmp_path / "c.yaml", _doc(**changes)))


def test_unrelated_changes_keep_every_source(tmp_path: Path) -> None:
    old = _cfg(tmp_path)
    new = _cfg(
        tmp_path,
        thresholds={"edgeCert": {"warning": "40d", "critical": "10d"}},
        ignore=[{"check": "pool_member_extra", "boundary": "shop", "reason": "canary"}],
    )
    plan = plan_reload(old, new)
    assert (plan.kept, plan.rebuilt, plan.added, plan.removed) == (
        ("bigip-a", "bigip-b"),
        (),
        (),
        (),
    )
    assert not plan.mesh
    assert not plan.restart
    assert plan.summary() == "BIG-IP bigip-a, bigip-b kept; Kubernetes kept"


def test_only_the_sources_whose_settings_changed_are_rebuilt(tmp_path: Path) -> None:
    old = _cfg(tmp_path)
    web = {**cd.WEB, "devices": ["bigip-a"]}
    new = _cfg(
        tmp_path,
        bigip=[_device("bigip-a"), _device("bigip-c", url="https://c.example.net")],
        boundaries=[{**cd.SHOP, "devices": ["bigip-a", "bigip-c"]}, web],
        server={"listen": ":9999"},
    )
    plan = plan_reload(old, new)
    assert plan.rebuilt == ("bigip-a",)  # a boundary was added on it
    assert (plan.added, plan.removed, plan.kept) == (("bigip-c",), ("bigip-b",), ())
    assert plan.mesh  # a new backend Service to watch
    assert plan.restart == ("server",)
    assert plan.summary() == (
        "BIG-IP bigip-c added; BIG-IP bigip-b removed; BIG-IP bigip-a rebuilt; Kubernetes rebuilt"
    )


def test_poll_settings_rebuild_the_bigip_sources_and_only_a_timeout_the_mesh(
    tmp_path: Path,
) -> None:
    old = _cfg(tmp_path)
    interval = plan_reload(old, _cfg(tmp_path, poll={"interval": "2m"}))
    assert (interval.rebuilt, interval.mesh, interval.interval) == (
        ("bigip-a", "bigip-b"),
        False,
        True,
    )
    timeout = plan_reload(old, _cfg(tmp_path, poll={"timeout": "10s"}))
    assert (timeout.mesh, timeout.interval) == (True, False)
    mesh = plan_reload(old, _cfg(tmp_path, mesh={"linkerdNamespace": "l5d"}))
    assert (mesh.kept, mesh.mesh) == (("bigip-a", "bigip-b"), True)
    election = plan_reload(old, _cfg(tmp_path, leaderElection={"enabled": True}))
    assert election.restart == ("leaderElection",)


# --- The daemon reloading -----------------------------------------------------------------


class FakeF5:
    def __init__(self, device: BigIPConfig, cfg: Config) -> None:
        self.name = device.name
        self.url = device.url
        self.closed = False

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        return cd.f5(self.name), SourceStatus(self.name, "bigip", up=True)

    def close(self) -> None:
        self.closed = True


class FakeMesh:
    def __init__(self, cfg: Config) -> None:
        self.closed = False

    def poll(self) -> tuple[MeshState, SourceStatus]:
        return cd.mesh(), SourceStatus("kubernetes", "kubernetes", up=True)

    def close(self) -> None:
        self.closed = True


class Harness:
    """A `Daemon` over fake sources; what it published last; the sources it built."""

    def __init__(self, path: Path, clock: Clock) -> None:
        self.published: list[Published] = []
        self.built: list[FakeF5 | FakeMesh] = []
        self.schedule: list[float] = []

        def make_f5(device: BigIPConfig, cfg: Config) -> FakeF5:
            self.built.append(FakeF5(device, cfg))
            return self.built[-1]  # type: ignore[return-value]

        def make_mesh(cfg: Config) -> FakeMesh:
            self.built.append(FakeMesh(cfg))
            return self.built[-1]  # type: ignore[return-value]

        def build(cfg: Config, publish: Callable[[Any], None]) -> Monitor:
            return Monitor(
                cfg,
                [make_f5(d, cfg) for d in cfg.bigip],
                make_mesh(cfg),
                clock=clock,
                publish=publish,
                make_f5=make_f5,
                make_mesh=make_mesh,
            )

        self.daemon = Daemon(
            load_config(path),
            self.published.append,
            config_file=ConfigFile(path, clock),
            build=build,
            reschedule=self.schedule.append,
            clock=clock,
        )

    def samples(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        text = self.published[-1].metrics.decode()
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def test_the_daemon_reloads_a_changed_file_and_keeps_the_old_config_when_it_is_invalid(
    tmp_path: Path,
) -> None:
    path = write_config(tmp_path / "config.yaml", BASE)
    clock = Clock()
    h = Harness(path, clock)
    h.daemon.republish()
    assert h.samples()[(metrics.RELOAD_OK, ())] == 1
    assert h.samples()[(metrics.RELOAD_SUCCESS, ())] == T0.timestamp()
    h.daemon.tick()
    first = list(h.built)
    assert len(first) == 3
    assert h.published[-1].snapshot is not None
    # an ignore rule and a new device: only the new device's source is built
    clock.now = T0 + timedelta(minutes=1)
    rule = {"check": "pool_member_extra", "boundary": "*", "reason": "canary"}
    write_config(
        path,
        _doc(
            bigip=[*BASE["bigip"], _device("bigip-c")],
            ignore=[rule],
            poll={"interval": "30s"},
        ),
    )
    h.daemon.tick()
    assert [type(s).__name__ for s in h.built[3:]] == ["FakeF5", "FakeF5", "FakeF5"]
    assert not any(s.closed for s in first if isinstance(s, FakeMesh))  # watches kept
    assert h.schedule == [30.0]
    snapshot = h.published[-1].snapshot
    assert snapshot is not None
    assert snapshot.config is not None
    assert [d.name for d in snapshot.config.bigip] == ["bigip-a", "bigip-b", "bigip-c"]
    assert {s.source for s in snapshot.sources} == {"bigip-a", "bigip-b", "bigip-c", "kubernetes"}
    assert h.samples()[(metrics.RELOAD_SUCCESS, ())] == clock.now.timestamp()
    # an invalid file: reported at once, the cycle runs on with the config in force
    write_config(path, "bigip: [\n")
    h.daemon.tick()
    assert h.samples()[(metrics.RELOAD_OK, ())] == 0
    assert h.samples()[(metrics.RELOAD_SUCCESS, ())] == clock.now.timestamp()
    assert h.daemon.cfg.ignore[0].reason == "canary"
    h.daemon.reload()  # SIGHUP with the file still broken: still 0
    assert h.samples()[(metrics.RELOAD_OK, ())] == 0
    write_config(path, _doc(poll={"interval": "30s"}))
    h.daemon.reload()
    assert h.samples()[(metrics.RELOAD_OK, ())] == 1
    assert [d.name for d in h.daemon.cfg.bigip] == ["bigip-a", "bigip-b"]
    h.daemon.close()
    assert all(source.closed for source in h.built)


# --- `run`, as a user runs it --------------------------------------------------------------
