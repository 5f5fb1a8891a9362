"""The full-cycle benchmark's simulated world (BIG-IP pair and Kubernetes) in a child process.

`WorldProcess(scale, out)` starts a spawned process that builds the scenario of
`bench.cycle_world`, renders it with `monitor.simulate.world.World` (starting now, as the
monitor's clock is the real one; no timeline), serves both sides on 127.0.0.1 over TLS
and writes what a client needs into `out` (kubeconfig, CA, BIG-IP credential files,
`config.yaml`), as `f5-linkerd-monitor simulate` does. On a pipe it answers `stats()`
(requests the simulators served: per BIG-IP device, and per Kubernetes verb, with the
number of watch streams open; the CPU seconds the process used so far) and `stop()`. The
simulators' CPU and memory are thus not the monitor's; a child that dies is an error,
never a hang.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.cycle_world import CycleScale, scenario


def _stats(world: Any) -> dict[str, Any]:
    kube = world.kube.stats()
    verbs: Counter[str] = Counter()
    for (verb, _), count in kube.requests.items():
        verbs[verb] += count
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "bigip": {d: world.bigip.stats(d).total for d in world.bigip_devices},
        "kube": dict(verbs),
        "open_watches": kube.open_watches,
    }


def _serve(conn: Connection, scale: CycleScale, out: str) -> None:
    from monitor.simulate.world import Scenario, World

    started = time.perf_counter()
    doc = scenario(scale)
    world = World(Scenario(Path(out) / "scenario.yaml", doc, ()), now=datetime.now(UTC))
    world.start(play_timeline=False)
    files = world.write_outputs(Path(out))
    counts = {
        "pods": sum(1 for o in world.state.kube.objects if o.get("kind") == "Pod"),
        "objects": len(world.state.kube.objects),
    }
    conn.send(
        {
            "config": str(files["config"]),
            "render_seconds": time.perf_counter() - started,
            "counts": counts,
        }
    )
    while True:
        command = conn.recv()
        if command == "stats":
            conn.send(_stats(world))
        else:
            world.stop()
            conn.send(True)
            return


class WorldProcess:
    """A running simulated world in a child process; thread-safe."""

    def __init__(self, scale: CycleScale, out: Path) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, scale, str(out)), daemon=True)
        self._proc.start()
        self._lock = threading.Lock()
        ready = self._recv()
        self.config = Path(ready["config"])
        self.render_seconds: float = ready["render_seconds"]
        self.counts: dict[str, int] = ready["counts"]

    def _recv(self) -> Any:
        """The child's answer; RuntimeError when it died instead (its traceback is on
        stderr)."""
        while not self._conn.poll(1.0):
            if not self._proc.is_alive():
                raise RuntimeError(f"the simulated world exited ({self._proc.exitcode})")
        return self._conn.recv()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._conn.send("stats")
            return dict(self._recv())

    def stop(self) -> None:
        with self._lock:
            if self._proc.is_alive():
                self._conn.send("stop")
                self._recv()
        self._proc.join(timeout=30)
