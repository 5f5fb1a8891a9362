"""The full-cycle benchmark: the real `Monitor` against both simulated sides at scale.

The world (`bench.cycle_world`, served by `bench.cycle_sim` in a child process) writes
its `config.yaml`; this process loads it with `load_config`, adds a state file, and
assembles the `Monitor` as the daemon's `monitor.daemon.cycle.daemon_monitor` does (the
real `F5Source`s and `MeshSource`, the collector pace of `monitor.daemon.memory`, the
process tuned by its `tune_process` as `serve` does), with thin timing wrappers
(`bench.cycle_probes`) around its parts:
- each source's `poll()` (the BIG-IP devices and the mesh run in parallel, as always);
- the checks (`CheckRunner.run`), the rotation planning (`remember` + `plan_rotation`), the
  state store's `advance` (the snapshot) and the state file's `save`, patched in
  `monitor.daemon.cycle` for the duration of the run only;
- the publication, as the daemon's `Published.of` makes it, part by part: `/metrics`
  (`monitor.render.exposition.render`), the status page (`render_page`), `/api/findings` and
  `/api/rotation` (`json.dumps(..., indent=2)` of their documents).
Cycle `cold` is the first (BIG-IP logins and TLS handshakes, bash reads of the
boundaries' certificate files, the mesh's discovery and every LIST); the `warm` ones
follow back to back with nothing changed (tokens and watches kept: a steady state).
Per cycle: the wall time of `Monitor.cycle()` and of each part, the CPU time of this
process and of the simulators', the time the garbage collector ran, the requests the
monitor sent and the simulators served, the findings, the size of what is published (the
/metrics exposition in bytes and series), the peak RSS (VmHWM) and current RSS of
this process, its thread count and its watch threads, the Kubernetes requests by verb.
After the cycles, optionally, the scrape benchmark (`bench.scrape`) on what the last cycle
published. `run_isolated` runs all this in a fresh spawned
process, so that the peak RSS is this benchmark's alone. With `profile`, the named cycles
run under cProfile (the cycle's thread and the source polls' threads, not the watch
threads) and the top functions are returned.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import resource
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import scrape, spawned
from bench.cycle_probes import (
    GcClock,
    Publisher,
    TimedChecks,
    TimedPoller,
    TimedStore,
    Timer,
    instrumented,
)
from bench.cycle_sim import WorldProcess
from bench.cycle_world import CycleScale
from bench.scrape import ScrapeResult
from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, real_f5, real_mesh
from monitor.daemon.memory import Collector, tune_process
from monitor.render.parts import Document
from monitor.state.snapshot import Snapshot


@dataclass
class CycleRow:
    label: str
    total: float
    phases: dict[str, float]
    polls: dict[str, float]  # source → seconds of its poll()
    sent: dict[str, int]  # source → requests the monitor counted
    served: dict[str, int]  # source → requests the simulator counted
    up: dict[str, bool]
    findings: int
    states: dict[str, int]  # check state → count
    metrics_bytes: int
    series: int
    page_bytes: int
    findings_bytes: int
    rotation_bytes: int
    rss_peak_mib: float
    rss_now_mib: float
    threads: int
    cpu_seconds: float = 0.0  # CPU time of this (the monitor's) process during the cycle
    sim_cpu_seconds: float = 0.0  # CPU time of the simulators' process during the cycle
    gc_seconds: float = 0.0  # garbage collection during the cycle, all threads
    gc_full: int = 0  # full (generation 2) collections during the cycle
    kube_verbs: dict[str, int] = field(default_factory=dict)  # Kubernetes requests served
    cpu: dict[str, float] = field(default_factory=dict)  # part → CPU seconds of its thread
    watch_threads: int = 0  # threads of this process named "watch …" after the cycle


@dataclass
class CycleResult:
    scale: CycleScale
    render_seconds: float
    world: dict[str, int]
    interval: float
    timeout: float
    rss_before_mib: float
    rows: list[CycleRow] = field(default_factory=list)
    open_watches: int = 0
    profile: str = ""
    threads_before: int = 0  # threads of this process before the monitor was built
    scrapes: list[ScrapeResult] = field(default_factory=list)


def _status_mib(field: str) -> float | None:
    """A `/proc/self/status` memory figure (VmHWM, VmRSS) in MiB; None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _rss_peak_mib() -> float:
    """Peak RSS of this process. VmHWM, not `ru_maxrss`: Linux carries the latter over an
    exec, so a spawned child would start from its parent's peak."""
    peak = _status_mib("VmHWM")
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _rss_now_mib() -> float:
    return _status_mib("VmRSS") or 0.0


def _series(exposition: Document) -> int:
    return sum(
        1
        for chunk in exposition.chunks()
        for line in chunk.splitlines()
        if line and not line.startswith(b"#")
    )


def _served(stats: dict[str, Any]) -> dict[str, int]:
    out = dict(stats["bigip"])
    out["kubernetes"] = sum(stats["kube"].values())
    return out


