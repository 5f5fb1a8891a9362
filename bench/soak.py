"""`python -m bench.soak` (`make soak`): the real daemon for thousands of cycles under churn.

The simulated world of the demo scenario (`monitor/simulate/scenarios/demo.yaml`: an HA
pair of BIG-IPs and a Linkerd cluster) is served in this process over TLS, its timeline
stepped by hand. The daemon runs as a child process, `f5-linkerd-monitor run`, on the
config the world writes, with `poll.interval` and `poll.timeout` set short (default
`200ms`: the config takes any positive duration, `ms` included, so no escape hatch is
needed). Every `--round` cycles the soak changes the world (a pod replaced, a pod's
readiness, a pool member added or removed, the trust anchors rotated and back, a
certificate added to a BIG-IP) and arms the next fault of a rotating list on one of the
BIG-IPs or the Kubernetes API (503, HTML 500, truncated JSON, reset, latency beyond the
poll timeout, all tokens expired, the watch history compacted).

Measured from outside, as an operator would: the daemon's `cycle N done` log lines count
its cycles; after every cycle the soak reads the live tokens of each simulated device (at
most one each, always); at the end of every round (the quiet cycles after a fault, just
after a cycle ended) it samples the daemon's RSS, open file descriptors and threads from
`/proc` (file descriptors also by peer), scrapes `/metrics` and counts the simulated API
server's open watches. The warm-up (`--warmup`, default 1,500 cycles) is one period of the
schedule: 60 rounds, after which every change has met every fault (10 changes, 12 faults)
and every pool and cache has seen its worst case; the baseline is the median of the
warm-up's last samples (`--window` cycles), the final figure the median of the last
samples. `--cycles` (default 6,500) counts the warm-up in: 5,000 cycles are measured.
Bounds (exit status 1 when one is broken): RSS growth at most `--rss-growth` (default 5 %);
threads, and file descriptors other than connections to the polled APIs (files, pipes, the
listener), at the end equal to the baseline and never above the warm-up's highest;
connections to each API within its client's pool (`f5Concurrency` per BIG-IP, the mesh
source's pool for Kubernetes: an idle keep-alive connection kept for later is no leak,
one beyond the pool would be); at most one live token per device; the daemon alive until
SIGTERM and gone within 10 s of it. The figures are written as
markdown to `--out` (default `bench/soak.md`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from bench.f5_poll import machine
from monitor.config.schema import load_config
from monitor.simulate.faults import Fault
from monitor.simulate.scenario import PatchOp, TimelineEvent
from monitor.simulate.world import Scenario, World
from monitor.sources.mesh.source import pool_size
from monitor.sources.mesh.specs import backends

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "monitor" / "simulate" / "scenarios" / "demo.yaml"
RESULTS = Path(__file__).with_name("soak.md")
CYCLE = re.compile(r"cycle (\d+) done in ([0-9.]+)s: .*sources down: (.*)$")
POOL = "/bigip/config/pools/[path=/k8s/Shared/nginx_ingress_443_ingress]/members"

# Faults armed in turn, one per round: (target, type, count, seconds, delay).
FAULTS: tuple[tuple[str, str, int | None, float | None, float], ...] = (
    ("bigip-a", "http503", 3, None, 0.0),
    ("kubernetes", "watchExpire", None, None, 0.0),
    ("bigip-b", "http500html", 2, None, 0.0),
    ("bigip-a", "expireTokens", None, None, 0.0),
    ("kubernetes", "http503", 2, None, 0.0),
    ("bigip-b", "truncate", 2, None, 0.0),
    ("bigip-a", "reset", None, 1.0, 0.0),
    ("kubernetes", "reset", 1, None, 0.0),
    ("bigip-b", "latency", 2, None, 0.5),
    ("bigip-b", "expireTokens", None, None, 0.0),
    ("kubernetes", "truncate", 1, None, 0.0),
    ("kubernetes", "latency", 1, None, 0.5),
)


def _op(op: str, path: str, value: Any = None) -> PatchOp:
    return PatchOp(op=op, path=path, value=value, where="soak")


# Changes applied in turn, one per round; each pair of rounds leaves the world as it was.
CHURN: tuple[tuple[str, tuple[PatchOp, ...]], ...] = (
    (
        "replace an ingress pod",
        (_op("replace", "/kubernetes/workloads/0/pods/2/ip", "10.42.2.99"),),
    ),
    ("shop pod not ready", (_op("replace", "/kubernetes/workloads/1/pods/0/ready", False),)),
    ("add a pool member", (_op("add", f"{POOL}/-", {"address": "10.42.9.77", "port": 443}),)),
    ("rotate the anchors", (_op("replace", "/kubernetes/linkerd/anchors", ["anchor-b"]),)),
    (
        "add a certificate",
        (_op("add", "/bigip/config/sslCerts/-", {"path": "/Common/soak.crt", "cert": "anchor-b"}),),
    ),
    (
        "restore the ingress pod",
        (_op("replace", "/kubernetes/workloads/0/pods/2/ip", "10.42.2.13"),),
    ),
    ("shop pod ready", (_op("replace", "/kubernetes/workloads/1/pods/0/ready", True),)),
    ("remove the pool member", (_op("remove", f"{POOL}/[address=10.42.9.77]"),)),
    ("anchors back", (_op("replace", "/kubernetes/linkerd/anchors", ["anchor-a", "anchor-b"]),)),
    ("remove the certificate", (_op("remove", "/bigip/config/sslCerts/[path=/Common/soak.crt]"),)),
)


@dataclass
class Sample:
    cycle: int
    rss_kib: int
    fds: int
    threads: int
    watches: int
    fd_kinds: dict[str, int] = field(default_factory=dict)


@dataclass
class Run:
    cycles: int = 0
    seconds: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    durations: list[float] = field(default_factory=list)
    down_cycles: int = 0
    max_tokens: dict[str, int] = field(default_factory=dict)
    faults: int = 0
    changes: int = 0
    scrapes: int = 0
    exit_code: int | None = None
    stop_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    pools: dict[str, int] = field(default_factory=dict)  # peer → the client's pool size
    sim_tracebacks: int = 0


def _proc(pid: int) -> tuple[int, int, int]:
    """RSS (KiB), open file descriptors and threads of a process, from /proc."""
    rss = threads = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
        elif line.startswith("Threads:"):
            threads = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd")), threads


def _sockets(pid: int) -> dict[str, tuple[int, int]]:
    """socket inode → (local port, remote port) of a process's TCP sockets."""
    found = {}
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                found[inode] = (int(local.rsplit(":", 1)[1], 16), int(remote.rsplit(":", 1)[1], 16))
    return found


