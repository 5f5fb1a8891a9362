"""The `demo` command: the bundled simulated world and the monitor watching it, in one go.

Starts the scenario `monitor/simulate/scenarios/demo.yaml` in-process, writes its
kubeconfig, CA, credentials and expected-state file, then runs the real daemon
against it (or, with `--once`, one `check` cycle).  Nothing here is special-cased
for the demo: the monitor talks HTTPS to the simulated BIG-IPs and the simulated
Kubernetes API exactly as it would to real ones.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from monitor.config.schema import ConfigError, load_config
from monitor.daemon.cycle import check_once
from monitor.daemon.serve import serve, stop_on_signals
from monitor.render.findings import findings_document, print_report, table
from monitor.simulate.spec import ScenarioError
from monitor.simulate.world import CONFIG_HEADER, Scenario, World
from monitor.state.snapshot import Snapshot
from monitor.web.server import parse_listen

DEMO_SCENARIO = Path(__file__).resolve().parent / "simulate" / "scenarios" / "demo.yaml"
ENDPOINTS = (
    ("status page", "/"),
    ("metrics", "/metrics"),
    ("findings", "/api/findings"),
    ("rotation", "/api/rotation"),
)


def _say(line: str) -> None:
    print(line, flush=True)


def listen_problem(listen: str) -> str:
    """Why the demo cannot listen on `listen` (host:port), with how to choose another; ""
    when it can. Binds and closes at once, as the web server will bind (SO_REUSEADDR)."""
    try:
        host, port = parse_listen(listen)
    except ValueError:
        return f"--listen {listen}: expected HOST:PORT, e.g. 127.0.0.1:9879"
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((host, port))
    except OSError as err:
        why = err.strerror or str(err)
        if err.errno == errno.EADDRINUSE:
            why = "the port is in use (another demo, or another program, holds it)"
        other = f"{host or '127.0.0.1'}:{port + 1 if port < 65535 else 9879}"
        return f"cannot listen on {listen}: {why}; choose another with --listen {other}"
    return ""


def banner(listen: str) -> list[str]:
    """The lines that say where each endpoint of the demo is."""
    host, port = parse_listen(listen)
    base = f"http://{host or 'localhost'}:{port}"
    width = max(len(name) for name, _ in ENDPOINTS) + 1
    return [f"{name + ':':<{width}} {base}{path}" for name, path in ENDPOINTS]


def stopped_world(config: Path, reasons: set[str]) -> str:
    """When `config` was written by a simulated world (`demo`, `simulate`) and every source
    refused the connection (`reasons`: the error reasons of a cycle whose sources were all
    down), the one line that says its world is not running; else ""."""
    try:
        with config.open(encoding="utf-8") as handle:
            first = handle.readline()
    except OSError:
        return ""
    if not first.startswith(CONFIG_HEADER) or reasons != {"connect_error"}:
        return ""
    name = first[len(CONFIG_HEADER) :].split(";")[0]
    return (
        f"{config} belongs to the simulated world of scenario {name}, which is not running"
        " (its BIG-IP and Kubernetes endpoints refuse connections): start it again"
        " (`make demo`, `f5-linkerd-monitor demo --out DIR` or `f5-linkerd-monitor simulate`)"
        " and use the config it writes"
    )


def run_demo(listen: str, once: bool, output: str, fail_on: str, out: Path | None) -> int:
    try:
        scenario = Scenario.load(DEMO_SCENARIO)
    except ScenarioError as err:  # only a broken installation gets here
        print(f"demo: {DEMO_SCENARIO}: {err}")
        return 2
    if not once and (problem := listen_problem(listen)):
        print(f"demo: {problem}", file=sys.stderr)
        return 1
    stop = threading.Event()
    if not once:
        stop_on_signals(stop)
    world = World(scenario, log=_say if not once else (lambda line: None))
    out_dir = out or Path(tempfile.mkdtemp(prefix="f5-linkerd-monitor-demo-"))
    world.start()
    try:
        files = world.write_outputs(out_dir)
        try:
            cfg = load_config(files["config"])
        except ConfigError as err:
            print(f"demo: {files['config']}: {err}")
            return 2
        cfg = dataclasses.replace(cfg, server=dataclasses.replace(cfg.server, listen=listen))
        if once:
            return print_report(check_once(cfg), output, fail_on)
        _say(f"simulated world of scenario {scenario.name!r} is up; its files are in {out_dir}")
        for line in banner(listen):
            _say(line)
        _say("Ctrl-C stops the demo.")
        return serve(cfg, stop=stop, on_cycle=_printer(output))
    finally:
        world.stop()
        if out is None:
            shutil.rmtree(out_dir, ignore_errors=True)


def _printer(output: str) -> Callable[[Snapshot], None]:
    """Print the report whenever findings or check states change."""
    last: list[object] = [None]

    def on_cycle(snapshot: Snapshot) -> None:
        key = (
            tuple((t.finding.key, t.carried) for t in snapshot.findings),
            tuple((s.check, s.boundary, s.state) for s in snapshot.states),
            tuple((s.source, s.up) for s in snapshot.sources),
        )
        if key == last[0]:
            return
        last[0] = key
        if output == "json":
            _say(json.dumps(findings_document(snapshot)))
        else:
            _say(f"--- cycle {snapshot.cycle} at {snapshot.taken_at:%H:%M:%S} UTC ---")
            _say(table(snapshot).rstrip("\n"))

    return on_cycle
