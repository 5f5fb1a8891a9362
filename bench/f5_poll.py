"""The BIG-IP polling benchmark: the real `F5Source` against the simulated devices at scale.

For a `Scale` (default: 5,000 virtuals, 5,000 pools, 50,000 members, 3,000 certificates,
two devices, partitions `Common` and `k8s` with `/k8s/Shared` folders) and the default
`poll` settings (page size 100, 4 in flight, budget 48 s of a 60 s interval):
1. a cold cycle (login, TLS handshakes) and a warm one (token reused), both devices
   polled in parallel as the daemon does: wall time per device poll, requests counted
   by the monitor and by the simulator against the computed paged minimum, the most
   requests the simulator ever had in flight from one device;
2. on one device, same world: a token expired mid-poll, a burst of 503s and resets,
   and an HTML 500 page;
3. the peak RSS of this process so far (the simulator runs in a child process,
   `simproc`);
4. `rounds` warm polls of both devices, each followed by the floor (`bench.f5_floor`: the
   requests of a warm poll replayed with bare httpx and `json.loads`): first as the daemon
   polls, unchanged pages reused, then with every page parsed (`F5Source.forget` before
   each); wall and CPU time of each, requests against the paged minimum, per-object GETs;
5. a last cycle under `tracemalloc`: the peak of Python allocations during a cycle; then a
   cold poll of new sources under `tracemalloc`: what the sources and their states keep
   (the parsed model) and the peak.
Timings come from `time.perf_counter`; nothing here asserts on them, the figures go to
`results.md`. `budgets(result)` gives the poll's budgets (`bench.budgets`): medians over
the warm polls with pages reused.
"""

from __future__ import annotations

import gc
import os
import platform
import resource
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.budgets import Budget, budget
from bench.f5_floor import FloorRow, Recorder, measure
from bench.simproc import SimProcess
from bench.world import PASSWORD, USER, Scale
from monitor.config.schema import Config, parse_config
from monitor.model import F5State, SourceStatus
from monitor.sources.f5.source import F5Source

LOGIN = "POST /mgmt/shared/authn/login"


@dataclass
class PollRow:
    cycle: str
    device: str
    seconds: float
    sent: int  # requests the monitor counted
    served: int  # requests the simulator counted
    expected: int  # paged minimum (+ login on the cold cycle)
    errors: int
    objects: str


@dataclass
class ScenarioRow:
    name: str
    outcome: str
    sent: int
    expected: str
    ok: bool


@dataclass
class Result:
    scale: Scale
    page_size: int
    concurrency: int
    budget: float
    render_seconds: float
    polls: list[PollRow] = field(default_factory=list)
    scenarios: list[ScenarioRow] = field(default_factory=list)
    max_in_flight: dict[str, int] = field(default_factory=dict)
    rss_before_mib: float = 0.0
    rss_peak_mib: float = 0.0
    traced_peak_mib: float = 0.0
    floor: list[FloorRow] = field(default_factory=list)
    retained_mib: float = 0.0  # Python allocations both sources and their states keep
    cold_peak_mib: float = 0.0  # the most Python allocations during a cold poll


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _config(sim: SimProcess, folder: Path) -> Config:
    (folder / "ca.pem").write_text(sim.ca_pem)
    (folder / "password").write_text(PASSWORD + "\n")
    devices = [
        {
            "name": name,
            "url": url,
            "username": USER,
            "passwordFile": "password",
            "caFile": "ca.pem",
            "partitions": ["Common", "k8s"],
            "haGroup": "edge",
            # REST reads only: the paged minimum is what is measured (a bash-capable role
            # would add one util/bash call per certificate file, once, then none)
            "bundleReader": "ca-bundle-manager",
        }
        for name, url in sim.urls.items()
    ]
    boundary = {
        "name": "shop",
        "mode": "mesh-tls",
        "devices": list(sim.urls),
        "virtual": "/k8s/Shared/vs_00001",
        "backend": {"service": {"namespace": "shop", "name": "web", "port": 443}},
    }
    return parse_config({"bigip": devices, "boundaries": [boundary]}, folder)


def _objects(state: F5State | None) -> str:
    if state is None:
        return "-"
    members = sum(len(p.members) for p in state.pools.values())
    return (
        f"{len(state.virtuals)} / {len(state.pools)} / {members} / {len(state.certs)}"
        f" / {len(state.bundles)}"
    )


