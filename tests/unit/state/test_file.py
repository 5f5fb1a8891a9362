"""The state file: round trip, corrupt files, atomic writes, pruning, and first-seen times
that survive a restart of the daemon."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.daemon.cycle import Monitor
from monitor.model import (
    CheckResult,
    CheckState,
    F5State,
    Finding,
    MeshState,
    Observed,
    SourceStatus,
)
from monitor.rotation.plan import RotationMemory
from monitor.state.file import FORMAT, dumps, load, parse, prune, save
from monitor.state.snapshot import Seen, Snapshot, next_snapshot
from tests.support.checkdata import SHOP_BUNDLE, bundle, config, f5, mesh

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
KEY = ("pool_member_extra", "shop", "bigip-a", "10.0.0.9:443")
UP = (
    SourceStatus("bigip-a", "bigip", up=True),
    SourceStatus("kubernetes", "kubernetes", up=True),
)
MEMORY = RotationMemory(("ab" * 32,), T0 - DAY, ("ingress/nginx-1",), witnessed=True)


def extra(device: str = "bigip-a") -> Finding:
    return Finding("pool_member_extra", "warning", "shop", device, "10.0.0.9:443", "extra")


def test_round_trip() -> None:
    seen = {KEY: Seen(T0 - DAY, T0), ("sni_mismatch", "shop", "bigip-b", "/p"): Seen(T0, T0)}
    restored = parse(dumps(seen, T0, MEMORY), T0 + HOUR)
    assert restored.seen == seen
    assert restored.rotation == MEMORY
    assert restored.taken_at == T0
    assert restored.warning is None
    unknown_pods = RotationMemory(("ab" * 32,), T0, None)
    assert parse(dumps({}, T0, unknown_pods), T0).rotation == unknown_pods
    assert parse(dumps({}, T0, None), T0).rotation is None


def test_the_file_holds_only_keys_and_timestamps() -> None:
    document = json.loads(dumps({KEY: Seen(T0, T0)}, T0, MEMORY))
    assert document["format"] == FORMAT
    assert document["version"] == 1
    assert document["findings"] == [
        {
            "check": "pool_member_extra",
            "boundary": "shop",
            "device": "bigip-a",
            "object": "10.0.0.9:443",
            "first_seen": "2026-11-26T12:00:00.000000Z",
            "last_seen": "2026-11-26T12:00:00.000000Z",
        }
    ]


def test_entries_not_seen_for_more_than_seven_days_are_dropped() -> None:
    seen = {
        KEY: Seen(T0 - 30 * DAY, T0 - 7 * DAY),  # exactly 7 days: kept
        ("sni_mismatch", "shop", "", "x"): Seen(T0 - 30 * DAY, T0 - 7 * DAY - HOUR),
    }
    assert list(prune(seen, T0)) == [KEY]
    assert list(parse(dumps(seen, T0 - 7 * DAY, None), T0).seen) == [KEY]
    assert len(json.loads(dumps(seen, T0, None))["findings"]) == 1


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not JSON"),
        ("[" * 200_000, "not JSON (nested too deeply)"),
        ("[]", "not a state file"),
        (json.dumps({"format": FORMAT, "version": 2, "findings": []}), "version 2 is not 1"),
        (json.dumps({"format": FORMAT, "version": 1, "findings": {}}), "findings: expected a list"),
        (
            json.dumps({"format": FORMAT, "version": 1, "findings": [{"check": 1}]}),
            "findings[0].check: expected a string",
        ),
        (
            json.dumps(
                {
                    "format": FORMAT,
                    "version": 1,
                    "taken_at": "2026-11-26T12:00:00Z",
                    "findings": [
                        {
                            "check": "a",
                            "boundary": "b",
                            "device": "",
                            "object": "o",
                            "first_seen": "yesterday",
                            "last_seen": "2026-11-26T12:00:00Z",
                        }
                    ],
                }
            ),
            "findings[0].first_seen: invalid timestamp 'yesterday'",
        ),
    ],
    ids=[
        "not-json",
        "too-deep",
        "not-a-mapping",
        "version",
        "findings-type",
        "key-type",
        "timestamp",
    ],
)
def test_a_corrupt_file_is_a_fresh_start_with_a_warning(
    tmp_path: Path, content: str, why: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    restored = load(path, T0)
    assert restored.seen == {}
    assert restored.rotation is None
    assert restored.warning is not None
    assert str(path) in restored.warning
    assert why in restored.warning
    assert restored.warning.endswith("starting fresh")


def test_a_file_over_the_size_bound_is_not_read_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("monitor.state.file.STATE_LIMIT", 1024)
    path = tmp_path / "state.json"
    path.write_text(json.dumps({"format": FORMAT, "pad": "x" * 2048}))
    restored = load(path, T0)
    assert restored.seen == {}
    assert restored.warning is not None
    assert "larger than" in restored.warning


def test_a_missing_file_is_a_quiet_fresh_start(tmp_path: Path) -> None:
    restored = load(tmp_path / "absent.json", T0)
    assert (restored.seen, restored.warning) == ({}, None)


def test_an_unreadable_file_is_a_fresh_start_with_a_warning(tmp_path: Path) -> None:
    restored = load(tmp_path, T0)  # a directory
    assert restored.seen == {}
    assert restored.warning is not None
    assert "cannot read state file" in restored.warning
    binary = tmp_path / "binary.json"
    binary.write_bytes(b"\xff\xfe\x00")
    assert load(binary, T0).warning is not None


def _snapshot(findings: Sequence[Finding], now: datetime = T0) -> Snapshot:
    states = (CheckState("pool_member_extra", "shop", "warning" if findings else "pass"),)
    observed = Observed(f5={}, mesh=MeshState(), sources=UP)
    return next_snapshot(None, observed, CheckResult(states, tuple(findings)), now, 0.1)


def test_save_replaces_the_file_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.write_text("old content")
    snap = _snapshot([extra()])
    save(path, snap)
    assert load(path, T0).seen == {KEY: Seen(T0, T0)}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]  # no temporary left


def test_a_failed_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.mkdir()  # the rename onto a directory fails
    with pytest.raises(OSError, match=r"directory|Directory"):
        save(target, _snapshot([extra()]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]
    with pytest.raises(OSError, match="No such file"):
        save(tmp_path / "missing" / "state.json", _snapshot([extra()]))


def test_first_seen_survives_a_restart_through_the_state_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    save(path, _snapshot([extra()], T0))
    restored = load(path, T0 + HOUR)
    states = (CheckState("pool_member_extra", "shop", "warning"),)
    observed = Observed(f5={}, mesh=MeshState(), sources=UP)
    after = next_snapshot(
        None, observed, CheckResult(states, (extra(),)), T0 + HOUR, 0.1, restored=restored.seen
    )
    assert [t.first_seen for t in after.findings] == [T0]
    assert after.seen[KEY] == Seen(T0, T0 + HOUR)


def test_restored_entries_wait_while_unknown_and_go_once_evaluated() -> None:
    restored = {KEY: Seen(T0 - DAY, T0)}
    observed = Observed(f5={}, mesh=MeshState(), sources=UP)
    unknown = (CheckState("pool_member_extra", "shop", "unknown", "down", ("bigip-a",)),)
    first = next_snapshot(None, observed, CheckResult(unknown), T0 + HOUR, 0.1, restored=restored)
    assert first.findings == ()  # nothing to show: the message is not remembered
    assert first.seen == restored  # but its first-seen time is kept while unknown
    found = next_snapshot(
        first,
        observed,
        CheckResult((CheckState("pool_member_extra", "shop", "warning"),), (extra(),)),
        T0 + 2 * HOUR,
        0.1,
    )
    assert [t.first_seen for t in found.findings] == [T0 - DAY]
    cleared = next_snapshot(
        None,
        observed,
        CheckResult((CheckState("pool_member_extra", "shop", "pass"),)),
        T0 + HOUR,
        0.1,
        restored=restored,
    )
    assert cleared.seen == {}  # evaluated and absent: forgotten
    stale = next_snapshot(
        None, observed, CheckResult(unknown), T0 + 8 * DAY, 0.1, restored=restored
    )
    assert stale.seen == {}  # unknown for more than 7 days since last seen: forgotten


class FakeF5:
    def __init__(self, name: str, state: F5State) -> None:
        self.name = name
        self.state = state

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        return self.state, SourceStatus(self.name, "bigip", up=True)

    def close(self) -> None:
        """Nothing to release."""


class FakeMesh:
    def poll(self) -> tuple[MeshState, SourceStatus]:
        return mesh(), SourceStatus("kubernetes", "kubernetes", up=True)

    def close(self) -> None:
        """Nothing to release."""


def _monitor(path: Path, now: datetime, persist: bool = True) -> Monitor:
    cfg = config(state={"file": str(path)})
    assert cfg.state.file == path
    no_anchor = f5("bigip-a", bundles={SHOP_BUNDLE: bundle()})  # bundle_missing_anchor
    devices = [FakeF5("bigip-a", no_anchor), FakeF5("bigip-b", f5("bigip-b"))]
    return Monitor(
        cfg, devices, FakeMesh(), clock=lambda: now, state_file=cfg.state.file, persist=persist
    )


def test_the_daemon_keeps_first_seen_across_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    before = _monitor(path, T0)
    try:
        first = before.cycle()
    finally:
        before.close()
    missing = [t for t in first.findings if t.finding.check == "bundle_missing_anchor"]
    assert missing
    assert {t.first_seen for t in missing} == {T0}
    assert json.loads(path.read_text())["taken_at"] == "2026-11-26T12:00:00.000000Z"
    after = _monitor(path, T0 + HOUR)
    try:
        second = after.cycle()
    finally:
        after.close()
    again = [t for t in second.findings if t.finding.check == "bundle_missing_anchor"]
    assert [t.first_seen for t in again] == [T0] * len(missing)
    assert second.rotation_memory is not None  # the planner's memory is kept too
    assert load(path, T0 + HOUR).rotation == second.rotation_memory


def test_check_reads_the_state_file_but_never_writes_it(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    monitor = _monitor(path, T0)
    try:
        monitor.cycle()
    finally:
        monitor.close()
    written = path.read_text()
    once = _monitor(path, T0 + HOUR, persist=False)
    try:
        snap = once.cycle()
    finally:
        once.close()
    assert {t.first_seen for t in snap.findings} == {T0}
    assert path.read_text() == written


def test_a_corrupt_state_file_is_logged_and_the_daemon_starts_fresh(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "state.json"
    path.write_text("{truncated")
    with caplog.at_level(logging.WARNING, logger="monitor"):
        monitor = _monitor(path, T0)
        try:
            snap = monitor.cycle()
        finally:
            monitor.close()
    assert any("is unusable" in r.message and "starting fresh" in r.message for r in caplog.records)
    assert {t.first_seen for t in snap.findings} == {T0}
    assert load(path, T0).warning is None  # rewritten whole after the cycle


def test_a_state_file_that_cannot_be_written_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "no-such-dir" / "state.json"
    with caplog.at_level(logging.WARNING, logger="monitor"):
        monitor = _monitor(path, T0)
        try:
            monitor.cycle()
            monitor.cycle()
        finally:
            monitor.close()
    assert sum("cannot write state file" in r.message for r in caplog.records) == 1


def test_the_state_file_path_is_relative_to_the_config_file() -> None:
    cfg = config(state={"file": "state/monitor.json"})
    assert cfg.state.file == Path("state/monitor.json")
    assert config().state.file is None