def fd_kinds(pid: int, peers: dict[int, str], listen: int) -> dict[str, int]:
    """The open file descriptors of a process by what they are: a connection to one of
    `peers` (port → name), the listener and its clients, other sockets, pipes, files."""
    sockets = _sockets(pid)
    kinds: dict[str, int] = {}
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            local, remote = sockets.get(target[8:-1], (0, 0))
            kind = peers.get(remote) or ("server" if local == listen else "socket")
        elif target.startswith(("pipe:", "anon_inode:")):
            kind = target.split(":")[0]
        else:
            kind = "file"
        kinds[kind] = kinds.get(kind, 0) + 1
    return dict(sorted(kinds.items()))


def _config(world: World, out: Path, interval: str, port: int) -> Path:
    path = world.write_outputs(out)["config"]
    cfg = yaml.safe_load(path.read_text())
    cfg["poll"] = {**cfg.get("poll", {}), "interval": interval, "timeout": interval}
    cfg["server"] = {**cfg.get("server", {}), "listen": f"127.0.0.1:{port}"}
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _pools(config: Path) -> dict[str, int]:
    """The most connections the daemon's clients keep to each API: `f5Concurrency` per
    BIG-IP, the mesh source's pool for Kubernetes (a connection per watch, and a margin)."""
    cfg = load_config(config)
    pools = {device.name: cfg.poll.f5_concurrency for device in cfg.bigip}
    pools["kubernetes"] = pool_size(backends(cfg))
    return pools


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _lines(proc: subprocess.Popen[str], out: queue.Queue[str | None], log: Path) -> None:
    assert proc.stdout is not None
    with log.open("w") as sink:
        for line in proc.stdout:
            sink.write(line)
            out.put(line.rstrip("\n"))
    out.put(None)


