"""Reloading the config file while the daemon runs: on SIGHUP, and when the file changes.

Owns
- `ConfigFile`: the config file and what was last loaded from it. `check()` looks at the
  file's stat (device, inode, size, mtime: a Kubernetes ConfigMap update swaps a symlink,
  which changes the inode) and, when it changed and the content differs from the last
  attempt, loads it; `check(force=True)` (SIGHUP) always loads it. An invalid file is
  logged as one line (`config reload failed, keeping the previous config: FILE: PATH:
  MESSAGE`) and the previous config stays in force; `successful` and `success_at` feed
  `f5_linkerd_config_last_reload_successful` and `..._success_timestamp_seconds`. A file
  that stays broken is reported once, not every cycle.
- `plan_reload(old, new)`: what a new config changes for the sources (pure). A source is
  rebuilt only when the settings it reads changed, so a reload does not drop BIG-IP tokens
  or Kubernetes watches needlessly: a BIG-IP source reads its `bigip[]` entry, `poll` and
  the boundaries on that device; the Kubernetes source reads `mesh`, `poll.timeout` and the
  boundaries' backend Services. Changes of `server`, `leaderElection` and `alertmanager`
  apply only after a restart (logged as such); everything else (thresholds, ignore rules,
  boundaries, state file) applies from the next cycle.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.config.files import CONFIG_LIMIT, read_limited
from monitor.config.schema import BigIPConfig, Config, ConfigError, load_config
from monitor.sources.mesh.specs import backends

log = logging.getLogger(__name__)

Stamp = tuple[int, int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)  # follows symlinks: the file a ConfigMap's symlinks point at
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _digest(path: Path) -> str:
    try:
        return hashlib.sha256(read_limited(path, CONFIG_LIMIT)).hexdigest()
    except OSError as err:
        return f"unreadable: {err.errno}"


class ConfigFile:
    """The config file in force (module docstring); not thread-safe: one caller at a time."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        load: Callable[[Path], Config] = load_config,
    ) -> None:
        """`path` was just loaded successfully (at start)."""
        self.path = path
        self._clock, self._load = clock, load
        self._stamp = _stamp(path)
        self._digest = _digest(path)
        self.successful = True
        self.success_at: datetime = clock()

    def check(self, force: bool = False) -> Config | None:
        """The new config when the file changed (or `force`) and is valid; else None."""
        stamp = _stamp(self.path)
        if not force and stamp == self._stamp:
            return None
        self._stamp = stamp
        digest = _digest(self.path)
        if not force and digest == self._digest:
            return None  # touched, or changed back to what was last tried
        self._digest = digest
        try:
            cfg = self._load(self.path)
        except ConfigError as err:
            self.successful = False
            log.error("config reload failed, keeping the previous config: %s: %s", self.path, err)
            return None
        self.successful = True
        self.success_at = self._clock()
        return cfg


@dataclass(frozen=True, slots=True)
class ReloadPlan:
    """What a new config means for the running sources (BIG-IP sources by device name)."""

    kept: tuple[str, ...] = ()
    rebuilt: tuple[str, ...] = ()  # their settings changed: closed and built again
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    mesh: bool = False  # the Kubernetes source is rebuilt
    restart: tuple[str, ...] = ()  # changed sections that apply only after a restart
    interval: bool = False  # poll.interval changed: the schedule changes

    def summary(self) -> str:
        """`BIG-IP bigip-c added; bigip-a rebuilt; bigip-b kept; Kubernetes kept`."""
        parts = [
            f"BIG-IP {', '.join(names)} {verb}"
            for names, verb in (
                (self.added, "added"),
                (self.removed, "removed"),
                (self.rebuilt, "rebuilt"),
                (self.kept, "kept"),
            )
            if names
        ]
        parts.append(f"Kubernetes {'rebuilt' if self.mesh else 'kept'}")
        return "; ".join(parts)


def f5_settings(cfg: Config, device: BigIPConfig) -> object:
    """Everything a BIG-IP source reads from the config."""
    return (
        device,
        cfg.poll,
        tuple(b for b in cfg.boundaries if device.name in b.devices),
        tuple(i.oauth_provider for i in cfg.identity_providers if device.name in i.devices),
    )


def mesh_settings(cfg: Config) -> object:
    """Everything the Kubernetes source reads from the config."""
    return (cfg.mesh, cfg.poll.timeout, backends(cfg))


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    before = {d.name: d for d in old.bigip}
    after = {d.name: d for d in new.bigip}
    kept: list[str] = []
    rebuilt: list[str] = []
    for name, device in after.items():
        if name in before:
            same = f5_settings(old, before[name]) == f5_settings(new, device)
            (kept if same else rebuilt).append(name)
    restart = [
        section
        for section, changed in (
            ("server", old.server != new.server),
            ("leaderElection", old.leader_election != new.leader_election),
            ("alertmanager", old.alertmanager != new.alertmanager),
        )
        if changed
    ]
    return ReloadPlan(
        kept=tuple(kept),
        rebuilt=tuple(rebuilt),
        added=tuple(name for name in after if name not in before),
        removed=tuple(name for name in before if name not in after),
        mesh=mesh_settings(old) != mesh_settings(new),
        restart=tuple(restart),
        interval=old.poll.interval != new.poll.interval,
    )
