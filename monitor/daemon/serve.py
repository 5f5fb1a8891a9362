"""The daemon: schedule the cycles, follow leadership and config reloads, serve HTTP.

`serve` runs `Daemon.tick` on an APScheduler 3 interval job (coalesced, never two at
once): the tick reloads the config file when it changed (`monitor.daemon.reload`), then, on the
leader only (`monitor.daemon.leader`; always without leader election), runs one cycle of the
`Monitor` (`monitor.daemon.cycle`). A follower keeps no sources open and publishes no snapshot:
its `/metrics` has build info, `f5_linkerd_leader 0` and the reload gauges, and its
`/api/findings` is empty; a replica that loses leadership withdraws its snapshot at once
and starts afresh (state file, counters at 0) when it leads again. Every publication
renders the exposition text once, with the process status (`ProcessStatus`); with
`alertmanager:` configured, the leader's snapshots also go to `monitor.alerts.push`. SIGHUP
reloads the config at once.

SIGTERM/SIGINT stop the daemon within `SHUTDOWN` seconds, even mid-poll: a cycle waiting
for its sources stops waiting (those still polling are reported down, the cycle completes
and writes the state file), the scheduler is shut down without waiting, the sources are
closed (tokens deleted) within `monitor.daemon.cycle.CLOSE_GRACE`, then the lease is
released and the last alerts pushed, both best-effort within short bounds; the `run`
command then exits without waiting for a request nothing can interrupt
(`monitor.daemon.stopping.abandon_stuck_threads`).

Liveness (`Daemon.liveness`, served on `/healthz`): the replica that should be polling (the
leader, or the only replica) fails it once no cycle has completed for `STUCK_INTERVALS`
poll intervals (counted from the start, or from when it became the leader); a follower's
follows its election loop (`LeaseElector.liveness`). Kubernetes then restarts a daemon that
is stuck.
With `--shard i/N` (`monitor.daemon.shard`) the daemon runs on the shard's part of the config, at
start and after every reload, and competes for the shard's own Lease.
"""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.alerts.push import AlertPusher
from monitor.config.durations import format_duration
from monitor.config.schema import Config, ConfigError
from monitor.daemon.cycle import (
    Clock,
    Monitor,
    configured_sources,
    daemon_monitor,
    utc_now,
)
from monitor.daemon.memory import tune_process
from monitor.daemon.reload import ConfigFile, plan_reload
from monitor.daemon.shard import Shard, describe, shard_config
from monitor.daemon.stopping import stop_on_signals
from monitor.render import exposition
from monitor.state.snapshot import ProcessStatus, PushStats, Snapshot
from monitor.web.server import Published, WebServer

__all__ = ["Daemon", "log_shard", "serve", "stop_on_signals"]

log = logging.getLogger(__name__)

STUCK_INTERVALS: Final = 3  # poll intervals without a completed cycle: liveness fails
SHUTDOWN: Final = 4.0  # seconds from SIGTERM to the end of `serve`, at most
CYCLE_GRACE: Final = 1.5  # seconds an aborted cycle gets to complete (checks, state file)
PUSH_GRACE: Final = 0.5  # seconds the Alertmanager push gets for its last send


class Leadership(Protocol):
    """`monitor.daemon.leader.LeaseElector` as the daemon sees it."""

    holder: str  # the lease holder last seen

    @property
    def is_leader(self) -> bool: ...

    def liveness(self) -> str | None: ...