def _event(number: int) -> TimelineEvent:
    """The world change and the fault of round `number`."""
    label, ops = CHURN[number % len(CHURN)]
    target, kind, count, seconds, delay = FAULTS[number % len(FAULTS)]
    fault = Fault(target=target, type=kind, count=count, seconds=seconds, delay=delay)
    return TimelineEvent(
        at=timedelta(0),
        description=f"{label}; {kind} on {target}",
        patch=ops,
        fault=fault,
        where="soak",
    )


def soak(cycles: int, interval: str, round_every: int, work: Path) -> Run:
    world = World(Scenario.load(DEMO))
    world.start(play_timeline=False)
    port = _free_port()
    config = _config(world, work, interval, port)
    run = Run(max_tokens={d: 0 for d in world.bigip_devices}, pools=_pools(config))
    peers = {urlsplit(world.bigip.url(d)).port or 0: d for d in world.bigip_devices}
    peers[urlsplit(world.kube.url).port or 0] = "kubernetes"
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--log-level", "info", "run", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=work,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    threading.Thread(target=_lines, args=(proc, lines, work / "daemon.log"), daemon=True).start()
    started = time.monotonic()
    rounds = 0
    try:
        while run.cycles < cycles:
            try:
                line = lines.get(timeout=60)
            except queue.Empty:
                run.errors.append(f"no cycle for 60 s after cycle {run.cycles}")
                break
            if line is None:
                run.errors.append(f"the daemon exited after cycle {run.cycles}")
                break
            if "Traceback" in line:
                run.errors.append(f"traceback in the daemon's log after cycle {run.cycles}")
            match = CYCLE.search(line)
            if match is None:
                continue
            run.cycles = int(match.group(1))
            run.durations.append(float(match.group(2)))
            run.down_cycles += match.group(3).strip() != "none"
            for device in world.bigip_devices:
                live = world.bigip.stats(device).live_tokens
                run.max_tokens[device] = max(run.max_tokens[device], live)
            if run.cycles // round_every > rounds:
                rounds = run.cycles // round_every
                rss, fds, threads = _proc(proc.pid)
                watches = world.kube.stats().open_watches
                kinds = fd_kinds(proc.pid, peers, port)
                run.samples.append(Sample(run.cycles, rss, fds, threads, watches, kinds))
                run.scrapes += _scrape(port)
                world.apply(_event(rounds))
                run.changes += 1
                run.faults += 1
                if rounds % 20 == 0:
                    print(
                        f"cycle {run.cycles}: RSS {rss / 1024:.1f} MiB, {fds} fds,"
                        f" {threads} threads",
                        flush=True,
                    )
        run.seconds = time.monotonic() - started
    finally:
        stop = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        try:
            run.exit_code = proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            run.errors.append("the daemon was still running 10 s after SIGTERM")
            proc.kill()
            proc.wait()
        run.stop_seconds = time.monotonic() - stop
        world.stop()
    return run


