"""`make bench` / `make bench-quick`: every budget of the design's scale, measured and recorded.

`python -m bench.suite` runs the full-cycle benchmark (`bench.full_cycle`: the real
`Monitor` against the simulated BIG-IP pair and Kubernetes API, each run in a fresh
process) `--runs` times at the design's scale (2 BIG-IPs x 5,000 virtuals, 5,000 pools,
50,000 members, 3,000 certificates; 200 boundaries; 20,000 meshed pods): the first run with
`WARMUP` + `--long` warm cycles (default 5 + 100, for the RSS growth) and the scrape benchmark
(`bench.scrape`) on what its last cycle published, the others with `--warm` warm cycles.
It asks the BIG-IP side for its budgets: `bench.f5_poll.floor_budgets(scale)` (an iterable
of `bench.budgets.Budget`, values measured at the given `bench.world.Scale`), or else
`bench.f5_poll.budgets(bench.f5_poll.run(scale))`, whichever exists (their limits are
`bench.budgets.LIMITS`', loosened here for `--quick`). It writes
`bench/results/latest.json` (`bench.budgets.write_latest`) and the table between the
markers of `docs/benchmarks.md`, and prints the table.
`--quick` runs a tenth of every scale (20 warm cycles for the growth), against limits
loosened by `QUICK` (`budget(..., scale=...)`), and writes `bench/results/quick.json`
only: the CI smoke test. Exit status 1 when a budget fails or was not measured, or a run
had a problem (`bench.full_cycle_report.problems`: a source down, findings other than the
world's drift, Kubernetes requests in a warm cycle).

How each budget is measured (medians over the runs, or over every warm cycle of every run):
- `cold_cycle_s`: the first cycle's wall time, per run;
- `warm_cycle_cpu_s`: the CPU time of the monitor's process during a warm cycle (polls,
  checks, rendering, garbage collection; not the simulators'), per warm cycle;
- `checks_ms`: the CPU time of `CheckRunner.run` in a warm cycle (its thread's: the
  machine's other load left out, the collections its allocations start included), per
  warm cycle;
- `mesh_warm_ms`: the CPU time of the mesh source's `poll()` in a warm cycle (the watches
  hold everything already: building the `MeshState`), per warm cycle;
- `rss_peak_mib`: the peak RSS (VmHWM) of each run's process;
- `rss_growth_pct`: the first run's RSS after its last warm cycle against after its
  `WARMUP`-th (5): over `--long` warm cycles after those (one value);
- `watch_threads`: threads named `watch …` in the monitor's process after each run;
- `k8s_lists_steady`: LIST requests the simulated API server served during warm cycles,
  all runs together (one value);
- `metrics_p99_ms`: the 99th percentile of a scrape with 8 concurrent scrapers (keep-alive,
  gzip), 100 scrapes each; `metrics_errors_50_scrapers`: failed scrapes of 50 concurrent
  scrapers, 20 each;
- `f5_poll_floor_ratio`, `f5_requests_vs_paged_minimum`, `f5_object_gets`: the BIG-IP
  side's functions; "not measured" (failing) while they do not exist.
"""

from __future__ import annotations

import argparse
import importlib
import json
import statistics
import sys
from collections.abc import Callable, Iterable
from pathlib import Path

from bench import full_cycle, full_cycle_report
from bench.budgets import (
    LATEST,
    LIMITS,
    Budget,
    budget,
    markdown,
    relimit,
    unmeasured,
    write_latest,
)
from bench.cycle_world import CycleScale
from bench.full_cycle import CycleResult
from bench.world import Scale

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
QUICK_JSON = ROOT / "bench" / "results" / "quick.json"
BEGIN, END = "<!-- budgets:begin -->", "<!-- budgets:end -->"
# How much `--quick` loosens each limit: at a tenth of the scale the values are far below
# the design's limits anyway; timings and memory get room for a slower, busier CI machine,
# and the RSS growth for being measured over 20 cycles right after start. Counts do not.
QUICK: dict[str, float] = {name: 1.0 for name in LIMITS} | {
    "warm_cycle_cpu_s": 2.0,
    "checks_ms": 2.0,
    "mesh_warm_ms": 2.0,
    "cold_cycle_s": 2.0,
    "rss_growth_pct": 2.0,
    "metrics_p99_ms": 2.0,
    "f5_poll_floor_ratio": 1.2,
}
SCRAPES = ((8, 100), (50, 20))  # (scrapers, scrapes each)
# Warm cycles before the RSS growth's baseline: the allocator's heaps reach the high-water
# mark of a cycle's transient peaks in the first few (+10 % from the first warm cycle to
# the third at the design's scale), then hold.
WARMUP = 5
F5_BUDGETS = ("f5_poll_floor_ratio", "f5_requests_vs_paged_minimum", "f5_object_gets")


