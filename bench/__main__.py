"""`python -m bench` (`make bench`): run the benchmarks, print them and record them.

Two benchmarks, both against the simulated world in a child process: the BIG-IP poll at
the design's scale (`bench.f5_poll`), then a full cycle of the real `Monitor` with both
BIG-IPs at that scale, many boundaries and a large meshed cluster (`bench.full_cycle`, in
a process of its own so that its peak RSS is the monitor's alone). Options:
`--virtuals/--pools/--members/--certs` change the BIG-IP scale of both (default: the
design's 5,000 / 5,000 / 50,000 / 3,000 on two devices); `--boundaries/--pods/--namespaces`
the full cycle's (default 200 boundaries, 20,000 backend pods in 20 namespaces);
`--warm N` the warm cycles after the cold one (default 3); `--quick` runs a tenth of every
scale as a smoke test; `--only f5|cycle` runs one benchmark (the other's section of the
results file is kept); `--profile cold,warm` runs those cycles under cProfile and prints
the top functions (not recorded); `--out FILE` (default `bench/results.md`; `-` for none)
is where the figures and the machine are written. Exit status 1 when a correctness figure
is off (BIG-IP: requests not equal to the paged minimum, more than `f5Concurrency` in
flight, a fault scenario that lost data; full cycle: a source down, Kubernetes requests
in a warm cycle, findings other than the world's deliberate drift); timings never fail it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench import full_cycle, full_cycle_report
from bench.cycle_world import CycleScale
from bench.f5_poll import Result, describe, machine, run
from bench.world import Scale

RESULTS = Path(__file__).with_name("results.md")


def _table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    out += ["| " + " | ".join(row) + " |" for row in rows]
    return out


def report(result: Result, command: str) -> str:
    facts = machine()
    head = describe(result)
    polls = _table(
        [
            "cycle",
            "device",
            "poll (s)",
            "requests sent",
            "requests served",
            "paged minimum",
            "errors",
            "virtuals / pools / members / certs / bundles",
        ],
        [
            [
                r.cycle,
                r.device,
                f"{r.seconds:.2f}",
                str(r.sent),
                str(r.served),
                str(r.expected),
                str(r.errors),
                r.objects,
            ]
            for r in result.polls
        ],
    )
    scenarios = _table(
        ["fault on bigip-a (same world)", "outcome", "requests", "expected", "ok"],
        [
            [s.name, s.outcome, str(s.sent), s.expected, "yes" if s.ok else "NO"]
            for s in result.scenarios
        ],
    )
    in_flight = ", ".join(f"{d}: {n}" for d, n in sorted(result.max_in_flight.items()))
    lines = [
        "# Benchmark: polling BIG-IP at scale",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
        "",
        f"- World: {result.scale.label()}; partitions `Common` and `k8s` (4 objects in 5 in"
        " the CIS folder `/k8s/Shared`), simulated BIG-IP in a child process over TLS.",
        f"- Monitor: the real `F5Source`, page size {result.page_size}, {result.concurrency}"
        f" requests in flight per device, poll budget {result.budget:g} s; both devices"
        " polled in parallel, as the daemon does.",
        f"- Machine: {facts['cpu']}; {facts['memory']} RAM; {facts['os']}; Python"
        f" {facts['python']}.",
        f"- Rendering the simulated world took {result.render_seconds:.1f} s (not part of a"
        " poll). The simulator, a Python process encoding every page as JSON, shares the"
        " CPUs with the monitor: a poll's time here includes the device's side of the work."
        " Timings vary from run to run on a shared machine; the request counts do not.",
        "",
        "## Polls",
        "",
        *polls,
        "",
        "`cold`: first poll (login and TLS handshakes; the paged minimum + 1 login);"
        " `warm`: token reused; `traced`: under `tracemalloc` (slower; for memory only).",
        "Requests sent (counted by the monitor) = requests served (counted by the"
        f" simulator) = paged minimum: **{'yes' if head['exact'] else 'NO'}**.",
        "",
        f"Most requests in flight at once, measured in the simulator: {in_flight}"
        f" (limit {result.concurrency}): **{'within' if head['in_flight_ok'] else 'EXCEEDED'}**.",
        "",
        "## Memory",
        "",
        f"- Peak RSS of the monitor process through the cold, warm and fault polls:"
        f" {result.rss_peak_mib:.0f} MiB ({result.rss_before_mib:.0f} MiB before the first"
        " poll).",
        f"- Peak of Python allocations during one cycle of both devices (tracemalloc):"
        f" {result.traced_peak_mib:.0f} MiB. Pages are parsed as they arrive, so the raw JSON"
        " of a device is never held whole.",
        "",
        "## Faults during a poll",
        "",
        *scenarios,
        "",
    ]
    return "\n".join(lines)


def _keep(path: Path, heading: str, before: bool) -> str:
    """The part of an existing results file before (or from) `heading`, "" when none."""
    if not path.exists():
        return ""
    text = path.read_text()
    at = text.find(heading)
    if at < 0:
        return text if before else ""
    return text[:at].rstrip("\n") + "\n" if before else text[at:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--virtuals", type=int, default=5000)
    parser.add_argument("--pools", type=int, default=5000)
    parser.add_argument("--members", type=int, default=50000)
    parser.add_argument("--certs", type=int, default=3000)
    parser.add_argument("--boundaries", type=int, default=200)
    parser.add_argument("--pods", type=int, default=20000)
    parser.add_argument("--namespaces", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3, help="warm cycles after the cold one")
    parser.add_argument("--only", choices=("f5", "cycle"), help="run one benchmark")
    parser.add_argument("--profile", default="", help="cycles to profile, e.g. cold,warm")
    parser.add_argument("--quick", action="store_true", help="a tenth of the scale")
    parser.add_argument("--out", default=str(RESULTS), help="results file, or - for none")
    args = parser.parse_args(argv)
    divisor = 10 if args.quick else 1
    scale = Scale(
        virtuals=args.virtuals // divisor,
        pools=args.pools // divisor,
        members=args.members // divisor,
        certs=args.certs // divisor,
    )
    command = "python -m bench" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    out = None if args.out == "-" else Path(args.out)
    ok = True
    f5_text = cycle_text = ""
    if args.only != "cycle":
        print(f"benchmark: {scale.label()} …", flush=True)
        result = run(scale)
        f5_text = report(result, command)
        print(f5_text)
        head = describe(result)
        ok = head["exact"] and head["in_flight_ok"] and head["scenarios_ok"]
    if args.only != "f5":
        cycle_scale = CycleScale(
            bigip=scale,
            boundaries=max(1, args.boundaries // divisor),
            namespaces=max(1, min(args.namespaces // divisor, args.boundaries // divisor)),
            pods=max(1, args.pods // divisor),
        )
        print(f"full cycle: {cycle_scale.label()} …", flush=True)
        profile = frozenset(p.strip() for p in args.profile.split(",") if p.strip())
        cycles = full_cycle.run_isolated(cycle_scale, args.warm, profile)
        cycle_text = full_cycle_report.report(cycles, command)
        print(cycle_text)
        if cycles.profile:
            print(cycles.profile)
        ok = ok and not full_cycle_report.problems(cycles)
    if out is not None:
        heading = full_cycle_report.HEADING
        f5_text = f5_text or _keep(out, heading, before=True)
        cycle_text = cycle_text or _keep(out, heading, before=False)
        out.write_text("\n".join(part for part in (f5_text, cycle_text) if part))
        print(f"written to {out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
