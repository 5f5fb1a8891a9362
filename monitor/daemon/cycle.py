"""One poll-check-publish cycle: `Monitor`, and `check_once` for the one-shot commands.

`Monitor.cycle` polls the BIG-IP devices, Kubernetes and the identity providers
concurrently, each poll contained and awaited no longer than the cycle's deadline
(`monitor.daemon.polls`: a source whose poll raised or did not end is down, the others are
not), runs the pure checks (one that raised is `unknown`, and logged here; a `CheckRunner`
that reuses last cycle's outcomes where their inputs are the same), plans the trust-anchor
rotation (`monitor.rotation.plan`, pure), advances the state store (which applies the ignore
rules), hands the snapshot to its `publish` callback, writes the state file when one is
configured (`state.file`), tells its `Collector` (the daemon's: `monitor.daemon.memory`)
and logs one line. `Monitor.abort` (shutdown) ends the wait for the sources at once;
`Monitor.close` closes the sources within `CLOSE_GRACE`. `Monitor.reconfigure` swaps in a
reloaded config, rebuilding only the sources whose settings changed
(`monitor.daemon.reload.plan_reload`). The daemon around it (scheduling, leadership,
reloads, HTTP) is `monitor.daemon.serve`.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from monitor.checks import CHECKS, CheckRunner
from monitor.config.schema import BigIPConfig, Config
from monitor.daemon.lines import cycle_line, log_rotation_changes
from monitor.daemon.memory import Collector
from monitor.daemon.polls import Polls, deadline
from monitor.daemon.reload import ReloadPlan, plan_reload
from monitor.model import CheckResult, F5State, IdpState, MeshState, Observed, SourceStatus
from monitor.rotation.plan import plan_rotation, remember
from monitor.sources.errors import FailureLog
from monitor.sources.mesh.build import unread_state
from monitor.state.file import load, save
from monitor.state.snapshot import Snapshot, StateStore, next_snapshot

log = logging.getLogger(__name__)
_CHECK_FAILED = (
    "check %s on boundary %s failed with an unexpected %s; it is unknown while it does%s"
)

CLOSE_GRACE = 1.5  # seconds closing the sources may take (token deletion): then abandoned


class F5Poller(Protocol):
    name: str

    def poll(self) -> tuple[F5State | None, SourceStatus]: ...

    def close(self) -> None: ...


class MeshPoller(Protocol):
    def poll(self) -> tuple[MeshState, SourceStatus]: ...

    def close(self) -> None: ...


class OidcPoller(Protocol):
    name: str

    def poll(self) -> tuple[IdpState | None, SourceStatus]: ...

    def close(self) -> None: ...


Clock = Callable[[], datetime]
MakeF5 = Callable[[BigIPConfig, Config], F5Poller]
MakeMesh = Callable[[Config], MeshPoller]
MakeOidc = Callable[[Config], Sequence[OidcPoller]]


def utc_now() -> datetime:
    return datetime.now(UTC)


def real_f5(device: BigIPConfig, cfg: Config) -> F5Poller:
    from monitor.sources.f5.source import F5Source

    return F5Source(device, cfg)


def real_mesh(cfg: Config) -> MeshPoller:
    from monitor.sources.mesh.source import MeshSource

    return MeshSource(cfg)


def real_oidc(cfg: Config) -> Sequence[OidcPoller]:
    from monitor.sources.oidc import OidcSource

    return [OidcSource(idp, cfg) for idp in cfg.identity_providers]


def configured_sources(cfg: Config) -> tuple[tuple[str, str], ...]:
    """(kind, name) of every source `cfg` polls, in poll order."""
    return (
        *(("bigip", d.name) for d in cfg.bigip),
        ("kubernetes", "kubernetes"),
        *(("oidc", idp.source) for idp in cfg.identity_providers),
    )


class Monitor:
    """One configured monitor: its sources, its state, and what it publishes."""

    def __init__(
        self,
        cfg: Config,
        f5: Sequence[F5Poller],
        mesh: MeshPoller,
        clock: Clock = utc_now,
        publish: Callable[[Snapshot], None] = lambda snapshot: None,
        state_file: Path | None = None,
        persist: bool = True,
        *,
        make_f5: MakeF5 = real_f5,
        make_mesh: MakeMesh = real_mesh,
        oidc: Sequence[OidcPoller] | None = None,
        make_oidc: MakeOidc = real_oidc,
        collector: Collector | None = None,
    ) -> None:
        """`state_file`: read at start; written after each cycle when `persist` (the daemon;
        `check` and `rotation` only read it). `make_f5`, `make_mesh`, `make_oidc` build the
        sources a reload adds or rebuilds; `oidc`: the identity-provider sources (default:
        `make_oidc(cfg)`). `collector`: told after each cycle (the daemon's,
        `monitor.daemon.memory`)."""
        self.cfg = cfg
        self._f5 = tuple(f5)
        self._mesh = mesh
        self._clock = clock
        self._publish = publish
        self._make_f5, self._make_mesh, self._make_oidc = make_f5, make_mesh, make_oidc
        self._oidc = tuple(make_oidc(cfg) if oidc is None else oidc)
        self._collector = collector
        self.store = StateStore()
        # the checks, reusing last cycle's outcomes where their inputs did not change
        self.checks = CheckRunner(CHECKS)
        self._polls = Polls()
        self._check_failures = FailureLog(log, _CHECK_FAILED)  # (check, boundary, type)
        self._state_file = state_file
        self._persist_wanted = persist
        self._persist = persist and state_file is not None
        self._save_failing = False
        self._expired_logged: set[int] = set()
        restored = load(state_file, clock()) if state_file is not None else None
        if restored is not None and restored.warning:
            log.warning(restored.warning)
        elif restored is not None and restored.taken_at is not None:
            log.info(
                "state file %s: %d remembered findings from %s",
                state_file,
                len(restored.seen),
                restored.taken_at.isoformat(),
            )
        self._restored = restored.seen if restored is not None else None
        self._rotation_memory = restored.rotation if restored is not None else None

    def cycle(self) -> Snapshot:
        started = time.monotonic()
        cfg, limit = self.cfg, deadline(self.cfg.poll.interval)
        mesh = self._polls.start(
            "kubernetes", "kubernetes", self._mesh.poll, functools.partial(unread_state, cfg)
        )
        f5 = [self._polls.start(p.name, "bigip", p.poll, _nothing) for p in self._f5]
        idps = [self._polls.start(p.name, "oidc", p.poll, _nothing) for p in self._oidc]
        self._polls.wait([mesh, *f5, *idps], limit)
        states: dict[str, F5State] = {}
        statuses: list[SourceStatus] = []
        for pending in f5:
            state, status = pending.outcome(limit)
            statuses.append(status)
            if state is not None:
                states[pending.source] = state
        mesh_state, mesh_status = mesh.outcome(limit)
        statuses.append(mesh_status)
        published: dict[str, IdpState] = {}
        for poller, pending_idp in zip(self._oidc, idps, strict=True):
            idp_state, idp_status = pending_idp.outcome(limit)
            statuses.append(idp_status)
            if idp_state is not None:
                published[poller.name.removeprefix("oidc:")] = idp_state
        observed = Observed(f5=states, mesh=mesh_state, sources=tuple(statuses), idp=published)
        now = self._clock()
        previous = self.store.current()
        result = self.checks.run(self.cfg, observed, now, memory=self._first_seen(previous))
        self._log_check_failures(result)
        self._rotation_memory = remember(self._rotation_memory, observed, now)
        snapshot = self.store.advance(
            functools.partial(
                next_snapshot,
                observed=observed,
                result=result,
                now=now,
                duration_seconds=time.monotonic() - started,
                ignore=self.cfg.ignore,
                restored=self._restored,
                rotation=plan_rotation(self.cfg, observed, self._rotation_memory),
                rotation_memory=self._rotation_memory,
                config=self.cfg,
            )
        )
        self._publish(snapshot)
        log.info(cycle_line(snapshot))
        log_rotation_changes(previous, snapshot)
        self._log_expired_ignores(snapshot)
        self._save(snapshot)
        if self._collector is not None:
            self._collector.cycled()
        return snapshot

    def _first_seen(self, previous: Snapshot | None) -> dict[tuple[str, str, str, str], datetime]:
        """When each finding so far was first seen: the debounced checks' memory (the
        previous snapshot's, or at start the state file's)."""
        seen = previous.seen if previous is not None else (self._restored or {})
        return {key: entry.first for key, entry in seen.items()}

    def reconfigure(self, cfg: Config) -> ReloadPlan:
        """Run with `cfg` from the next cycle on (not during one: the caller serializes);
        only the sources whose settings changed are closed and built again."""
        plan = plan_reload(self.cfg, cfg)
        by_name = {poller.name: poller for poller in self._f5}
        close_all([by_name.pop(name) for name in (*plan.rebuilt, *plan.removed)])
        self._polls.forget((*plan.rebuilt, *plan.removed))
        for name in (*plan.rebuilt, *plan.added):
            by_name[name] = self._make_f5(cfg.device(name), cfg)
        self._f5 = tuple(by_name[device.name] for device in cfg.bigip)
        if plan.mesh:
            close_all([self._mesh])
            self._polls.forget(("kubernetes",))
            self._mesh = self._make_mesh(cfg)
        if cfg.identity_providers != self.cfg.identity_providers or cfg.poll != self.cfg.poll:
            close_all(list(self._oidc))
            self._polls.forget(tuple(p.name for p in self._oidc))
            self._oidc = tuple(self._make_oidc(cfg))
        self._state_file = cfg.state.file
        self._persist = self._persist_wanted and cfg.state.file is not None
        self.cfg = cfg
        return plan

    def _log_check_failures(self, result: CheckResult) -> None:
        """Once per (check, boundary, exception type) while it keeps failing: a check that
        raised (it is `unknown`); the stack, without the exception's message, at debug."""
        now: dict[tuple[str, ...], BaseException] = {}
        for failed in result.failures:
            key = (failed.check, failed.boundary, type(failed.error).__name__)
            now.setdefault(key, failed.error)
        self._check_failures.failing(now)

    def _log_expired_ignores(self, snapshot: Snapshot) -> None:
        """Once per rule and process: an ignore rule whose `until` passed matches again."""
        for tracked in snapshot.findings:
            match = tracked.ignore
            if match is None or match.active or match.rule in self._expired_logged:
                continue
            self._expired_logged.add(match.rule)
            until = match.until.isoformat() if match.until else "?"
            f = tracked.finding
            log.warning(
                "ignore[%d] (%s) expired on %s: %s on %s %s is reported again",
                match.rule,
                match.reason,
                until,
                f.check,
                f.boundary,
                f.object,
            )

    def _save(self, snapshot: Snapshot) -> None:
        if not self._persist or self._state_file is None:
            return
        try:
            save(self._state_file, snapshot)
        except OSError as err:
            if not self._save_failing:
                log.warning(
                    "cannot write state file %s (%s); first-seen times will not survive a"
                    " restart until it can be written",
                    self._state_file,
                    err.strerror or err,
                )
            self._save_failing = True
            return
        if self._save_failing:
            log.info("state file %s written again", self._state_file)
        self._save_failing = False

    def safe_cycle(self) -> bool:
        """A cycle for the scheduler: a bug in one cycle is logged, the next one still runs.
        Whether the cycle completed."""
        try:
            self.cycle()
        except Exception:
            log.exception("cycle failed unexpectedly; the next cycle will run as scheduled")
            return False
        return True

    def abort(self) -> None:
        """Shutdown: a cycle waiting for its sources stops waiting at once (those still
        polling are reported down) and completes; no later cycle waits."""
        self._polls.abort()

    def close(self) -> None:
        """Close every source (tokens deleted, watches stopped) within `CLOSE_GRACE`."""
        close_all([*self._f5, self._mesh, *self._oidc])