def _warm(results: list[CycleResult]) -> list[full_cycle.CycleRow]:
    return [row for result in results for row in result.rows[1:]]


def cycle_budgets(results: list[CycleResult], loosen: Callable[[str], float]) -> list[Budget]:
    """The budgets the full-cycle runs measure (module docstring); `results[0]` is the long
    run with the scrape benchmark."""
    warm = _warm(results)
    long = results[0]
    out = [
        budget("cold_cycle_s", [r.rows[0].total for r in results], scale=loosen("cold_cycle_s")),
        budget("warm_cycle_cpu_s", [r.cpu_seconds for r in warm], scale=loosen("warm_cycle_cpu_s")),
        budget(
            "checks_ms", [r.cpu.get("checks", 0) * 1000 for r in warm], scale=loosen("checks_ms")
        ),
        budget(
            "mesh_warm_ms",
            [r.cpu.get("poll kubernetes", 0) * 1000 for r in warm],
            scale=loosen("mesh_warm_ms"),
        ),
        budget(
            "rss_peak_mib", [r.rows[-1].rss_peak_mib for r in results], scale=loosen("rss_peak_mib")
        ),
        budget("watch_threads", [r.rows[-1].watch_threads for r in results], scale=1.0),
        budget("k8s_lists_steady", [sum(r.kube_verbs.get("list", 0) for r in warm)], scale=1.0),
    ]
    if len(long.rows) > WARMUP + 1:
        first, last = long.rows[WARMUP].rss_now_mib, long.rows[-1].rss_now_mib
        growth = (last - first) / first * 100 if first else float("nan")
        out.append(budget("rss_growth_pct", [growth], scale=loosen("rss_growth_pct")))
    else:
        out.append(unmeasured("rss_growth_pct", scale=loosen("rss_growth_pct")))
    by_count = {s.scrapers: s for s in long.scrapes}
    if 8 in by_count and by_count[8].latencies:
        p99 = by_count[8].percentile(99)
        out.append(budget("metrics_p99_ms", [p99], scale=loosen("metrics_p99_ms")))
    else:
        out.append(unmeasured("metrics_p99_ms", scale=loosen("metrics_p99_ms")))
    if 50 in by_count:
        out.append(budget("metrics_errors_50_scrapers", [by_count[50].errors]))
    else:
        out.append(unmeasured("metrics_errors_50_scrapers"))
    return out


def f5_budgets(scale: Scale, loosen: Callable[[str], float]) -> tuple[list[Budget], str]:
    """The BIG-IP side's budgets: `bench.f5_poll.floor_budgets(scale)`, or its
    `budgets(run(scale))`, whichever exists; unmeasured while neither does."""
    f5_poll = importlib.import_module("bench.f5_poll")
    measure: Callable[[Scale], Iterable[Budget]] | None = getattr(f5_poll, "floor_budgets", None)
    if measure is None and hasattr(f5_poll, "budgets"):
        measure = lambda at: f5_poll.budgets(f5_poll.run(at))  # noqa: E731
    if measure is None:
        note = "bench.f5_poll has no floor_budgets (nor budgets): the BIG-IP budgets are unmeasured"
        return [unmeasured(name, scale=loosen(name)) for name in F5_BUDGETS], note
    print(f"BIG-IP poll against its floor: {scale.label()}", flush=True)
    found = {b.name: relimit(b, scale=loosen(b.name)) for b in measure(scale)}
    missing = [unmeasured(n, scale=loosen(n)) for n in F5_BUDGETS if n not in found]
    return [*found.values(), *missing], ""


