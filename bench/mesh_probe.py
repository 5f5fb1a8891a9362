"""The mesh side alone at the design's scale: `python -m bench.mesh_probe`.

Serves `bench.cycle_world`'s cluster (200 boundaries, 20,000 meshed pods in 20 namespaces
by default; the BIG-IP side shrunk to what the boundaries need) in a child process, then in
a fresh spawned process of its own runs the real `MeshSource`: one cold poll (discovery
and every LIST), then `--warm` polls with nothing changed. Per poll: wall and CPU seconds,
the requests the source counted (LISTs among them), the watches it holds and the threads
of the process, current and peak RSS; per warm poll also the time of the poll's own work
(`mesh_warm_ms`: the state built from unchanged watch caches) and whether the state is the
previous poll's object. `--profile` prints the top functions of the warm polls (cProfile).
A figure for the mesh's share of the full cycle's budgets, not a budget of its own.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import pstats
import resource
import tempfile
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench import spawned
from bench.cycle_sim import WorldProcess
from bench.cycle_world import CycleScale
from bench.world import Scale


@dataclass
class Row:
    label: str
    wall_s: float
    cpu_s: float
    up: bool
    requests: dict[str, int]
    lists: int
    watches: int
    threads: int
    rss_now_mib: float
    rss_peak_mib: float
    same_state: bool = False
    gc_s: float = 0.0
    build_ms: float = 0.0  # MeshSource.build_seconds: the benchmark's mesh_warm_ms


@dataclass
class ProbeResult:
    scale: str
    world_objects: int
    rss_before_mib: float
    rows: list[Row] = field(default_factory=list)
    profile: str = ""
    traced: str = ""
    rebuild: dict[str, float] = field(default_factory=dict)


def _status_mib(name: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _GcTime:
    def __init__(self) -> None:
        self.seconds, self._start = 0.0, 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start


def _run(
    config: Path, warm: int, profile: bool, trace: bool = False, scope: str = ""
) -> ProbeResult:
    import tracemalloc

    from monitor.config.schema import load_config
    from monitor.sources.mesh.source import MeshSource

    cfg = load_config(config)
    if scope:
        cfg = replace(cfg, mesh=replace(cfg.mesh, watch_scope=scope))
    result = ProbeResult("", 0, _status_mib("VmRSS"))
    source = MeshSource(cfg)
    collector = _GcTime()
    profiler = cProfile.Profile() if profile else None
    previous = None
    if trace:
        tracemalloc.start(3)
    try:
        for n in range(warm + 1):
            label = "cold" if n == 0 else f"warm {n}"
            lists_before = _lists(source)
            gc_before = collector.seconds
            cpu, started = _cpu(), time.perf_counter()
            if profiler is not None and n > 0:
                state, status = profiler.runcall(source.poll)
            else:
                state, status = source.poll()
            wall, cpu = time.perf_counter() - started, _cpu() - cpu
            result.rows.append(
                Row(
                    label=label,
                    wall_s=wall,
                    cpu_s=cpu,
                    up=status.up,
                    requests=dict(status.requests),
                    lists=_lists(source) - lists_before,
                    watches=_watches(source),
                    threads=threading.active_count(),
                    rss_now_mib=_status_mib("VmRSS"),
                    rss_peak_mib=_status_mib("VmHWM"),
                    same_state=state is previous,
                    gc_s=collector.seconds - gc_before,
                    build_ms=source.build_seconds * 1000,
                )
            )
            if not status.up:
                for error in status.errors[:5]:
                    print(f"  {label}: {error.reason}: {error.message}", flush=True)
            print(f"  {label}: {wall:.3f} s wall, {cpu:.3f} s CPU", flush=True)
            previous = state
        result.rebuild = _rebuilds(source)
        if trace:
            current, peak = tracemalloc.get_traced_memory()
            top = tracemalloc.take_snapshot().statistics("traceback")[:12]
            lines = [f"traced: {current / 2**20:.0f} MiB now, {peak / 2**20:.0f} MiB peak"]
            for stat in top:
                lines.append(f"{stat.size / 2**20:8.1f} MiB {stat.count:9d} blocks")
                lines += [f"    {frame}" for frame in stat.traceback.format()]
            result.traced = "\n".join(lines)
    finally:
        source.close()
    if profiler is not None:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(30)
        result.profile = stream.getvalue()
    return result


def _rebuilds(source: Any) -> dict[str, float]:
    """CPU seconds of a whole build from the current views (no memo), and of one after a
    change in one backend namespace's pods (the source's memo; best of 3 each)."""
    import dataclasses

    from monitor.sources.mesh.build import build_state

    watches = source._watches
    plan = source._plan(watches)
    views = {s: watches.get(s) for s in plan.specs()}
    whole = []
    for _ in range(3):
        started = time.process_time()
        build_state(plan, views)
        whole.append(time.process_time() - started)
    namespace = plan.backends[0].namespace
    spec = plan.pods.get(namespace)
    one = []
    for n in range(3):
        changed = dict(views)
        if spec is not None:
            view = views[spec]
            marks = {**view.namespaces, namespace: -1 - n}  # a generation no build has seen
            changed[spec] = dataclasses.replace(view, namespaces=marks)
        started = time.process_time()
        build_state(plan, changed, None, source._memo)
        one.append(time.process_time() - started)
    return {"whole build": min(whole), "one namespace changed": min(one)}


def _lists(source: Any) -> int:
    return int(source.watch_stats().lists)


def _watches(source: Any) -> int:
    return int(source.watch_count())


def _child(conn: Any, config: str, warm: int, profile: bool, trace: bool, scope: str) -> None:
    try:
        conn.send(_run(Path(config), warm, profile, trace, scope))
    except BaseException as err:
        conn.send(err)
        raise


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--boundaries", type=int, default=200)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--scope", choices=("namespaces", "cluster"), default="",
                        help="mesh.watchScope (default: the world's config)")  # fmt: skip
    parser.add_argument("--trace", action="store_true", help="tracemalloc's top allocations")
    args = parser.parse_args()
    pods_each = max(1, args.pods // args.boundaries)
    bigip = Scale(
        virtuals=args.boundaries + 1,
        pools=args.boundaries + 1,
        members=args.boundaries * pods_each + 1,
        certs=20,
        managers=2,
    )
    scale = CycleScale(bigip, args.boundaries, args.namespaces, args.pods)
    with tempfile.TemporaryDirectory(prefix="f5lm-mesh-probe-") as tmp:
        world = WorldProcess(scale, Path(tmp))
        try:
            print(f"world: {world.counts} ({world.render_seconds:.1f} s)", flush=True)
            sim_cpu = world.stats()["cpu_seconds"]
            options = (args.warm, args.profile, args.trace, args.scope)
            answer = spawned.answer(_child, (str(world.config), *options), "mesh probe")
            served = world.stats()
        finally:
            world.stop()
    result: ProbeResult = replace(
        answer, scale=scale.label(), world_objects=world.counts["objects"]
    )
    print(f"scale: {result.scale}; RSS before the first poll {result.rss_before_mib:.0f} MiB")
    print("| poll | wall s | CPU s | gc s | up | requests | LISTs | watches | threads |"
          " RSS MiB | peak MiB | same state | build ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in result.rows:
        print(f"| {r.label} | {r.wall_s:.3f} | {r.cpu_s:.3f} | {r.gc_s:.3f} | {r.up} |"
              f" {sum(r.requests.values())} | {r.lists} | {r.watches} | {r.threads} |"
              f" {r.rss_now_mib:.0f} | {r.rss_peak_mib:.0f} | {r.same_state} |"
              f" {r.build_ms:.1f} |")  # fmt: skip
    print(f"simulator served: {served['kube']}; open watch streams {served['open_watches']};"
          f" its CPU during the polls {served['cpu_seconds'] - sim_cpu:.2f} s")  # fmt: skip
    for name, seconds in result.rebuild.items():
        print(f"{name}: {seconds * 1000:.1f} ms CPU")
    if result.profile:
        print(result.profile)
    if result.traced:
        print(result.traced)


if __name__ == "__main__":
    main()
