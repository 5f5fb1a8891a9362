"""F5Source against a scaled-down copy of the benchmark world (bench/world.py).

What the benchmark shows at 5,000 virtuals, shown here at 300 in a few seconds: a poll
sends exactly the paged minimum of requests, never more than `f5Concurrency` at once
(measured by the simulator), a token that expires mid-poll costs exactly one re-login
and loses nothing, and 503 bursts and resets cost retries, not data. Timings belong to
the benchmark (`python -m bench`), not here.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.world import USER, Scale, paged_minimum, render
from monitor.config.schema import Config, parse_config
from monitor.model import F5State, SourceStatus
from monitor.simulate.bigip.builtins import CERT_PATHS
from monitor.simulate.bigip.model import BigipWorld
from monitor.simulate.faults import Fault
from monitor.sources.f5.exchange import MAX_ATTEMPTS
from monitor.sources.f5.source import F5Source
from tests.support.sim_bigip import Running, running
from tests.unit.sources.f5.test_source import ok

SCALE = Scale(virtuals=300, pools=300, members=3000, certs=200, managers=5)
LOGIN = ("POST", "/mgmt/shared/authn/login")


@pytest.fixture(scope="module")
def scaled() -> BigipWorld:
    world, _ = render(SCALE)
    return world


def config(tmp_path: Path, url: str, ca_pem: str, **poll: Any) -> Config:
    (tmp_path / "ca.pem").write_text(ca_pem)
    (tmp_path / "password").write_text("bench-password\n")
    return parse_config(
        {
            "bigip": [
                {
                    "name": "bigip-a",
                    "url": url,
                    "username": USER,
                    "passwordFile": "password",
                    "caFile": "ca.pem",
                    "partitions": ["Common", "k8s"],
                }
            ],
            "boundaries": [
                {
                    "name": "shop",
                    "mode": "mesh-tls",
                    "devices": ["bigip-a"],
                    "virtual": "/k8s/Shared/vs_00001",
                    "backend": {"service": {"namespace": "shop", "name": "web", "port": 443}},
                }
            ],
            "poll": {"f5PageSize": 25, **poll},
        },
        tmp_path,
    )


@dataclass
class Scaled:
    rt: Running
    source: F5Source
    cfg: Config
    world: BigipWorld

    def minimum(self) -> int:
        return paged_minimum(
            self.world,
            "bigip-a",
            self.source.collections(),
            self.cfg.bigip[0].partitions,
            self.cfg.poll.f5_page_size,
        )

    def total(self) -> int:
        return self.rt.sim.stats("bigip-a").total

    def logins(self) -> int:
        return self.rt.sim.stats("bigip-a").by_endpoint.get(LOGIN, 0)


@contextmanager
def scaled_world(tmp_path: Path, world: BigipWorld, **poll: Any) -> Iterator[Scaled]:
    with running(world) as rt:
        cfg = config(tmp_path, rt.sim.url("bigip-a"), rt.ca_pem, **poll)
        source = F5Source(cfg.bigip[0], cfg, clock=rt.clock, sleep=lambda s: None)
        try:
            yield Scaled(rt, source, cfg, world)
        finally:
            source.close()


def test_a_poll_sends_the_paged_minimum_and_respects_the_concurrency(
    tmp_path: Path, scaled: BigipWorld
) -> None:
    with scaled_world(tmp_path, scaled, f5Concurrency=3) as s:
        state, status = s.source.poll()
        stats = s.rt.sim.stats("bigip-a")
        minimum = s.minimum()
    assert ok((state, status)) is not None
    assert minimum > 40  # several pages per collection at page size 25
    # and the login, and one util/bash try for the boundary's certificate files (refused:
    # the bench user may not run bash; bundleReader auto then leaves it alone for a while)
    assert stats.by_endpoint.get(("POST", "/mgmt/tm/util/bash")) == 1
    assert stats.total == minimum + 1 + 1
    assert sum(status.requests.values()) == stats.total  # what we counted is what it saw
    assert stats.max_in_flight <= 3
    assert len(state.virtuals) == SCALE.virtuals
    assert len(state.pools) == SCALE.pools
    assert sum(len(p.members) for p in state.pools.values()) == SCALE.members
    # members by address (IPv6, route domain stripped), some in another partition
    pool = state.pools["/k8s/Shared/pool_00003"]
    assert {m.partition for m in pool.members} == {"Common"}
    assert state.pools["/k8s/Shared/pool_00001"].members[0].address.startswith("2001:db8::")
    assert "%" not in state.pools["/k8s/Shared/pool_00002"].members[0].address
    assert state.pools["/k8s/Shared/pool_00002"].members[0].name.endswith("%2:443")
    assert len(state.certs) == SCALE.certs + len(CERT_PATHS)  # and the built-in ones
    assert all(b.members is not None for b in state.bundles.values())
    assert state.sync is not None
    assert state.sync.status == "In Sync"
    assert [d.name for d in state.devices] == ["bigip-a.example.net", "bigip-b.example.net"]


def test_the_bound_holds_under_latency(tmp_path: Path, scaled: BigipWorld) -> None:
    with scaled_world(tmp_path, scaled, f5Concurrency=2) as s:
        s.rt.sim.inject(Fault("bigip-a", "latency", count=10_000, delay=0.005))
        ok(s.source.poll())
        stats = s.rt.sim.stats("bigip-a")
    assert stats.max_in_flight == 2


def _expire_mid_poll(s: Scaled, after: int) -> tuple[F5State | None, SourceStatus]:
    """Poll, and expire every token once the device has answered `after` requests."""
    start = s.total()
    result: list[tuple[F5State | None, SourceStatus]] = []
    s.rt.sim.inject(Fault("bigip-a", "latency", count=s.minimum() + 10, delay=0.002))
    poller = threading.Thread(target=lambda: result.append(s.source.poll()))
    poller.start()
    while s.total() - start < after and poller.is_alive():
        time.sleep(0.001)
    assert poller.is_alive(), "the poll ended before the tokens could be expired"
    s.rt.sim.inject(Fault("bigip-a", "expireTokens"))
    poller.join()
    return result[0]


def test_a_token_expiring_mid_poll_costs_one_login_and_no_data(
    tmp_path: Path, scaled: BigipWorld
) -> None:
    with scaled_world(tmp_path, scaled, f5Concurrency=4) as s:
        before = ok(s.source.poll())
        logins = s.logins()
        state, status = _expire_mid_poll(s, s.minimum() // 2)
        assert s.logins() == logins + 1
        assert s.rt.sim.stats("bigip-a").live_tokens == 1
    assert ok((state, status)) == before
    assert 1 <= status.requests["401"] <= 4  # the requests in flight when it expired


def test_503_bursts_and_resets_mid_poll_cost_retries_only(
    tmp_path: Path, scaled: BigipWorld
) -> None:
    with scaled_world(tmp_path, scaled) as s:
        before = ok(s.source.poll())
        start = s.total()
        # faults apply in the order armed: 10 answers as usual, then 2 x 503, 1 reset.
        # Fewer faults in all than a request's attempts (MAX_ATTEMPTS), so whichever
        # requests they fall on (that depends on how the concurrent requests interleave)
        # each still gets an answer.
        s.rt.sim.inject(Fault("bigip-a", "latency", count=10, delay=0.001))
        s.rt.sim.inject(Fault("bigip-a", "http503", count=2))
        s.rt.sim.inject(Fault("bigip-a", "reset", count=1))
        state, status = s.source.poll()
        sent = s.total() - start
        minimum = s.minimum()
    assert MAX_ATTEMPTS > 3
    assert ok((state, status)) == before
    assert status.requests["503"] == 2
    assert status.requests["error"] == 1
    assert sent == minimum + 3


def test_more_faults_in_a_row_than_attempts_fail_that_collection_only(
    tmp_path: Path, scaled: BigipWorld
) -> None:
    with scaled_world(tmp_path, scaled, f5Concurrency=1) as s:
        ok(s.source.poll())
        # one request at a time: the first page's request meets every fault in turn
        s.rt.sim.inject(Fault("bigip-a", "http503", count=MAX_ATTEMPTS - 1))
        s.rt.sim.inject(Fault("bigip-a", "reset", count=1))
        state, status = s.source.poll()
    assert state is not None
    [error] = status.errors
    assert (error.reason, error.target) == ("protocol_error", "ltm/virtual")
    assert status.requests["503"] == MAX_ATTEMPTS - 1
    assert status.requests["error"] == 1
    assert state.failed == frozenset({"ltm/virtual"})
    assert len(state.pools) == SCALE.pools


def test_an_html_500_page_is_http_5xx_for_one_collection(
    tmp_path: Path, scaled: BigipWorld
) -> None:
    with scaled_world(tmp_path, scaled, f5Concurrency=1) as s:
        ok(s.source.poll())
        s.rt.sim.inject(Fault("bigip-a", "http500html", count=1))
        state, status = s.source.poll()
    assert state is not None
    [error] = status.errors
    assert (error.reason, error.target) == ("http_5xx", "ltm/virtual")
    assert error.message == (
        "bigip-a: ltm/virtual (partition Common): HTTP 500: HTML error page"
        ' "Error 500 AsyncContext timeout"'
    )
    assert state.failed == frozenset({"ltm/virtual"})
    assert len(state.pools) == SCALE.pools
