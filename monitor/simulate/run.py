"""The `simulate` command: serve a scenario until told to stop.

Loads and validates the scenario, starts the world, writes the files a client
needs into the output directory, prints where everything is followed by a line
`ready`, plays the timeline, and exits 0 on SIGTERM or SIGINT.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TextIO

from monitor.simulate.spec import ScenarioError
from monitor.simulate.world import Scenario, World


def run_simulate(
    scenario_path: Path,
    out_dir: Path,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
    stop: threading.Event | None = None,
) -> int:
    """Run the simulation; returns the process exit code."""
    try:
        scenario = Scenario.load(scenario_path)
    except ScenarioError as err:
        print(f"simulate: {scenario_path}: {err}", file=stderr)
        return 2

    def say(line: str) -> None:
        print(line, file=stdout, flush=True)

    stop = stop or threading.Event()
    _stop_on_signals(stop)  # before `ready`: a signal right after it must stop us cleanly
    world = World(scenario, log=say)
    try:
        world.start()
    except OSError as err:
        print(f"simulate: cannot start the simulated servers: {err}", file=stderr)
        return 1
    try:
        files = world.write_outputs(out_dir)
        for device in world.bigip_devices:
            say(f"bigip {device}: {world.bigip.url(device)}")
        say(f"kubernetes: {world.kube.url}")
        for label in ("kubeconfig", "ca", "config"):
            say(f"wrote {files[label]}")
        say(
            'try: curl --cacert {ca} -u "$(cat {u}):$(cat {p})" {url}/mgmt/tm/ltm/virtual'.format(
                ca=files["ca"],
                u=files["username"],
                p=files["password"],
                url=world.bigip.url(world.bigip_devices[0]) if world.bigip_devices else "",
            )
        )
        say("ready")
        while not stop.wait(0.5):
            pass
    finally:
        world.stop()
    say("stopped")
    return 0


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        del signum, frame
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)