def _served(sim: SimProcess) -> dict[str, int]:
    return {d: s["total"] for d, s in sim.stats().items()}


def _logins(sim: SimProcess, device: str) -> int:
    by_endpoint = sim.stats()[device]["by_endpoint"]
    return int(by_endpoint.get(("POST", "/mgmt/shared/authn/login"), 0))


class _Bench:
    def __init__(self, sim: SimProcess, cfg: Config, result: Result) -> None:
        self.sim = sim
        self.cfg = cfg
        self.result = result
        self.recorders = {
            d.name: Recorder(Path(str(d.ca_file)), cfg.poll.f5_concurrency) for d in cfg.bigip
        }
        self.sources = {
            d.name: F5Source(d, cfg, transport=self.recorders[d.name]) for d in cfg.bigip
        }
        first = next(iter(self.sources.values()))
        self.minimum = sim.minimum(
            first.collections(), cfg.bigip[0].partitions, cfg.poll.f5_page_size
        )
        self.warm: dict[str, F5State | None] = {}

    def cycle(self, label: str, login: bool) -> dict[str, tuple[F5State | None, SourceStatus]]:
        before = _served(self.sim)
        with ThreadPoolExecutor(len(self.sources)) as pool:
            futures = {name: pool.submit(s.poll) for name, s in self.sources.items()}
            results = {name: f.result() for name, f in futures.items()}
        after = _served(self.sim)
        for name, (state, status) in results.items():
            self.result.polls.append(
                PollRow(
                    label,
                    name,
                    status.duration_seconds,
                    sum(status.requests.values()),
                    after[name] - before[name],
                    self.minimum[name] + (1 if login else 0),
                    len(status.errors),
                    _objects(state),
                )
            )
        return results

    def floor_rounds(self, rounds: int) -> None:
        """`rounds` warm polls against the floor each way (`bench.f5_floor.measure`)."""
        self.result.floor = measure(
            lambda label: self.cycle(label, login=False),
            self.sources,
            self.recorders,
            self.minimum,
            self.cfg,
            rounds,
        )

    def retained(self) -> None:
        """A cold poll of new sources under tracemalloc: the allocations that remain (the
        states and what the sources keep for the next poll), and the peak."""
        sources = {d.name: F5Source(d, self.cfg) for d in self.cfg.bigip}
        try:
            gc.collect()
            tracemalloc.start()
            with ThreadPoolExecutor(len(sources)) as pool:
                futures = [pool.submit(s.poll) for s in sources.values()]
                states = [f.result() for f in futures]
            gc.collect()
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert all(state is not None for state, _ in states)
            self.result.retained_mib, self.result.cold_peak_mib = current / 2**20, peak / 2**20
        finally:
            for source in sources.values():
                source.close()

    def traced(self) -> None:
        tracemalloc.start()
        self.cycle("traced", login=False)
        self.result.traced_peak_mib = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()

    def one(self, device: str) -> tuple[tuple[F5State | None, SourceStatus], int]:
        before = _served(self.sim)[device]
        result = self.sources[device].poll()
        return result, _served(self.sim)[device] - before

    def token_expiry(self, device: str) -> None:
        logins = _logins(self.sim, device)
        start = _served(self.sim)[device]
        out: list[tuple[F5State | None, SourceStatus]] = []
        poller = threading.Thread(target=lambda: out.append(self.sources[device].poll()))
        poller.start()
        while _served(self.sim)[device] - start < self.minimum[device] // 2 and poller.is_alive():
            time.sleep(0.005)
        self.sim.inject(target=device, type="expireTokens")
        poller.join()
        (state, status), sent = out[0], _served(self.sim)[device] - start
        relogins = _logins(self.sim, device) - logins
        refused = status.requests.get("401", 0)
        same = state is not None and state == self.warm[device]
        self.result.scenarios.append(
            ScenarioRow(
                "token expired mid-poll",
                f"{relogins} re-login, {refused} request(s) refused then resent,"
                f" {len(status.errors)} errors, data {'identical' if same else 'DIFFERENT'}",
                sent,
                f"{self.minimum[device] + 1 + refused} (minimum + 1 login + resent)",
                relogins == 1
                and same
                and not status.errors
                and sent == self.minimum[device] + 1 + refused,
            )
        )

    def bursts(self, device: str) -> None:
        self.sim.inject(target=device, type="http503", count=5)
        self.sim.inject(target=device, type="reset", count=3)
        (state, status), sent = self.one(device)
        same = state is not None and state == self.warm[device]
        self.result.scenarios.append(
            ScenarioRow(
                "5 x 503, then 3 resets",
                f"{status.requests.get('503', 0)} x 503 and {status.requests.get('error', 0)}"
                f" resets retried, {len(status.errors)} errors,"
                f" data {'identical' if same else 'DIFFERENT'}",
                sent,
                f"{self.minimum[device] + 8} (minimum + 8 retries)",
                same and not status.errors and sent == self.minimum[device] + 8,
            )
        )

    def html_500(self, device: str) -> None:
        self.sim.inject(target=device, type="http500html", count=1)
        try:
            (state, status), sent = self.one(device)
        except Exception as err:  # the point is that nothing escapes poll()
            self.result.scenarios.append(ScenarioRow("HTML 500 page", repr(err), 0, "-", False))
            return
        reasons = sorted({f"{e.reason} ({e.target})" for e in status.errors})
        failed = sorted(state.failed) if state is not None else ["everything"]
        self.result.scenarios.append(
            ScenarioRow(
                "one HTML 500 page",
                f"errors: {', '.join(reasons)}; incomplete: {', '.join(failed)}; no exception",
                sent,
                f"≤ {self.minimum[device]} (a failed collection stops at its failed page)",
                [e.reason for e in status.errors] == ["http_5xx"] and sent <= self.minimum[device],
            )
        )

    def close(self) -> None:
        for source in self.sources.values():
            source.close()
        for recorder in self.recorders.values():
            recorder.close()


