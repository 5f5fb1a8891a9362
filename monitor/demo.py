"""The `demo` command: the bundled simulated world and the monitor watching it, in one go.

Starts the scenario `monitor/simulate/scenarios/demo.yaml` in-process, writes its
kubeconfig, CA, credentials and expected-state file, then runs the real daemon
against it (or, with `--once`, one `check` cycle).  Nothing here is special-cased
for the demo: the monitor talks HTTPS to the simulated BIG-IPs and the simulated
Kubernetes API exactly as it would to real ones.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from monitor.config.schema import ConfigError, load_config
from monitor.daemon.cycle import check_once
from monitor.daemon.serve import serve, stop_on_signals
from monitor.render.findings import findings_document, print_report, table
from monitor.simulate.spec import ScenarioError
from monitor.simulate.world import Scenario, World
from monitor.state.snapshot import Snapshot
from monitor.web.server import parse_listen

DEMO_SCENARIO = Path(__file__).resolve().parent / "simulate" / "scenarios" / "demo.yaml"


def _say(line: str) -> None:
    print(line, flush=True)


def run_demo(listen: str, once: bool, output: str, fail_on: str, out: Path | None) -> int:
    try:
        scenario = Scenario.load(DEMO_SCENARIO)
    except ScenarioError as err:  # only a broken installation gets here
        print(f"demo: {DEMO_SCENARIO}: {err}")
        return 2
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
        host, port = parse_listen(listen)
        _say(f"simulated world of scenario {scenario.name!r} is up; its files are in {out_dir}")
        _say(f"metrics:  http://{host or 'localhost'}:{port}/metrics")
        _say(f"findings: http://{host or 'localhost'}:{port}/api/findings")
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
