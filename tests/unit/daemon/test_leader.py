"""Leader election on a Lease of the simulated Kubernetes API, through the real client.

Two electors compete for one Lease: one wins, the other follows; the follower takes over
once the leader stops renewing for the lease duration (timed on the follower's own clock),
or at once when the leader releases it; a leader that cannot renew steps down at the renew
deadline; of two writers of one resourceVersion the second gets 409 Conflict and follows.
Clocks are injected (`step()` is one attempt), so the 15 s lease takes no real time; one
test runs the real loop with short timings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.schema import Config, parse_config
from monitor.daemon.cycle import Monitor
from monitor.daemon.leader import (
    LeaseClient,
    LeaseElector,
    LeaseError,
    Timing,
    elector_for,
    holder_identity,
    lease_namespace,
    micro_time,
)
from monitor.daemon.serve import Daemon
from monitor.model import F5State, MeshState, SourceStatus
from monitor.render import metrics
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.state.snapshot import Snapshot
from monitor.web.server import Published
from tests.support import checkdata as cd
from tests.support.sim_kube import BASE, render
from tests.support.sim_kube import serve as serve_kube

NAMESPACE = "monitoring"
NAME = "f5-linkerd-monitor"


class Clock:
    """Monotonic seconds and a wall clock that move only when told."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> datetime:
        return datetime(2026, 11, 26, 12, tzinfo=UTC) + timedelta(seconds=self.now)

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def kube(tmp_path: Path) -> Iterator[tuple[SimulatedKubernetes, client.ApiClient]]:
    with serve_kube(render(BASE), tmp_path) as pair:
        yield pair


def _elector(
    api: client.ApiClient | LeaseClient,
    identity: str,
    clock: Clock,
    changes: list[tuple[str, bool]] | None = None,
) -> LeaseElector:
    leases = api if isinstance(api, LeaseClient) else LeaseClient(lambda: api, NAMESPACE, NAME)
    record = changes if changes is not None else []
    return LeaseElector(
        leases,
        identity,
        clock=clock,
        wall=clock.wall,
        on_change=lambda leading: record.append((identity, leading)),
    )


def _lease(api: client.ApiClient) -> Any:
    return client.CoordinationV1Api(api).read_namespaced_lease(NAME, NAMESPACE)


