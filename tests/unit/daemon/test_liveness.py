"""Liveness (`Daemon.liveness`, `LeaseElector.liveness`): the replica that should poll fails
it after 3 poll intervals without a completed cycle; a follower's follows its election loop.
And the daemon's side of stopping: `Daemon.abort` ends a cycle stuck on a source."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from monitor.config.schema import Config
from monitor.daemon.cycle import Monitor
from monitor.daemon.leader import LeaseClient, LeaseElector, LeaseError, Timing
from monitor.daemon.serve import Daemon
from monitor.state.snapshot import Snapshot
from tests.support import checkdata as cd
from tests.support.waiting import wait_until
from tests.unit.daemon.test_containment import Device, Mesh


class Ticks:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


class Switch:
    holder = "pod-x"

    def __init__(self) -> None:
        self.leading = False
        self.stuck: str | None = None

    @property
    def is_leader(self) -> bool:
        return self.leading

    def liveness(self) -> str | None:
        return self.stuck


def _daemon(
    clock: Ticks, leadership: Switch | None = None, poll: Callable[[], None] = lambda: None
) -> Daemon:
    def build(cfg: Config, publish: Callable[[Snapshot], None]) -> Monitor:
        return Monitor(cfg, [Device(d.name, poll) for d in cfg.bigip], Mesh(), publish=publish)

    cfg = cd.config(poll={"interval": "1m", "timeout": "10s"})
    return Daemon(cfg, lambda p: None, build=build, monotonic=clock, leadership=leadership)


def test_the_only_replica_fails_liveness_after_3_intervals_without_a_completed_cycle() -> None:
    clock = Ticks()
    daemon = _daemon(clock)
    try:
        clock.now += 180  # from the start: 3 intervals are allowed for the first cycle
        assert daemon.liveness() is None
        clock.now += 1
        assert daemon.liveness() == (
            "no cycle completed for 181s (more than 3 poll intervals of 60s)"
        )
        daemon.tick()  # a cycle completes
        assert daemon.liveness() is None
        clock.now += 181
        assert daemon.liveness() is not None
    finally:
        daemon.close()


def _broken() -> Snapshot:
    raise RuntimeError("a bug")


def test_a_cycle_that_fails_does_not_count_as_completed() -> None:
    clock = Ticks()
    daemon = _daemon(clock)
    try:
        assert daemon.monitor is None
        daemon.tick()
        assert daemon.monitor is not None
        daemon.monitor.cycle = _broken  # type: ignore[method-assign]
        clock.now += 200
        daemon.tick()
        assert daemon.liveness() is not None
    finally:
        daemon.close()


def test_a_follower_follows_its_election_loop_and_a_new_leader_starts_afresh() -> None:
    clock = Ticks()
    switch = Switch()
    daemon = _daemon(clock, switch)
    try:
        clock.now += 1000  # a follower never cycles: that is fine
        assert daemon.liveness() is None
        switch.stuck = "leader election: no attempt on lease x/y has ended for 50s"
        assert daemon.liveness() == switch.stuck
        switch.stuck = None
        switch.leading = True
        daemon.leadership_changed(True)  # the clock starts when it leads
        clock.now += 180
        assert daemon.liveness() is None
        clock.now += 10
        assert daemon.liveness() is not None
        daemon.tick()
        assert daemon.liveness() is None
    finally:
        daemon.close()


class Failing(LeaseClient):
    """A Lease API that refuses every call."""

    def __init__(self) -> None:
        super().__init__(lambda: None, "ns", "lease")  # type: ignore[arg-type,return-value]

    def get(self) -> None:
        raise LeaseError("connect_error", "lease ns/lease: refused")


def test_the_election_loop_is_stuck_when_no_attempt_ends_for_3_lease_durations() -> None:
    clock = Ticks()
    elector = LeaseElector(Failing(), "pod-a", timing=Timing(), clock=clock)
    clock.now += 45
    assert elector.liveness() is None
    clock.now += 1
    assert elector.liveness() == (
        "leader election: no attempt on lease ns/lease has ended for 46s (more than 45s)"
    )
    elector.step()  # an attempt that fails still ends: the loop is alive
    assert elector.liveness() is None


def test_abort_ends_a_cycle_stuck_on_a_source_and_starts_no_other() -> None:
    release = threading.Event()
    polls: list[int] = []

    def stuck() -> None:
        polls.append(1)
        release.wait(30)

    daemon = _daemon(Ticks(), poll=stuck)
    ticking = threading.Thread(target=daemon.tick)
    try:
        ticking.start()
        wait_until("the first poll", lambda: len(polls) == 2)  # both devices
        started = time.monotonic()
        daemon.abort()
        daemon.close(timeout=5)  # waits for the cycle, which stops waiting at once
        ticking.join(5)
        assert not ticking.is_alive()
        assert time.monotonic() - started < 5
        assert daemon.monitor is None  # closed
        daemon.tick()  # the scheduler may still fire once: nothing happens
        assert daemon.monitor is None
        assert len(polls) == 2
    finally:
        release.set()