def _scrape(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            answer.read()
        return 1
    except OSError:
        return 0


@dataclass(frozen=True)
class Verdict:
    baseline: Sample
    final: Sample
    peak_rss_kib: int
    warm_fds: tuple[int, int]
    warm_threads: tuple[int, int]
    rss_growth: float
    problems: tuple[str, ...]


def _median(samples: list[Sample], attr: str) -> int:
    return int(statistics.median(getattr(s, attr) for s in samples))


def _fd_problems(run: Run, warm: list[Sample], after: list[Sample]) -> list[str]:
    """File descriptors: those that are no connection to a polled API (files, pipes, the
    listener) end where the warm-up ended and never exceed its highest; connections to a
    polled API stay within that client's pool (an idle keep-alive connection a pool keeps
    for later is not a leak; one beyond the pool would be)."""
    problems = []
    pooled = set(run.pools)
    for kind in sorted({k for s in run.samples for k in s.fd_kinds}):
        counts = [s.fd_kinds.get(kind, 0) for s in after]
        if kind in pooled:
            if max(counts) > run.pools[kind]:
                problems.append(
                    f"fds: {max(counts)} connections to {kind} (pool {run.pools[kind]})"
                )
            continue
        top = max(s.fd_kinds.get(kind, 0) for s in warm)
        if counts[-1] != warm[-1].fd_kinds.get(kind, 0) or max(counts) > top:
            problems.append(
                f"fds ({kind}): {warm[-1].fd_kinds.get(kind, 0)} after the warm-up, {counts[-1]}"
                f" at the end, at most {max(counts)} after the warm-up (warm-up: at most {top})"
            )
    return problems


def judge(run: Run, cycles: int, warmup: int, window: int, rss_bound: float) -> Verdict:
    problems = list(run.errors)
    if run.cycles < cycles:
        problems.append(f"only {run.cycles} cycles of {cycles}")
    warm = [s for s in run.samples if s.cycle <= warmup]
    after = [s for s in run.samples if s.cycle > warmup]
    if not warm or not after:
        raise SystemExit("not enough samples: lengthen the run or shorten the warm-up")
    head = [s for s in warm if s.cycle > warmup - window] or warm[-1:]
    tail = [s for s in after if s.cycle > run.cycles - window] or after[-1:]
    baseline = Sample(warmup, *(_median(head, a) for a in ("rss_kib", "fds", "threads", "watches")))
    final = Sample(
        run.cycles, *(_median(tail, a) for a in ("rss_kib", "fds", "threads", "watches"))
    )
    growth = final.rss_kib / baseline.rss_kib - 1
    if growth > rss_bound:
        problems.append(f"RSS grew {growth:.1%} after the warm-up (bound {rss_bound:.0%})")
    top, high = max(s.threads for s in warm), max(s.threads for s in after)
    if final.threads != baseline.threads or high > top:
        problems.append(
            f"threads: {baseline.threads} after the warm-up, {final.threads} at the end, at"
            f" most {high} after the warm-up (warm-up: at most {top})"
        )
    problems += _fd_problems(run, warm, after)
    for device, most in sorted(run.max_tokens.items()):
        if most > 1:
            problems.append(f"{device}: {most} live tokens at once")
    if run.exit_code not in (0, None) or run.stop_seconds > 10:
        problems.append(f"the daemon exited {run.exit_code} after {run.stop_seconds:.1f} s")
    return Verdict(
        baseline=baseline,
        final=final,
        peak_rss_kib=max(s.rss_kib for s in after),
        warm_fds=(min(s.fds for s in warm), max(s.fds for s in warm)),
        warm_threads=(min(s.threads for s in warm), max(s.threads for s in warm)),
        rss_growth=growth,
        problems=tuple(problems),
    )


def _kinds(kinds: dict[str, int]) -> str:
    return ", ".join(f"{k} {n}" for k, n in kinds.items()) or "none"


def _most(samples: list[Sample]) -> dict[str, int]:
    most: dict[str, int] = {}
    for sample in samples:
        for kind, count in sample.fd_kinds.items():
            most[kind] = max(most.get(kind, 0), count)
    return dict(sorted(most.items()))


def report(run: Run, verdict: Verdict, args: argparse.Namespace, command: str) -> str:
    facts = machine()
    b, f = verdict.baseline, verdict.final
    after = [s for s in run.samples if s.cycle > args.warmup]
    warm_last = [s for s in run.samples if s.cycle <= args.warmup][-1]
    durations = sorted(run.durations)
    p99 = durations[int(len(durations) * 0.99) - 1] if durations else 0.0
    rows = [
        (
            "RSS (MiB)",
            f"{b.rss_kib / 1024:.1f}",
            f"{f.rss_kib / 1024:.1f}",
            f"{min(s.rss_kib for s in after) / 1024:.1f} – {verdict.peak_rss_kib / 1024:.1f}",
            f"growth {verdict.rss_growth:+.1%} (bound +{args.rss_growth:.0%})",
        ),
        (
            "file descriptors",
            str(b.fds),
            str(f.fds),
            f"{min(s.fds for s in after)} – {max(s.fds for s in after)}",
            f"warm-up {verdict.warm_fds[0]} – {verdict.warm_fds[1]}",
        ),
        (
            "threads",
            str(b.threads),
            str(f.threads),
            f"{min(s.threads for s in after)} – {max(s.threads for s in after)}",
            f"warm-up {verdict.warm_threads[0]} – {verdict.warm_threads[1]}",
        ),
        (
            "open watches (simulated API)",
            str(b.watches),
            str(f.watches),
            f"{min(s.watches for s in after)} – {max(s.watches for s in after)}",
            "",
        ),
    ]
    tokens = ", ".join(f"{d}: {n}" for d, n in sorted(run.max_tokens.items()))
    lines = [
        "# Soak: the daemon for thousands of cycles under churn and faults",
        "",
        f"Recorded {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `{command}`.",
        "",
        f"- World: the demo scenario (two BIG-IPs, a Linkerd 2.14 cluster), served over TLS"
        f" by the soak's process; the daemon `f5-linkerd-monitor run` in a child process with"
        f" `poll.interval` = `poll.timeout` = `{args.interval}`.",
        f"- Every {args.round} cycles: one change to the world and one fault armed, in turn"
        f" ({len(CHURN)} changes, {len(FAULTS)} faults): {run.changes} changes and"
        f" {run.faults} faults in all; `/metrics` scraped {run.scrapes} times.",
        f"- Machine: {facts['cpu']}; {facts['memory']} RAM; {facts['os']}; Python"
        f" {facts['python']}.",
        "",
        f"**{run.cycles:,} cycles in {run.seconds / 60:.1f} min**; cycle time median"
        f" {statistics.median(durations) if durations else 0:.3f} s, p99 {p99:.3f} s, max"
        f" {durations[-1] if durations else 0:.3f} s; {run.down_cycles:,} cycles with a"
        " source down (the faults).",
        "",
        f"Sampled at the end of every round (the quiet cycles after a fault); baseline: the"
        f" median of the samples of cycles {args.warmup - args.window}–{args.warmup} (end of"
        f" the warm-up), final: the median of the last {args.window} cycles' samples.",
        "",
        "| figure | baseline | final | after the warm-up | bound / note |",
        "|---|---|---|---|---|",
        *(f"| {' | '.join(row)} |" for row in rows),
        "",
        f"Most live tokens at once on each simulated BIG-IP, read after every cycle: {tokens}"
        " (bound 1).",
        "",
        "File descriptors by what they are (connections by peer; `server`: the daemon's"
        " listener and its scrape connections), at the end of the warm-up, at the end, and the"
        f" most after the warm-up: {_kinds(warm_last.fd_kinds)}; {_kinds(after[-1].fd_kinds)};"
        f" {_kinds(_most(after))}. The clients' pools: {_kinds(run.pools)}.",
        "",
        f"The simulated servers logged {run.sim_tracebacks} tracebacks of connections cut"
        " (the faults' resets and truncated bodies, and the daemon's deadlines): not counted"
        " as problems.",
        "",
        f"SIGTERM at the end: exit status {run.exit_code} after {run.stop_seconds:.1f} s.",
        "",
        "Problems: " + ("; ".join(verdict.problems) if verdict.problems else "none") + ".",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--cycles", type=int, default=6500, help="cycles in all, warm-up included")
    parser.add_argument("--interval", default="200ms", help="poll.interval and poll.timeout")
    parser.add_argument("--round", type=int, default=25, help="cycles between changes")
    parser.add_argument(
        "--warmup", type=int, default=1500, help="cycles before the baseline (one period)"
    )
    parser.add_argument("--window", type=int, default=250, help="cycles in a median")
    parser.add_argument("--rss-growth", type=float, default=0.05)
    parser.add_argument("--out", default=str(RESULTS), help="results file, or - for none")
    args = parser.parse_args(argv)
    command = "python -m bench.soak" + (" " + " ".join(sys.argv[1:]) if sys.argv[1:] else "")
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        # the simulated servers print a traceback for every connection a fault (or the
        # daemon's deadline) cut; they go to a file, counted in the report
        sim_log = Path(tmp) / "simulators.log"
        with sim_log.open("w") as sink, contextlib.redirect_stderr(sink):
            run = soak(args.cycles, args.interval, args.round, Path(tmp))
        run.sim_tracebacks = sim_log.read_text().count("Traceback")
        if run.errors:
            print((Path(tmp) / "daemon.log").read_text()[-4000:], file=sys.stderr)
    verdict = judge(run, args.cycles, args.warmup, args.window, args.rss_growth)
    text = report(run, verdict, args, command)
    print(text)
    if args.out != "-":
        Path(args.out).write_text(text)
        print(f"written to {args.out}")
    return 1 if verdict.problems else 0


if __name__ == "__main__":
    sys.exit(main())