def run(scale: Scale, rounds: int = 3) -> Result:
    """Run every measurement at `scale` (`rounds` warm polls against the floor, each way);
    the simulator lives in a child process."""
    started = time.perf_counter()
    sim = SimProcess(scale)
    render_seconds = time.perf_counter() - started
    try:
        with tempfile.TemporaryDirectory(prefix="f5lm-bench-") as tmp:
            cfg = _config(sim, Path(tmp))
            budget = F5Source(cfg.bigip[0], cfg).budget
            result = Result(
                scale,
                cfg.poll.f5_page_size,
                cfg.poll.f5_concurrency,
                budget,
                render_seconds,
                rss_before_mib=_rss_mib(),
            )
            bench = _Bench(sim, cfg, result)
            try:
                bench.cycle("cold", login=True)
                warm = bench.cycle("warm", login=False)
                bench.warm = {name: state for name, (state, _) in warm.items()}
                device = sorted(sim.urls)[0]
                bench.token_expiry(device)
                bench.bursts(device)
                bench.html_500(device)
                result.rss_peak_mib = _rss_mib()  # before the floor and tracemalloc add theirs
                bench.floor_rounds(rounds)
                bench.traced()
                bench.retained()
            finally:
                bench.close()
            result.max_in_flight = {d: s["max_in_flight"] for d, s in sim.stats().items()}
            return result
    finally:
        sim.stop()


def machine() -> dict[str, str]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f"{kib / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": f"{cpu}, {os.cpu_count()} CPUs",
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def describe(result: Result) -> dict[str, Any]:
    """The headline figures (for the summary line)."""
    warm = [row for row in result.polls if row.cycle == "warm"]
    return {
        "warm_max_seconds": max(row.seconds for row in warm),
        "exact": all(row.sent == row.served == row.expected for row in result.polls),
        "in_flight_ok": all(v <= result.concurrency for v in result.max_in_flight.values()),
        "scenarios_ok": all(s.ok for s in result.scenarios),
    }


def budgets(result: Result, scale: float = 1.0) -> list[Budget]:
    """The BIG-IP poll's budgets (bench.budgets), medians over the warm polls with unchanged
    pages reused: warm poll / floor, requests / paged minimum, per-object GETs. `scale`
    loosens the limits (a quick run)."""
    rows = [row for row in result.floor if row.pages == "reused"]
    return [
        budget("f5_poll_floor_ratio", [row.ratio for row in rows], scale=scale),
        budget(
            "f5_requests_vs_paged_minimum", [row.requests_vs_minimum for row in rows], scale=scale
        ),
        budget("f5_object_gets", [float(row.object_gets) for row in rows]),
    ]