def _row(
    label: str, total: float, snapshot: Snapshot, timer: Timer, out: dict[str, Document]
) -> CycleRow:
    spans = timer.polls
    polls = {
        s.source: spans[s.source][1] - spans[s.source][0]
        for s in snapshot.sources
        if s.source in spans
    }
    first = min((start for start, _ in timer.polls.values()), default=0.0)
    phases = {"polls": max((end for _, end in timer.polls.values()), default=first) - first}
    phases.update((k, v) for k, v in timer.phases.items() if not k.startswith("poll "))
    phases["other"] = max(0.0, total - sum(phases.values()))
    states: dict[str, int] = {}
    for state in snapshot.states:
        states[state.state] = states.get(state.state, 0) + 1
    return CycleRow(
        label=label,
        total=total,
        phases=phases,
        polls=polls,
        sent={s.source: sum(s.requests.values()) for s in snapshot.sources},
        served={},
        up={s.source: s.up for s in snapshot.sources},
        findings=len(snapshot.findings),
        states=states,
        metrics_bytes=out["metrics"].size,
        series=_series(out["metrics"]),
        page_bytes=out["page"].size,
        findings_bytes=out["findings_json"].size,
        rotation_bytes=out["rotation_json"].size,
        rss_peak_mib=_rss_peak_mib(),
        rss_now_mib=_rss_now_mib(),
        threads=threading.active_count(),
    )


def _profile_text(profiles: list[cProfile.Profile], top: int = 40) -> str:
    if not profiles:
        return ""
    stream = io.StringIO()
    stats = pstats.Stats(profiles[0], stream=stream)
    for more in profiles[1:]:
        stats.add(more)
    stats.sort_stats("cumulative").print_stats(top)
    return stream.getvalue()


def _one(
    label: str,
    monitor: Monitor,
    world: WorldProcess,
    timer: Timer,
    collector: GcClock,
    publisher: Publisher,
) -> tuple[CycleRow, int]:
    """One measured cycle; its row and the watch streams the simulator has open after it."""
    timer.reset()
    collector.reset()
    before = world.stats()
    cpu, started = _cpu_seconds(), time.perf_counter()
    snapshot = monitor.cycle()
    total = time.perf_counter() - started
    cpu = _cpu_seconds() - cpu
    after = world.stats()
    row = _row(label, total, snapshot, timer, publisher.out)
    served, earlier = _served(after), _served(before)
    row.served = {k: n - earlier.get(k, 0) for k, n in served.items()}
    row.kube_verbs = {verb: n - before["kube"].get(verb, 0) for verb, n in after["kube"].items()}
    row.watch_threads = sum(1 for t in threading.enumerate() if t.name.startswith("watch"))
    row.gc_seconds, row.gc_full = collector.seconds, collector.full
    row.cpu = dict(timer.cpu)
    row.cpu_seconds = cpu
    row.sim_cpu_seconds = after["cpu_seconds"] - before["cpu_seconds"]
    return row, int(after["open_watches"])


def run(
    scale: CycleScale,
    warm: int = 3,
    profile: frozenset[str] = frozenset(),
    scrapes: tuple[tuple[int, int], ...] = (),
) -> CycleResult:
    """A cold cycle and `warm` warm ones against a freshly served world (module doc); then
    for each (scrapers, scrapes) of `scrapes` the scrape benchmark (`bench.scrape`) on what
    the last cycle published. The process is tuned as the daemon's (`tune_process`)."""
    tune_process()
    with tempfile.TemporaryDirectory(prefix="f5lm-bench-cycle-") as tmp:
        world = WorldProcess(scale, Path(tmp))
        try:
            cfg = load_config(world.config)
            cfg = replace(cfg, state=replace(cfg.state, file=Path(tmp) / "state.json"))
            result = CycleResult(
                scale=scale,
                render_seconds=world.render_seconds,
                world=world.counts,
                interval=cfg.poll.interval.total_seconds(),
                timeout=cfg.poll.timeout.total_seconds(),
                rss_before_mib=_rss_now_mib(),
                threads_before=threading.active_count(),
            )
            timer = Timer()
            publisher = Publisher(cfg, timer)
            monitor = Monitor(  # as the daemon's daemon_monitor(cfg), the sources timed
                cfg,
                [TimedPoller(real_f5(d, cfg), timer, d.name) for d in cfg.bigip],
                TimedPoller(real_mesh(cfg), timer, "kubernetes"),
                publish=publisher,
                state_file=cfg.state.file,
                persist=True,
                collector=Collector(),
            )
            monitor.store = TimedStore(timer)
            monitor.checks = TimedChecks(timer)
            collector = GcClock()
            try:
                with instrumented(timer):
                    for n in range(warm + 1):
                        label = "cold" if n == 0 else f"warm {n}"
                        timer.profiling = label in profile or label.split()[0] in profile
                        row, result.open_watches = _one(
                            label, monitor, world, timer, collector, publisher
                        )
                        result.rows.append(row)
                        print(f"  {label}: {row.total:.2f} s", flush=True)
                assert publisher.published is not None
                for scrapers, each in scrapes:
                    result.scrapes.append(scrape.run(publisher.published, scrapers, each))
            finally:
                collector.close()
                monitor.close()
            result.profile = _profile_text(timer.profiles)
            return result
        finally:
            world.stop()


def _child(
    conn: Any,
    scale: CycleScale,
    warm: int,
    profile: frozenset[str],
    scrapes: tuple[tuple[int, int], ...],
) -> None:
    try:
        conn.send(run(scale, warm, profile, scrapes))
    except BaseException as err:  # reported in the parent
        conn.send(err)
        raise


def run_isolated(
    scale: CycleScale,
    warm: int = 3,
    profile: frozenset[str] = frozenset(),
    scrapes: tuple[tuple[int, int], ...] = (),
) -> CycleResult:
    """`run` in a fresh spawned process (its peak RSS is then the monitor's alone)."""
    result = spawned.answer(_child, (scale, warm, profile, scrapes), "full-cycle benchmark")
    assert isinstance(result, CycleResult)
    return result
