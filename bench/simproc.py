"""The simulated BIG-IP in a child process, so the benchmark measures the monitor alone.

`SimProcess(scale)` starts a spawned process that renders the scaled world
(`bench.world`), serves it on 127.0.0.1 over TLS and answers commands on a pipe:
`stats()` (the simulator's own request counts and the highest number of requests it
had in flight at once), `minimum(...)` (the paged minimum of each device),
`inject(device, **fault)` and `stop()`. The parent's memory (peak RSS) is then the
monitor's, not the simulator's.
"""

from __future__ import annotations

import multiprocessing
import threading
from dataclasses import asdict
from multiprocessing.connection import Connection
from typing import Any

from bench.world import NOW, Scale, paged_minimum, render


def _serve(conn: Connection, scale: Scale) -> None:
    from monitor.simulate.bigip.server import SimulatedBigip
    from monitor.simulate.faults import Fault
    from monitor.simulate.httpserver import server_tls_context, sim_server_identity

    world, _ = render(scale)
    ca, server = sim_server_identity(NOW, "bench")
    sim = SimulatedBigip(world, server_tls_context(server))
    sim.start()
    devices = sorted(world.devices)
    conn.send({"urls": {d: sim.url(d) for d in devices}, "ca": ca.pem})
    while True:
        command, args = conn.recv()
        if command == "stats":
            conn.send({d: asdict(sim.stats(d)) for d in devices})
        elif command == "minimum":
            collections, partitions, page_size = args
            conn.send(
                {d: paged_minimum(world, d, collections, partitions, page_size) for d in devices}
            )
        elif command == "inject":
            sim.inject(Fault(**args))
            conn.send(True)
        else:
            sim.stop()
            conn.send(True)
            return


class SimProcess:
    """A running simulated BIG-IP in a child process; thread-safe."""

    def __init__(self, scale: Scale) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, scale), daemon=True)
        self._proc.start()
        self._lock = threading.Lock()
        ready = self._conn.recv()
        self.urls: dict[str, str] = ready["urls"]
        self.ca_pem: str = ready["ca"]

    def _ask(self, command: str, args: Any = None) -> Any:
        with self._lock:
            self._conn.send((command, args))
            return self._conn.recv()

    def stats(self) -> dict[str, dict[str, Any]]:
        return dict(self._ask("stats"))

    def minimum(
        self, collections: tuple[str, ...], partitions: tuple[str, ...], page: int
    ) -> dict[str, int]:
        return dict(self._ask("minimum", (collections, partitions, page)))

    def inject(self, **fault: Any) -> None:
        self._ask("inject", fault)

    def stop(self) -> None:
        self._ask("stop")
        self._proc.join(timeout=30)
