"""The full-cycle benchmark's probes: timing wrappers around the parts of a real `Monitor`.

- `Timer`: seconds per part of the current cycle (thread-safe), each part optionally
  under cProfile; `polls` keeps each source's (start, end);
- `TimedPoller`: a source whose `poll()` is timed, otherwise the source itself;
- `TimedStore`: the `StateStore` whose `advance` (the snapshot) is timed;
- `TimedChecks`: the `CheckRunner` whose `run` (the checks) is timed;
- `instrumented(timer)`: `monitor.daemon.cycle`'s `remember`, `plan_rotation` and `save`
  timed, patched for the duration of a `with` block only;
- `Publisher`: the daemon's publication (`monitor.web.server.Published.of`), part by part,
  each document with its gzip copy; `published` is the last one, to serve;
- `GcClock`: the seconds the garbage collector ran, and its full collections.
`PHASES` names the parts in the order they are reported.
"""

from __future__ import annotations

import contextlib
import cProfile
import gc
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import monitor.daemon.cycle as cycle_module
from monitor.checks import CHECKS, CheckRunner
from monitor.config.schema import Config
from monitor.daemon.cycle import configured_sources
from monitor.model import CheckResult, Observed
from monitor.render import exposition
from monitor.render.findings import findings_json
from monitor.render.page import page_document
from monitor.render.parts import Document
from monitor.render.rotation import rotation_document
from monitor.state.snapshot import ProcessStatus, Snapshot, StateStore
from monitor.web.server import Published

T = TypeVar("T")
# Parts of a cycle in the order reported; "polls" is the wall time until every source
# answered (they run in parallel), "other" what the cycle spent outside the named parts.
PHASES = (
    "polls",
    "checks",
    "rotation",
    "snapshot",
    "metrics",
    "page",
    "findings_json",
    "rotation_json",
    "state_file",
    "other",
)
PATCHED = {
    "remember": "rotation",
    "plan_rotation": "rotation",
    "save": "state_file",
}


class Timer:
    """Seconds per part of the current cycle (thread-safe), optionally under cProfile:
    `phases` wall time, `cpu` the CPU time of the thread that ran the part (what the part
    cost, whatever else the machine was doing)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.phases: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.polls: dict[str, tuple[float, float]] = {}  # source → (start, end)
        self.profiling = False
        self.profiles: list[cProfile.Profile] = []

    def reset(self) -> None:
        with self._lock:
            self.phases, self.cpu, self.polls = {}, {}, {}

    def call(self, phase: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        profile = cProfile.Profile() if self.profiling else None
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            if profile is None:
                return fn(*args, **kwargs)
            return profile.runcall(fn, *args, **kwargs)
        finally:
            elapsed = time.perf_counter() - started
            used = time.thread_time() - cpu
            with self._lock:
                self.phases[phase] = self.phases.get(phase, 0.0) + elapsed
                self.cpu[phase] = self.cpu.get(phase, 0.0) + used
                if profile is not None:
                    self.profiles.append(profile)

    def wrap(self, phase: str, fn: Callable[..., T]) -> Callable[..., T]:
        def timed(*args: Any, **kwargs: Any) -> T:
            return self.call(phase, fn, *args, **kwargs)

        return timed

    def poll(self, source: str, fn: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return self.call(f"poll {source}", fn)
        finally:
            with self._lock:
                self.polls[source] = (started, time.perf_counter())


class GcClock:
    """Seconds the garbage collector ran (in any thread) and full collections, since reset."""

    def __init__(self) -> None:
        self.seconds, self.full, self._started = 0.0, 0, 0.0
        gc.callbacks.append(self._callback)

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
            return
        self.seconds += time.perf_counter() - self._started
        self.full += info.get("generation") == 2

    def reset(self) -> None:
        self.seconds, self.full = 0.0, 0

    def close(self) -> None:
        gc.callbacks.remove(self._callback)


class TimedPoller:
    """A source with its `poll()` timed; otherwise the source itself."""

    def __init__(self, inner: Any, timer: Timer, name: str) -> None:
        self._inner, self._timer, self.name = inner, timer, name

    def poll(self) -> Any:
        return self._timer.poll(self.name, self._inner.poll)

    def close(self) -> None:
        self._inner.close()


class TimedChecks(CheckRunner):
    """The monitor's `CheckRunner` with its `run` timed (its memory is its own)."""

    def __init__(self, timer: Timer) -> None:
        super().__init__(CHECKS)
        self._timer = timer

    def run(self, cfg: Config, observed: Observed, now: datetime, **kw: Any) -> CheckResult:
        return self._timer.call("checks", super().run, cfg, observed, now, **kw)


class TimedStore(StateStore):
    def __init__(self, timer: Timer) -> None:
        super().__init__()
        self._timer = timer

    def advance(self, *args: Any, **kwargs: Any) -> Snapshot:
        return self._timer.call("snapshot", super().advance, *args, **kwargs)


@contextlib.contextmanager
def instrumented(timer: Timer) -> Iterator[None]:
    """`monitor.daemon.cycle`'s pure steps timed, for the duration of the benchmark only."""
    saved = {name: getattr(cycle_module, name) for name in PATCHED}
    try:
        for name, phase in PATCHED.items():
            setattr(cycle_module, name, timer.wrap(phase, saved[name]))
        yield
    finally:
        for name, fn in saved.items():
            setattr(cycle_module, name, fn)


class Publisher:
    """What the daemon publishes after a cycle (`monitor.web.server.Published.of`), part by part."""

    def __init__(self, cfg: Config, timer: Timer) -> None:
        self._timer = timer
        self._status = ProcessStatus(
            sources=configured_sources(cfg),
            reload_success_at=datetime.now(UTC),
            poll_interval=cfg.poll.interval.total_seconds(),
        )
        self.out: dict[str, Document] = {}
        self.published: Published | None = None

    def __call__(self, snapshot: Snapshot) -> None:
        snap = replace(snapshot, process=self._status)
        call = self._timer.call
        docs = {
            "metrics": call("metrics", _made, exposition.document, snap),
            "page": call("page", _made, page_document, snap),
            "findings_json": call("findings_json", _made, findings_json, snap),
            "rotation_json": call(
                "rotation_json",
                _made,
                lambda s: Document.plain(json.dumps(rotation_document(s), indent=2).encode()),
                snap,
            ),
        }
        self.out = docs
        self.published = Published(
            snap, docs["metrics"], docs["findings_json"], docs["page"], docs["rotation_json"], True
        )


def _made(render: Callable[[Snapshot], Document], snapshot: Snapshot) -> Document:
    """A document and its gzip copy, as `Published.of` makes them."""
    document = render(snapshot)
    document.gzip()
    return document
