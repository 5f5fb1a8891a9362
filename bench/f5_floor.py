"""The floor of a BIG-IP poll: exactly its requests, replayed with bare httpx and json.loads.

`Recorder` is the transport an `F5Source` sends through in the benchmark: the device's own
`DeadlineTransport`, which, while `recording`, also notes every request (method, URL, the
headers that authenticate it, body). `Floor` replays a recorded poll of each device with
a plain `httpx.Client` per device (the same TLS trust, keep-alive, at most `f5Concurrency`
connections), `f5Concurrency` requests in flight per device and the devices in parallel,
as the daemon polls them, and decodes every body with `json.loads`: no paging, no
parsing, no model. The first replay opens the connections and is not measured, as a warm
poll's connections are already open. `object_gets` counts per-object reads in recorded
requests: GETs of anything but a collection (`/mgmt/tm/<collection>`) the poll reads.
`measure` takes turns, a warm poll then the floor, and gives a `FloorRow` per turn;
`python -m bench.f5_floor [--quick]` runs the BIG-IP benchmark and prints them with the
poll's budgets.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from monitor.config.files import ca_context
from monitor.config.schema import Config
from monitor.model import F5State, SourceStatus
from monitor.requirements import DEVICES, SYNC_STATUS
from monitor.sources.f5.source import F5Source
from monitor.sources.http.transport import DeadlineTransport

_KEPT_HEADERS = ("authorization", "x-f5-auth-token", "content-type", "accept")


@dataclass(frozen=True)
class Sent:
    """One request as the source sent it."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    content: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


class Recorder(httpx.BaseTransport):
    """A device's `DeadlineTransport` that notes what goes through it while `recording`."""

    def __init__(self, ca_file: Path, concurrency: int) -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        self._inner = DeadlineTransport(ca_context(ca_file), limits)
        self._lock = threading.Lock()
        self.recording = False
        self.sent: list[Sent] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.recording:
            headers = tuple((k, v) for k, v in request.headers.items() if k in _KEPT_HEADERS)
            with self._lock:
                self.sent.append(Sent(request.method, str(request.url), headers, request.content))
        return self._inner.handle_request(request)

    def take(self) -> list[Sent]:
        """What was recorded since the last `take`, in the order sent."""
        with self._lock:
            sent, self.sent = self.sent, []
        return sent

    def close(self) -> None:
        self._inner.close()


def object_gets(sent: Iterable[Sent], collections: Iterable[str]) -> int:
    """GETs of single objects (or anything else than the collections a poll reads)."""
    paths = {f"/mgmt/tm/{c}" for c in collections}
    return sum(1 for s in sent if s.method == "GET" and s.path.rstrip("/") not in paths)


@dataclass(frozen=True)
class Replay:
    """One replay of every device's requests: wall and CPU seconds of this process."""

    seconds: float
    cpu_seconds: float
    requests: int
    body_bytes: int


@dataclass
class FloorRow:
    """One warm poll of both devices and, right after it, the replay of its requests."""

    pages: str  # "reused": unchanged pages as they are; "parsed": every page parsed
    poll_seconds: float
    poll_cpu: float
    floor_seconds: float
    floor_cpu: float
    requests_vs_minimum: float  # the device furthest above its paged minimum
    object_gets: int

    @property
    def ratio(self) -> float:
        return self.poll_seconds / self.floor_seconds


class Floor:
    """Replays recorded polls (`replay`) with one plain httpx client per device."""

    def __init__(
        self, sent: Mapping[str, list[Sent]], ca_file: Path, concurrency: int, timeout: float
    ) -> None:
        self._sent = {device: list(requests) for device, requests in sent.items()}
        self._concurrency = concurrency
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        verify = ca_context(ca_file)
        self._clients = {
            device: httpx.Client(verify=verify, limits=limits, timeout=timeout)
            for device in self._sent
        }
        self._pools = {
            device: ThreadPoolExecutor(concurrency, thread_name_prefix=f"floor-{device}")
            for device in self._sent
        }
        self.replay()  # opens the connections, as a warm poll finds them open

    def _one(self, client: httpx.Client, sent: Sent) -> int:
        response = client.request(
            sent.method, sent.url, headers=dict(sent.headers), content=sent.content or None
        )
        response.raise_for_status()
        json.loads(response.content)
        return len(response.content)

    def replay(self) -> Replay:
        """Every device's requests once, `f5Concurrency` at a time per device, the devices
        in parallel; raises when a request fails (the floor must read what the poll read)."""
        started, cpu = time.perf_counter(), time.process_time()
        futures = [
            self._pools[device].submit(self._one, self._clients[device], sent)
            for device, requests in self._sent.items()
            for sent in requests
        ]
        size = sum(f.result() for f in futures)
        return Replay(time.perf_counter() - started, time.process_time() - cpu, len(futures), size)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.shutdown(wait=True)
        for client in self._clients.values():
            client.close()


Cycle = Callable[[str], Mapping[str, tuple[F5State | None, SourceStatus]]]


def measure(
    cycle: Cycle,
    sources: Mapping[str, F5Source],
    recorders: Mapping[str, Recorder],
    minimum: Mapping[str, int],
    cfg: Config,
    rounds: int,
) -> list[FloorRow]:
    """A warm poll (`cycle(label)`: every source polled, in parallel) recorded, then
    `rounds` times a warm poll and the floor right after it: first as the daemon polls,
    unchanged pages reused, then with every page parsed (`F5Source.forget` before each)."""
    for recorder in recorders.values():
        recorder.recording = True
    cycle("warm")
    sent = {name: r.take() for name, r in recorders.items()}
    ca_file = cfg.bigip[0].ca_file
    assert ca_file is not None
    floor = Floor(sent, ca_file, cfg.poll.f5_concurrency, cfg.poll.timeout.total_seconds())
    collections = (*next(iter(sources.values())).collections(), DEVICES, SYNC_STATUS)
    rows: list[FloorRow] = []
    try:
        for pages in ("reused", "parsed"):
            for _ in range(rounds):
                if pages == "parsed":
                    for source in sources.values():
                        source.forget()
                started, cpu = time.perf_counter(), time.process_time()
                results = cycle(f"warm, pages {pages}")
                seconds, poll_cpu = time.perf_counter() - started, time.process_time() - cpu
                polled = [s for r in recorders.values() for s in r.take()]
                replay = floor.replay()
                rows.append(
                    FloorRow(
                        pages,
                        seconds,
                        poll_cpu,
                        replay.seconds,
                        replay.cpu_seconds,
                        max(
                            sum(st.requests.values()) / minimum[n] for n, (_, st) in results.items()
                        ),
                        object_gets(polled, collections),
                    )
                )
    finally:
        floor.close()
        for recorder in recorders.values():
            recorder.recording = False
    return rows


def lines(rows: list[FloorRow]) -> list[str]:
    """The warm polls against the floor, as Markdown."""
    out = [
        "| pages | poll (s) | floor (s) | poll / floor | poll CPU (s) | floor CPU (s)"
        " | requests / paged minimum | per-object GETs |",
        "|---|---|---|---|---|---|---|---|",
    ]
    out += [
        f"| {r.pages} | {r.poll_seconds:.2f} | {r.floor_seconds:.2f} | {r.ratio:.2f}"
        f" | {r.poll_cpu:.2f} | {r.floor_cpu:.2f} | {r.requests_vs_minimum:.3f}"
        f" | {r.object_gets} |"
        for r in rows
    ]
    return out