def test_one_elector_wins_and_the_other_takes_over_when_it_stops_renewing(
    kube: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, api = kube
    clock = Clock()
    changes: list[tuple[str, bool]] = []
    a = _elector(api, "pod-a", clock, changes)
    b = _elector(api, "pod-b", clock, changes)
    assert a.step()  # creates the Lease
    assert not b.step()
    assert (a.is_leader, b.is_leader, b.holder) == (True, False, "pod-a")
    lease = _lease(api)
    assert lease.spec.holder_identity == "pod-a"
    assert lease.spec.lease_duration_seconds == 15
    assert lease.spec.lease_transitions == 0
    clock.advance(2)
    assert a.step()  # renews: b sees the record change and waits a full lease again
    assert not b.step()
    assert _lease(api).spec.renew_time > lease.spec.renew_time
    clock.advance(14.9)  # pod-a stops renewing (it hangs, or its node is cut off)
    assert not a.is_leader  # past the renew deadline: it does not act as leader any more
    assert not b.step()  # 14.9 s since pod-b saw the record change: not expired yet
    clock.advance(0.2)
    assert b.step()
    taken = _lease(api)
    assert (taken.spec.holder_identity, taken.spec.lease_transitions) == ("pod-b", 1)
    assert taken.spec.acquire_time == taken.spec.renew_time
    assert not a.step()  # pod-a comes back: the lease is pod-b's
    assert a.holder == "pod-b"
    assert changes == [("pod-a", True), ("pod-b", True), ("pod-a", False)]


def test_a_leader_that_cannot_renew_steps_down_at_the_renew_deadline(
    kube: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, api = kube
    clock = Clock()
    broken = [False]

    class Flaky(LeaseClient):
        def get(self) -> dict[str, Any] | None:
            if broken[0]:
                raise LeaseError("connect_error", "lease monitoring/x: cannot connect")
            return super().get()

    changes: list[tuple[str, bool]] = []
    a = _elector(Flaky(lambda: api, NAMESPACE, NAME), "pod-a", clock, changes)
    assert a.step()
    broken[0] = True
    clock.advance(9.9)
    assert a.step()  # a failed renewal within the deadline: still leading
    assert a.is_leader
    clock.advance(0.1)
    assert not a.is_leader  # at the deadline, even before the next attempt
    assert not a.step()
    assert changes == [("pod-a", True), ("pod-a", False)]
    broken[0] = False
    assert a.step()  # nobody took the lease meanwhile: it is still pod-a's to renew
    assert _lease(api).spec.lease_transitions == 0


def test_of_two_writers_of_one_resource_version_the_second_gets_a_conflict(
    kube: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, api = kube
    clock = Clock()
    a = _elector(api, "pod-a", clock)
    hook: list[Callable[[], object]] = []

    class Interleaved(LeaseClient):
        """Runs the other elector between this one's read and its write."""

        def get(self) -> dict[str, Any] | None:
            lease = super().get()
            while hook:
                hook.pop()()
            return lease

    b = _elector(Interleaved(lambda: api, NAMESPACE, NAME), "pod-b", clock)
    # both find no Lease; pod-a creates it first: pod-b's create is AlreadyExists (409)
    hook.append(a.step)
    assert not b.step()
    assert (a.is_leader, _lease(api).spec.holder_identity) == (True, "pod-a")
    # the lease looks expired to pod-b, but pod-a renews between pod-b's read and write
    clock.advance(16)
    hook.append(a.step)
    assert not b.step()  # its update carried the old resourceVersion: 409 Conflict
    assert a.is_leader
    lease = _lease(api)
    assert (lease.spec.holder_identity, lease.spec.lease_transitions) == ("pod-a", 0)


def test_a_released_lease_is_taken_over_at_once(
    kube: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, api = kube
    clock = Clock()
    a = _elector(api, "pod-a", clock)
    b = _elector(api, "pod-b", clock)
    assert a.step()
    assert not b.step()
    a.release()
    assert not a.is_leader
    released = _lease(api)
    assert released.spec.holder_identity in (None, "")
    assert released.spec.lease_duration_seconds == 1
    assert b.step()  # no waiting for the lease duration
    assert _lease(api).spec.lease_transitions == 1


def test_two_running_electors_hand_over_when_the_leader_stops(
    kube: tuple[SimulatedKubernetes, client.ApiClient],
) -> None:
    _, api = kube
    timing = Timing(lease_duration=3, renew_deadline=2, retry_period=0.1)

    def elector(identity: str) -> LeaseElector:
        return LeaseElector(LeaseClient(lambda: api, NAMESPACE, NAME), identity, timing=timing)

    a, b = elector("pod-a"), elector("pod-b")
    stops = {"pod-a": threading.Event(), "pod-b": threading.Event()}
    threads = [
        threading.Thread(target=e.run, args=(stops[e.identity],), daemon=True) for e in (a, b)
    ]
    for thread in threads:
        thread.start()
    try:
        first = _wait_for(lambda: next((e for e in (a, b) if e.is_leader), None))
        other = b if first is a else a
        time.sleep(0.5)
        assert first.is_leader
        assert not other.is_leader  # one leader at a time
        stops[first.identity].set()  # SIGTERM: the leader releases the lease on its way out
        _wait_for(lambda: other.is_leader or None, timeout=2)  # well before the 3 s lease
        assert _lease(api).spec.holder_identity == other.identity
    finally:
        for stop in stops.values():
            stop.set()
        for thread in threads:
            thread.join(timeout=5)
    assert _lease(api).spec.holder_identity in (None, "")  # released by the last one too


def _wait_for(probe: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.02)
    raise AssertionError(f"not within {timeout}s")


def test_lease_errors_make_a_follower_and_are_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world = render({**BASE, "withhold": [{"resource": "leases", "namespace": NAMESPACE}]})
    with serve_kube(world, tmp_path) as (_, api):
        clock = Clock()
        a = _elector(api, "pod-a", clock)
        with caplog.at_level("WARNING", logger="monitor"):
            assert not a.step()
            assert not a.step()
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1, warnings
    assert "lease monitoring/f5-linkerd-monitor" in warnings[0]
    assert "HTTP 403" in warnings[0]


def test_identity_namespace_and_times() -> None:
    assert holder_identity({"POD_NAME": "f5lm-7d9f-abcde"}) == "f5lm-7d9f-abcde"
    assert holder_identity({})  # the host name
    assert micro_time(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02T03:04:05.000000Z"
    with pytest.raises(ValueError, match="exceed the renew deadline"):
        LeaseElector(
            LeaseClient(lambda: client.ApiClient(), "x", "y"), "a", timing=Timing(10, 10, 2)
        )


def test_the_namespace_comes_from_the_config_or_the_pod(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    assert lease_namespace("monitoring", missing) == "monitoring"
    assert lease_namespace(None, missing) is None
    (tmp_path / "namespace").write_text("observability\n")
    assert lease_namespace(None, tmp_path / "namespace") == "observability"
    cfg = parse_config(
        {
            "bigip": [
                {
                    "name": "bigip-a",
                    "url": "https://bigip-a.example.net",
                    "username": "monitor",
                    "passwordEnv": "BIGIP_PASSWORD",
                    "insecure": True,
                }
            ],
            "boundaries": [
                {
                    "name": "shop",
                    "mode": "mesh-tls",
                    "devices": ["bigip-a"],
                    "virtual": "/Common/shop",
                    "backend": {"service": {"namespace": "a", "name": "b", "port": 443}},
                }
            ],
            "leaderElection": {"enabled": True},
        },
        tmp_path,
    )
    reason = elector_for(cfg, lambda leading: None, {}, missing)
    assert isinstance(reason, str)
    assert "leaderElection.namespace" in reason
    elector = elector_for(cfg, lambda leading: None, {"POD_NAME": "p"}, tmp_path / "namespace")
    assert isinstance(elector, LeaseElector)
    assert (elector.where, elector.identity) == ("observability/f5-linkerd-monitor", "p")


# --- The daemon follows leadership --------------------------------------------------------


class Switch:
    """A leadership the test turns on and off."""

    holder = "pod-x"

    def __init__(self) -> None:
        self.leading = False

    @property
    def is_leader(self) -> bool:
        return self.leading

    def liveness(self) -> str | None:
        return None


class FakeF5:
    def __init__(self, name: str, during_poll: Callable[[], None] = lambda: None) -> None:
        self.name = name
        self.during_poll = during_poll
        self.closed = False

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        self.during_poll()
        return cd.f5(self.name), SourceStatus(self.name, "bigip", up=True)

    def close(self) -> None:
        self.closed = True


class FakeMesh:
    closed = False

    def poll(self) -> tuple[MeshState, SourceStatus]:
        return cd.mesh(), SourceStatus("kubernetes", "kubernetes", up=True)

    def close(self) -> None:
        self.closed = True


def _families(published: Published) -> dict[str, list[Any]]:
    return {f.name: f.samples for f in text_string_to_metric_families(published.metrics.decode())}


def test_only_the_leader_polls_and_a_follower_exports_no_snapshot() -> None:
    switch = Switch()
    published: list[Published] = []
    cycles: list[Snapshot] = []
    built: list[tuple[FakeF5, ...]] = []
    during: list[Callable[[], None]] = [lambda: None]

    def build(cfg: Config, publish: Callable[[Snapshot], None]) -> Monitor:
        sources = tuple(FakeF5(d.name, lambda: during[0]()) for d in cfg.bigip)
        built.append(sources)
        return Monitor(cfg, sources, FakeMesh(), publish=publish)

    daemon = Daemon(
        cd.config(), published.append, leadership=switch, build=build, on_cycle=cycles.append
    )
    daemon.republish()
    daemon.tick()  # a follower: nothing polled
    assert built == []
    follower = _families(published[-1])
    assert sorted(follower) == sorted(
        [
            metrics.BUILD_INFO,
            metrics.LEADER,
            metrics.RELOAD_OK,
            metrics.RELOAD_SUCCESS,
            metrics.POLL_INTERVAL,
        ]
    )
    assert follower[metrics.LEADER][0].value == 0
    assert follower[metrics.POLL_INTERVAL][0].value == cd.config().poll.interval.total_seconds()
    assert published[-1].snapshot is None
    # a follower is ready (it never has a snapshot) and its page names the leader
    assert published[-1].ready
    assert b"follower (the leader is pod-x)" in published[-1].index_html

    switch.leading = True
    daemon.leadership_changed(True)
    waiting = _families(published[-1])  # leading, before its first cycle
    assert not published[-1].ready
    assert waiting[metrics.LEADER][0].value == 1
    assert {s.labels["target"] for s in waiting[metrics.SOURCE_UP]} == {
        "bigip-a",
        "bigip-b",
        "kubernetes",
    }
    daemon.tick()
    assert len(built) == 1
    leading = _families(published[-1])
    assert metrics.CHECK in leading
    assert leading[metrics.LEADER][0].value == 1
    assert len(cycles) == 1

    # leadership lost while a cycle polls: its results are not published, nor alerted on
    def lose() -> None:
        switch.leading = False

    during[0] = lose
    before = len(published)
    daemon.tick()
    assert len(published) == before
    assert len(cycles) == 1
    daemon.leadership_changed(False)
    assert _families(published[-1])[metrics.LEADER][0].value == 0
    assert metrics.CHECK not in _families(published[-1])
    daemon.follow()  # the sources are closed
    assert all(source.closed for source in built[0])
    assert daemon.monitor is None