class Daemon:
    """What `serve` runs (module docstring): the config in force, the monitor while this
    replica leads, and what is published. `tick`, `reload` and `follow` serialize on one
    lock; `leadership_changed` and the monitor's publications only take the short
    publication lock, so the elector's thread never waits for a cycle."""

    def __init__(
        self,
        cfg: Config,
        publish: Callable[[Published], None],
        *,
        config_file: ConfigFile | None = None,
        leadership: Leadership | None = None,
        build: Callable[[Config, Callable[[Snapshot], None]], Monitor] = daemon_monitor,
        on_cycle: Callable[[Snapshot], None] | None = None,
        reschedule: Callable[[float], None] = lambda seconds: None,
        clock: Clock = utc_now,
        push_stats: Callable[[], PushStats] | None = None,
        shard: Shard | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        """`cfg`: with `shard`, already the shard's part (`shard_config`); a reloaded
        config is cut down the same way. `monotonic`: the clock of liveness."""
        self.cfg = cfg
        self.shard = shard
        self._publish, self._on_cycle, self._reschedule = publish, on_cycle, reschedule
        self._file, self.leadership, self._build = config_file, leadership, build
        self._started = clock()
        self._push_stats = push_stats
        self._lock = threading.Lock()  # cycles, reloads, starting and stopping the monitor
        self._out = threading.Lock()  # publications
        self.monitor: Monitor | None = None
        self._monotonic = monotonic
        self._progress = monotonic()  # the last completed cycle (or start, or leading since)
        self._stopping = threading.Event()

    def leading(self) -> bool:
        return self.leadership is None or self.leadership.is_leader

    def status(self) -> ProcessStatus:
        leading = self.leading()
        return ProcessStatus(
            sources=configured_sources(self.cfg) if leading else (),
            leader=leading,
            leader_election=self.leadership is not None,
            holder=self.leadership.holder if self.leadership is not None else "",
            reload_successful=self._file.successful if self._file else True,
            reload_success_at=self._file.success_at if self._file else self._started,
            poll_interval=self.cfg.poll.interval.total_seconds(),
            push=self._push_stats() if self._push_stats is not None else None,
        )

    def tick(self) -> None:
        """The scheduled job: reload a changed config file; on the leader, one cycle."""
        with self._lock:
            if self._stopping.is_set():
                return
            self._reload(force=False)
            if not self.leading():
                self._stop_monitor("not the leader")
                self._progress = self._monotonic()
                return
            if self.monitor is None:
                self.monitor = self._build(self.cfg, self._cycled)
            if self._stopping.is_set():  # `abort` came while the monitor was being built
                return
            if self.monitor.safe_cycle():
                self._progress = self._monotonic()

    def liveness(self) -> str | None:
        """Why this replica should be restarted, or None (module docstring). Never blocks:
        `/healthz` asks it while a cycle may hold the lock."""
        if self.leadership is not None and not self.leading():
            return self.leadership.liveness()
        interval = self.cfg.poll.interval.total_seconds()
        idle = self._monotonic() - self._progress
        if idle <= STUCK_INTERVALS * interval:
            return None
        return (
            f"no cycle completed for {idle:.0f}s (more than {STUCK_INTERVALS} poll intervals"
            f" of {interval:.0f}s)"
        )

    def abort(self) -> None:
        """Shutdown: no cycle starts any more, and one waiting for its sources stops
        waiting (it completes without them). Never blocks."""
        self._stopping.set()
        monitor = self.monitor
        if monitor is not None:
            monitor.abort()

    def reload(self) -> None:
        """SIGHUP: load the config file now (waits for a running cycle)."""
        with self._lock:
            self._reload(force=True)

    def follow(self) -> None:
        """Leadership lost: close the sources, forget the state (waits for a running cycle)
        and publish the follower's view."""
        with self._lock:
            if not self.leading():
                self._stop_monitor("not the leader")
        self.republish()

    def leadership_changed(self, leading: bool) -> None:
        """From the elector's thread: publish the new view at once (never blocks long)."""
        if leading:  # the first cycle as the leader is due within STUCK_INTERVALS from now
            self._progress = self._monotonic()
        self.republish()

    def republish(self) -> None:
        monitor = self.monitor
        with self._out:
            current = monitor.store.current() if monitor is not None else None
            self._emit(current if self.leading() else None)

    def close(self, timeout: float = -1) -> None:
        """Close the sources; waits for a running cycle up to `timeout` seconds (-1: as
        long as it takes), after which they are left as they are."""
        if not self._lock.acquire(timeout=timeout):
            log.warning(
                "the cycle did not complete within %.1fs of stopping; left running", timeout
            )
            return
        try:
            self._stop_monitor("")
        finally:
            self._lock.release()

    def _cycled(self, snapshot: Snapshot) -> None:
        """The monitor's publication: dropped when leadership was lost during the cycle."""
        with self._out:
            if not self.leading():
                return
            self._emit(snapshot)
        if self._on_cycle is not None:
            self._on_cycle(snapshot)

    def _emit(self, snapshot: Snapshot | None) -> None:
        status = self.status()
        if snapshot is not None:
            self._publish(Published.of(replace(snapshot, process=status)))
        elif not status.leader:
            self._publish(Published.follower(exposition.document(None, status), status.holder))
        else:  # a leader before its first cycle
            self._publish(Published.of(None, exposition.document(None, status)))

    def _stop_monitor(self, why: str) -> None:
        if self.monitor is not None:
            self.monitor.close()
            self.monitor = None
            if why:
                log.info("stopped polling (%s); the published snapshot is withdrawn", why)

    def _reload(self, force: bool) -> None:
        if self._file is None:
            return
        was_ok = self._file.successful
        cfg = self._file.check(force)
        if cfg is None:
            if was_ok != self._file.successful:
                self.republish()
            return
        if self.shard is not None:
            cfg = shard_config(cfg, self.shard)
        old = self.cfg
        plan = self.monitor.reconfigure(cfg) if self.monitor else plan_reload(old, cfg)
        self.cfg = cfg
        log.info("config reloaded from %s: %s", self._file.path, plan.summary())
        if self.shard is not None and _owned(old) != _owned(cfg):
            log_shard(cfg, self.shard)
        if plan.restart:
            log.warning("config: %s changed; restart to apply", " and ".join(plan.restart))
        if plan.interval:
            self._reschedule(cfg.poll.interval.total_seconds())
        self.republish()


def _owned(cfg: Config) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(d.name for d in cfg.bigip), tuple(b.name for b in cfg.boundaries)


def log_shard(cfg: Config, shard: Shard) -> None:
    """One line on what the shard owns (`cfg`: its part); a warning when it owns no boundary."""
    log.info(describe(cfg, shard))
    if not cfg.boundaries:
        log.warning("shard %s has nothing to check: no boundary's devices hash to it", shard)


def serve(
    cfg: Config,
    stop: threading.Event | None = None,
    on_cycle: Callable[[Snapshot], None] | None = None,
    config_path: Path | None = None,
    shard: Shard | None = None,
) -> int:
    """Run until SIGTERM/SIGINT (or `stop` is set); returns the exit code.

    `config_path`: the file `cfg` came from, reloaded on SIGHUP and when it changes.
    `shard`: run only this shard's part of `cfg` (and of every reloaded config)."""
    from monitor.daemon.leader import elector_for

    tune_process()
    if shard is not None:
        cfg = shard_config(cfg, shard)
        log_shard(cfg, shard)
    stop = stop or threading.Event()
    wake = threading.Event()
    hup = threading.Event()

    def changed(leading: bool) -> None:  # from the elector's thread
        daemon.leadership_changed(leading)
        wake.set()

    elector = elector_for(cfg, changed) if cfg.leader_election.enabled else None
    if isinstance(elector, str):
        log.error("leader election: %s", elector)
        return 2
    try:
        web = WebServer(cfg.server.listen, cfg.server.web_config)
    except ConfigError as err:
        log.error("server.webConfig: %s", err)
        return 2
    except OSError as err:
        busy = err.errno == errno.EADDRINUSE
        log.error(
            "cannot listen on %s: %s%s",
            cfg.server.listen,
            err.strerror or err,
            "; another process holds the port: set server.listen in the config to another HOST:PORT"
            if busy
            else "",
        )
        return 1
    stop_on_signals(stop, hup, wake)
    scheduler = BackgroundScheduler(timezone=UTC)
    pusher = AlertPusher(cfg.alertmanager) if cfg.alertmanager is not None else None

    def cycled(snapshot: Snapshot) -> None:  # the leader's cycles only
        if pusher is not None:
            pusher.submit(snapshot)
        if on_cycle is not None:
            on_cycle(snapshot)

    daemon = Daemon(
        cfg,
        web.publish,
        config_file=ConfigFile(config_path) if config_path is not None else None,
        leadership=elector,
        on_cycle=cycled,
        reschedule=lambda seconds: scheduler.reschedule_job(
            "cycle", trigger="interval", seconds=seconds
        ),
        push_stats=pusher.stats if pusher is not None else None,
        shard=shard,
    )
    daemon.republish()
    web.liveness = daemon.liveness
    web.start()
    log.info(
        "serving on %s (metrics at /metrics); polling every %s%s",
        cfg.server.listen,
        format_duration(cfg.poll.interval),
        f" while leading (lease {elector.where}, identity {elector.identity})" if elector else "",
    )
    scheduler.add_job(
        daemon.tick,
        "interval",
        seconds=cfg.poll.interval.total_seconds(),
        next_run_time=datetime.now(UTC),
        coalesce=True,
        max_instances=1,
        misfire_grace_time=None,
        id="cycle",
    )
    scheduler.start()
    elector_stop = threading.Event()
    elector_thread = None
    if elector is not None:
        elector_thread = threading.Thread(
            target=elector.run, args=(elector_stop,), name="leader", daemon=True
        )
        elector_thread.start()
    leading = daemon.leading()
    try:
        while not stop.is_set():
            wake.wait(0.5)
            wake.clear()
            if hup.is_set():
                hup.clear()
                daemon.reload()
            if daemon.leading() != leading:
                leading = not leading
                if leading:  # poll now rather than at the next interval
                    scheduler.modify_job("cycle", next_run_time=datetime.now(UTC))
                else:
                    daemon.follow()
    finally:
        stopping = time.monotonic()
        log.info("stopping")
        daemon.abort()
        scheduler.shutdown(wait=False)
        daemon.close(timeout=CYCLE_GRACE)
        elector_stop.set()  # polling stopped: the lease is released on the elector's thread
        if pusher is not None:
            pusher.close(timeout=PUSH_GRACE)
        if elector_thread is not None:
            elector_thread.join(timeout=max(0.0, stopping + SHUTDOWN - 0.5 - time.monotonic()))
        web.stop()
        log.info("stopped in %.1fs", time.monotonic() - stopping)
    return 0
