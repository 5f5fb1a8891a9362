"""A cycle contains its sources' faults (`monitor.daemon.polls`, `monitor.daemon.cycle`).

A poll that raises marks that source down (`internal_error`, by the exception's type only),
a poll that does not end marks it down (`timeout`) once the cycle's deadline passes, and is
not started again on top of itself; a check that raises is `unknown`; shutdown ends the
wait at once; closing the sources never waits for one that hangs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from monitor.checks import CHECKS, CheckRunner
from monitor.checks.outcome import Check, Outcome
from monitor.config.schema import BoundaryConfig, Config
from monitor.daemon.cycle import Monitor, close_all
from monitor.daemon.polls import Polls, deadline
from monitor.model import F5State, MeshState, Observed, SourceStatus
from monitor.state.file import load
from monitor.state.snapshot import Snapshot
from tests.support import checkdata as cd

SECRET = "token=c2VjcmV0LXRva2Vu"  # what an exception's arguments might quote


class Device:
    """A BIG-IP source whose poll does what the test says."""

    def __init__(self, name: str, poll: Callable[[], None] = lambda: None) -> None:
        self.name = name
        self.during = poll
        self.polls = 0
        self.closed = False

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        self.polls += 1
        self.during()
        return cd.f5(self.name), SourceStatus(self.name, "bigip", up=True)

    def close(self) -> None:
        self.closed = True


class Mesh:
    def __init__(self, poll: Callable[[], None] = lambda: None) -> None:
        self.during = poll

    def poll(self) -> tuple[MeshState, SourceStatus]:
        self.during()
        return cd.mesh(), SourceStatus("kubernetes", "kubernetes", up=True)

    def close(self) -> None:
        """Nothing to release."""


def recurse() -> None:
    def deeper(n: int) -> int:
        return deeper(n + 1) + 1

    deeper(0)


def leak() -> None:
    raise ValueError(f"cannot parse https://bigip-a/mgmt/shared/authz/tokens?{SECRET}")


def by_source(snapshot: Snapshot) -> dict[str, SourceStatus]:
    return {s.source: s for s in snapshot.sources}


def cfg(interval: str = "1m", **sections: object) -> Config:
    return cd.config(poll={"interval": interval, "timeout": "1s"}, **sections)


def test_a_poll_that_raises_marks_that_source_down_and_nothing_else(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    devices = [Device("bigip-a", recurse), Device("bigip-b", leak)]
    monitor = Monitor(cfg(), devices, Mesh(), clock=lambda: cd.NOW)
    first = monitor.cycle()
    sources = by_source(first)
    assert (sources["kubernetes"].up, sources["bigip-a"].up, sources["bigip-b"].up) == (
        True,
        False,
        False,
    )
    assert [(e.reason, e.message) for e in sources["bigip-a"].errors] == [
        (
            "internal_error",
            "bigip-a: the poll failed with an unexpected RecursionError (stack in the debug log)",
        )
    ]
    assert sources["bigip-b"].errors[0].reason == "internal_error"
    assert "ValueError" in sources["bigip-b"].errors[0].message
    assert set(first.observed.f5) == set()  # neither device was read
    # the checks ran on what was read: unknown for the devices, not a failed cycle
    states = {s.check: s.state for s in first.states}
    assert (states["bundle_missing_anchor"], states["trust_anchor_expiry"]) == ("unknown", "pass")
    monitor.cycle()
    failures = [r for r in caplog.records if "failed with an unexpected" in r.getMessage()]
    assert len(failures) == 2  # once per source, not once per cycle
    assert "deeper" in failures[0].getMessage() or "deeper" in failures[1].getMessage()
    assert SECRET not in caplog.text  # the arguments are never logged, at any level
    assert all(SECRET not in e.message for s in first.sources for e in s.errors)
    monitor.close()


def test_a_mesh_poll_that_raises_leaves_the_mesh_unknown_and_the_bigips_up() -> None:
    def broken() -> None:
        raise RecursionError("maximum recursion depth exceeded")

    monitor = Monitor(
        cfg(), [Device("bigip-a"), Device("bigip-b")], Mesh(broken), clock=lambda: cd.NOW
    )
    snapshot = monitor.cycle()
    sources = by_source(snapshot)
    assert [e.reason for e in sources["kubernetes"].errors] == ["internal_error"]
    assert sources["bigip-a"].up
    assert sources["bigip-b"].up
    mesh = snapshot.observed.mesh
    assert (mesh.anchors, mesh.issuer, mesh.services.get("ingress/nginx-ingress")) == (
        None,
        None,
        None,
    )
    assert "anchors" in mesh.unknown
    monitor.close()


def test_a_poll_that_does_not_end_is_down_at_the_deadline_and_not_polled_on_top_of_itself() -> None:
    release = threading.Event()
    stuck = Device("bigip-b", lambda: release.wait(30) and None)
    healthy = Device("bigip-a")
    config = cfg("1s")
    assert deadline(config.poll.interval) == pytest.approx(0.9)
    monitor = Monitor(config, [healthy, stuck], Mesh())
    try:
        started = time.monotonic()
        first = monitor.cycle()
        assert time.monotonic() - started < 5  # cut at the deadline: the poll itself takes 30 s
        sources = by_source(first)
        assert sources["bigip-a"].up
        assert sources["kubernetes"].up
        [error] = sources["bigip-b"].errors
        assert error.reason == "timeout"
        assert "did not end within the cycle's 0.9s" in error.message
        assert "bigip-a" in first.observed.f5
        assert "bigip-b" not in first.observed.f5

        second = monitor.cycle()  # still stuck: not polled again
        assert stuck.polls == 1
        assert healthy.polls == 2
        [again] = by_source(second)["bigip-b"].errors
        assert again.reason == "timeout"
        assert "the previous poll" in again.message
        assert "has not ended" in again.message

        release.set()  # it ends: the next cycle polls it again
        time.sleep(0.05)
        third = monitor.cycle()
        assert by_source(third)["bigip-b"].up
        assert stuck.polls == 2
    finally:
        release.set()
        monitor.close()


def test_abort_ends_the_wait_at_once_and_the_state_file_is_written(tmp_path: Path) -> None:
    release = threading.Event()
    state = tmp_path / "state.json"
    config = cfg("10m", state={"file": str(state)})
    stuck = Device("bigip-b", lambda: release.wait(30) and None)
    monitor = Monitor(config, [Device("bigip-a"), stuck], Mesh(), state_file=state)
    try:
        threading.Timer(0.3, monitor.abort).start()
        started = time.monotonic()
        snapshot = monitor.cycle()
        assert time.monotonic() - started < 5
        [error] = by_source(snapshot)["bigip-b"].errors
        assert (error.reason, error.message) == (
            "timeout",
            "bigip-b: the poll had not ended at shutdown; abandoned",
        )
        assert load(state, snapshot.taken_at) is not None
        assert state.exists()
    finally:
        release.set()
        monitor.close()


def _raising_once(closed: threading.Event) -> Callable[[], tuple[None, SourceStatus]]:
    """A poll that waits for its source to be closed, then fails as a closed pool does."""

    def poll() -> tuple[None, SourceStatus]:
        closed.wait(30)
        raise RuntimeError("cannot schedule new futures after shutdown")

    return poll


def test_a_poll_abandoned_at_shutdown_that_then_raises_is_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """`check` closes its sources after its one cycle while an abandoned poll still runs:
    the error that poll ends with (its pool shut down under it) is nobody's concern."""
    caplog.set_level(logging.DEBUG)
    polls = Polls()
    closed = threading.Event()
    poll = _raising_once(closed)
    pending = polls.start("bigip-a", "bigip", poll, lambda: None)
    polls.abort()
    closed.set()
    state, status = pending.future.result(timeout=30)
    assert (state, [e.reason for e in status.errors]) == (None, ["internal_error"])
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "bigip-a: the poll abandoned at shutdown ended with RuntimeError" in caplog.text

    live = Polls()  # the same failure before any abort: a warning
    live.start("bigip-a", "bigip", poll, lambda: None).future.result(timeout=30)
    assert [r.levelno for r in caplog.records if "unexpected RuntimeError" in r.getMessage()] == [
        logging.WARNING
    ]