def write_doc(table: str, path: Path = DOC, latest: Path = LATEST) -> None:
    """The table between the markers of `path`, under the commit and machine `latest`
    (just written) names; the rest of the file as it is."""
    recorded = json.loads(latest.read_text())
    machine = recorded["machine"]
    head = (
        f"Commit `{recorded['commit']}`, {machine['cpus']} CPUs, {machine['platform']},"
        f" Python {machine['python']}:\n\n"
    )
    text = path.read_text()
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    path.write_text(text[:start] + "\n" + head + table + text[end:])


def _details(results: list[CycleResult]) -> dict[str, object]:
    warm = _warm(results)
    long = results[0]
    return {
        "scale": results[0].scale.label(),
        "runs": [
            {
                "cold_s": round(r.rows[0].total, 2),
                "warm_cycles": len(r.rows) - 1,
                "warm_wall_s_median": round(statistics.median(x.total for x in r.rows[1:]), 2)
                if len(r.rows) > 1
                else None,
                "rss_peak_mib": round(r.rows[-1].rss_peak_mib),
                "threads": r.rows[-1].threads,
            }
            for r in results
        ],
        "warm_gc_s_median": round(statistics.median(r.gc_seconds for r in warm), 3),
        "warm_cpu_ms_median": {
            part: round(statistics.median(r.cpu.get(part, 0.0) for r in warm) * 1000, 1)
            for part in sorted({p for r in warm for p in r.cpu})
        },
        "rss_after_warm_mib": [round(r.rss_now_mib) for r in long.rows[1:]][
            :: max(1, len(long.rows) // 20)
        ],
        "scrapes": [
            {
                "scrapers": s.scrapers,
                "scrapes_each": s.scrapes,
                "p50_ms": round(s.median_ms, 2),
                "p99_ms": round(s.percentile(99), 2),
                "errors": s.errors,
                "gzip_bytes": s.body_bytes,
                "text_bytes": s.text_bytes,
            }
            for s in long.scrapes
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.suite", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale (CI)")
    parser.add_argument("--runs", type=int, default=3, help="full-cycle runs (fresh processes)")
    parser.add_argument(
        "--long", type=int, help="warm cycles of the first run after 5 (100; quick 20)"
    )
    parser.add_argument("--warm", type=int, default=3, help="warm cycles of the other runs")
    args = parser.parse_args(argv)
    divisor = 10 if args.quick else 1
    bigip = Scale(5000 // divisor, 5000 // divisor, 50000 // divisor, 3000 // divisor)
    scale = CycleScale(
        bigip=bigip, boundaries=200 // divisor, namespaces=20 // divisor or 1, pods=20000 // divisor
    )
    long = WARMUP + (args.long if args.long is not None else (20 if args.quick else 100))

    def loosen(name: str) -> float:
        return QUICK[name] if args.quick else 1.0

    print(f"budgets: {scale.label()}, {args.runs} run(s)", flush=True)
    results: list[CycleResult] = []
    for n in range(max(1, args.runs)):
        warm = long if n == 0 else args.warm
        print(f"run {n + 1}: a cold cycle and {warm} warm ones", flush=True)
        results.append(full_cycle.run_isolated(scale, warm, scrapes=SCRAPES if n == 0 else ()))
    problems = [p for r in results for p in full_cycle_report.problems(r)]
    budgets = cycle_budgets(results, loosen)
    f5, note = f5_budgets(bigip, loosen)
    budgets += f5
    table = markdown(budgets)
    print(table)
    notes = [note] if note else []
    notes += problems
    for line in notes:
        print(f"note: {line}")
    extra = {"quick": args.quick, "notes": notes, "details": _details(results)}
    if args.quick:
        write_latest(budgets, QUICK_JSON, **extra)
        print(f"written to {QUICK_JSON}")
    else:
        write_latest(budgets, **extra)
        write_doc(table)
        print(f"written to bench/results/latest.json and {DOC}")
    return 0 if all(b.passed for b in budgets) and not problems else 1


if __name__ == "__main__":
    sys.exit(main())