def _nothing() -> None:
    return None


def close_all(
    sources: Sequence[F5Poller | MeshPoller | OidcPoller], grace: float = CLOSE_GRACE
) -> None:
    """Close `sources` at once, each on a daemon thread; those not done within `grace`
    (a logout to a device that does not answer, a close waiting for a stuck read) are
    abandoned, never waited for."""
    threads = []
    for source in sources:
        thread = threading.Thread(target=_close, args=(source,), name="close", daemon=True)
        thread.start()
        threads.append((source, thread))
    end = time.monotonic() + grace
    for source, thread in threads:
        thread.join(max(0.0, end - time.monotonic()))
        if thread.is_alive():
            log.info("%s: closing did not finish within %.1fs; abandoned", _name(source), grace)


def _close(source: F5Poller | MeshPoller | OidcPoller) -> None:
    try:
        source.close()
    except Exception as err:
        log.warning("%s: closing failed with an unexpected %s", _name(source), type(err).__name__)


def _name(source: F5Poller | MeshPoller | OidcPoller) -> str:
    return str(getattr(source, "name", "kubernetes"))


def build_monitor(
    cfg: Config,
    publish: Callable[[Snapshot], None] = lambda s: None,
    persist: bool = True,
    collector: Collector | None = None,
) -> Monitor:
    """A Monitor with the real sources for `cfg` (`persist`: write the state file)."""
    return Monitor(
        cfg,
        [real_f5(device, cfg) for device in cfg.bigip],
        real_mesh(cfg),
        publish=publish,
        state_file=cfg.state.file,
        persist=persist,
        collector=collector,
    )


def daemon_monitor(cfg: Config, publish: Callable[[Snapshot], None]) -> Monitor:
    """The daemon's Monitor: `build_monitor` with the collector pace of
    `monitor.daemon.memory` (a cycle after another, for as long as the process runs)."""
    return build_monitor(cfg, publish, collector=Collector())


def check_once(cfg: Config) -> Snapshot:
    """One cycle with the real sources, then close them (tokens deleted): `check` and
    `rotation`. The cycle is the daemon's: a source still polling at its deadline is down
    (`timeout`) and its poll abandoned, like one at shutdown (a failure it ends with, its
    source closed under it, is not reported). The state file is read, never written."""
    monitor = build_monitor(cfg, persist=False)
    try:
        return monitor.cycle()
    finally:
        monitor.abort()
        monitor.close()
