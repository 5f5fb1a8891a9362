"""Scenario worlds to run the monitor against: in-process (`running_world`, as `demo` runs
them) or as a `simulate` process (`start_simulate`, as a user runs it)."""

from __future__ import annotations

import contextlib
import queue
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from monitor.simulate.world import Scenario, World
from tests.support.paths import CLI, ROOT


@contextlib.contextmanager
def running_world(scenario: Path, out: Path) -> Iterator[tuple[World, Path]]:
    """The scenario's world served in-process (timeline stepped by hand); its config file."""
    world = World(Scenario.load(scenario))
    world.start(play_timeline=False)
    try:
        yield world, world.write_outputs(out)["config"]
    finally:
        world.stop()


class Running:
    """A `simulate` process and the lines it has printed."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        self.proc = proc
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, wanted: str, timeout: float = 90, prefix: bool = False) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                err = self.proc.stderr.read() if self.proc.stderr else ""
                raise AssertionError(f"simulate exited early: {self.lines} {err}")
            self.lines.append(line)
            if line == wanted or (prefix and line.startswith(wanted)):
                return
        raise AssertionError(f"no {wanted!r} line within {timeout}s: {self.lines}")


def start_simulate(scenario: Path, out: Path, *extra: str) -> Running:
    proc = subprocess.Popen(
        [*CLI, "simulate", "--scenario", str(scenario), "--out", str(out), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    return Running(proc)
