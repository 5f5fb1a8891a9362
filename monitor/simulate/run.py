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
    manual_timeline: bool = False,
) -> int:
    """Run the simulation; returns the process exit code.

    With `manual_timeline` the timeline does not follow the clock: each SIGUSR1
    applies its next event (tests and live demonstrations step through it).
    """
    try:
        scenario = Scenario.load(scenario_path)
    except ScenarioError as err:
        print(f"simulate: {scenario_path}: {err}", file=stderr)
        return 2

    def say(line: str) -> None:
        print(line, file=stdout, flush=True)

    stop = stop or threading.Event()
    step = threading.Event()
    _stop_on_signals(stop, step)  # before `ready`: a signal right after it must be handled
    world = World(scenario, log=say)
    try:
        world.start(play_timeline=not manual_timeline)
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
        while not stop.wait(0.1):
            if step.is_set():
                step.clear()
                world.step()
    finally:
        world.stop()
    say("stopped")
    return 0


def _stop_on_signals(stop: threading.Event, step: threading.Event) -> None:
    def handler(signum: int, frame: FrameType | None) -> None:
        del frame
        (step if signum == signal.SIGUSR1 else stop).set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
            signal.signal(signum, handler)
