"""`python -m bench` (`make bench`): run the BIG-IP polling benchmark, print and record it.

Options: `--virtuals/--pools/--members/--certs` change the scale (default: the design's
5,000 / 5,000 / 50,000 / 3,000 on two devices); `--quick` runs a tenth of that as a smoke
test; `--out FILE` (default `bench/results.md`; `-` for none) is where the figures and
the machine are written. Exit status 1 when a correctness figure is off (requests not
equal to the paged minimum, more than `f5Concurrency` in flight, a fault scenario that
lost data); timings never fail it.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--virtuals", type=int, default=5000)
    parser.add_argument("--pools", type=int, default=5000)
    parser.add_argument("--members", type=int, default=50000)
    parser.add_argument("--certs", type=int, default=3000)
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
    print(f"benchmark: {scale.label()} …", flush=True)
    result = run(scale)
    command = "python -m bench" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    text = report(result, command)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
        print(f"written to {args.out}")
    head = describe(result)
    return 0 if head["exact"] and head["in_flight_ok"] and head["scenarios_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