def test_a_poll_of_a_source_a_reload_rebuilt_that_then_raises_is_not_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A reload closes a source whose poll still runs and builds it again: the old poll's
    failure is the closed source's, not the new one's, and says nothing above debug."""
    caplog.set_level(logging.DEBUG)
    polls = Polls()
    closed, rebuilt_fails = threading.Event(), threading.Event()
    old = polls.start("bigip-a", "bigip", _raising_once(closed), lambda: None)
    polls.forget(["bigip-a"])
    # the rebuilt source's poll, which fails only once the old one's quiet end is seen
    new = polls.start("bigip-a", "bigip", _raising_once(rebuilt_fails), lambda: None)
    assert not new.again
    closed.set()
    old.future.result(timeout=30)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert "bigip-a: the poll of the closed source ended with RuntimeError" in caplog.text
    rebuilt_fails.set()
    new.future.result(timeout=30)  # the rebuilt source failing is news: a warning
    assert [r.levelno for r in caplog.records if "unexpected RuntimeError" in r.getMessage()] == [
        logging.WARNING
    ]


def test_closing_never_waits_for_a_source_that_hangs() -> None:
    class Hanging(Device):
        def close(self) -> None:
            time.sleep(30)

    quick = Device("bigip-a")
    started = time.monotonic()
    close_all([Hanging("bigip-b"), quick], grace=0.3)
    assert time.monotonic() - started < 2
    assert quick.closed


def test_a_check_that_raises_is_unknown_for_its_boundary_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        raise KeyError(SECRET)

    checks = (Check("issuer_expiry", broken), *(c for c in CHECKS if c.id != "issuer_expiry"))
    monitor = Monitor(cfg(), [Device("bigip-a"), Device("bigip-b")], Mesh(), clock=lambda: cd.NOW)
    monitor.checks = CheckRunner(checks)
    try:
        first = monitor.cycle()
        monitor.cycle()
    finally:
        monitor.close()
    states = {(s.check, s.boundary): s for s in first.states}
    broken_state = states[("issuer_expiry", "shop")]
    assert broken_state.state == "unknown"
    assert "KeyError" in broken_state.detail
    assert SECRET not in broken_state.detail
    assert states[("trust_anchor_expiry", "shop")].state == "pass"  # the others still ran
    lines = [r for r in caplog.records if "check issuer_expiry" in r.getMessage()]
    assert len(lines) == 1
    assert SECRET not in caplog.text
