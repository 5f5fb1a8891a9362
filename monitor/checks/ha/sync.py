"""HA checks: is config sync green, and do the units of an HA pair serve a boundary alike?

Owns `ha_sync_status` of the `ha` family (DESIGN section 5) and `ha_applies`, when
`ha_peer_divergence` applies; the family's registry `CHECKS` is in the package's
`__init__.py`. Both checks apply to every boundary mode.

`ha_sync_status` (each device of the boundary) reads `F5State.sync` without trusting
`status` alone (a real pair says `offline` while in sync): it parses every `details` entry
`<device-group> (<status>): <text>` (also when cut off: `In Sync): …`) and device lines
`<host>: disconnected`. In sync = `color` green and every device-group entry `In Sync`:
pass (noted when `status` disagrees). Otherwise one finding per device group not in sync
(object: its name): Changes Pending, Awaiting Initial Sync → warning; Disconnected, Not All
Devices Synced → critical; other statuses → critical with color red, else warning. What no
named group explains (cut-off entries, a disconnected device, a color worse than the group
findings: red critical, other non-green warning) is one finding with object `sync-status`.
Mode standalone passes, unless the device is configured in an `haGroup` with others
(warning). No `sync` or no `color` → unknown for that device.

The comparison of the two units lives in `divergence`.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.checks.outcome import PASS, Drift, Evidence, Outcome, Unknown
from monitor.checks.resolve import Device, per_device
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, SyncStatus

SYNC_STATUS: Final = "cm/sync-status"
SYNC_OBJECT: Final = "sync-status"  # object of findings no device group explains

# --- ha_sync_status ---------------------------------------------------------------------------

_GROUP_ENTRY = re.compile(r"^\s*(?P<group>[^()]*?)\s*\((?P<status>[^()]+)\):")  # group (status): …
_TRUNCATED_ENTRY = re.compile(r"^\s*(?P<status>[^():]+)\):")  # status): … (cut off)
_DEVICE_LINE = re.compile(r"^\s*(?P<host>[^\s():]+):\s*(?P<state>\S.*?)\s*$")
_STATUS_SEVERITY: Final[Mapping[str, Severity]] = {
    "changes pending": "warning",
    "awaiting initial sync": "warning",
    "disconnected": "critical",
    "not all devices synced": "critical",
}
_COLOR_SEVERITY: Final[Mapping[str, Severity | None]] = {"green": None, "red": "critical"}
_RANK: Final[Mapping[Severity | None, int]] = {None: 0, "warning": 1, "critical": 2}
_WHY: Final[Mapping[str, str]] = {
    "disconnected": "the units cannot reach each other to sync config: after a failover the"
    " peer serves whatever it last received, which may be different trust settings",
    "not all devices synced": "some units did not receive the last sync: the pair may serve"
    " different trust settings after a failover",
    "warning": "config changed on one unit and not synced: the pair may serve different trust"
    " settings after a failover",
    "critical": "config sync is failing: the pair may serve different trust settings after a"
    " failover",
}
_RELINK: Final = "restore the ConfigSync link (configsync address, device trust), then"


def parse_details(details: tuple[str, ...]) -> tuple[tuple[tuple[str, str], ...], tuple[str, ...]]:
    """The (device group, status) of each device-group entry of `details` (group "" when cut
    off), and the hosts a device line says are disconnected."""
    entries: list[tuple[str, str]] = []
    disconnected: list[str] = []
    for line in details:
        if match := _GROUP_ENTRY.match(line) or _TRUNCATED_ENTRY.match(line):
            entries.append((match.groupdict().get("group") or "", match["status"].strip()))
        elif (device := _DEVICE_LINE.match(line)) and device["state"].casefold() == "disconnected":
            disconnected.append(device["host"])
    return tuple(entries), tuple(disconnected)


def _grade(status: str, color: str) -> Severity:
    return _STATUS_SEVERITY.get(status.casefold(), "critical" if color == "red" else "warning")


def _worst(severities: Iterable[Severity | None]) -> Severity | None:
    return max(severities, key=_RANK.__getitem__, default=None)


def _sync_evidence(sync: SyncStatus) -> Evidence:
    head = (("color", sync.color), ("status", sync.status), ("mode", sync.mode))
    lines = tuple((f"detail_{i}", line) for i, line in enumerate(sync.details))
    return (*head, ("summary", sync.summary), *lines)


def _standalone(cfg: Config, device: Device, sync: SyncStatus) -> Outcome:
    group = next((d.ha_group for d in cfg.bigip if d.name == device.name), None)
    others = [d.name for d in cfg.bigip if group and d.ha_group == group and d.name != device.name]
    if not others:
        return PASS
    message = (
        f"{device.name}: configured as HA with {', '.join(others)} (haGroup {group}) but"
        " reports standalone: nothing keeps the units' trust settings in sync, so a failover"
        " may serve different ones — join the units in device trust and a sync-failover"
        " device group, or take haGroup out of the config"
    )
    extra = (("ha_group", str(group)), ("configured_peers", ",".join(others)))
    return Outcome(
        drifts=(Drift("warning", SYNC_OBJECT, message, (*extra, *_sync_evidence(sync))),)
    )


def _not_in_sync(device: str, sync: SyncStatus, color: str) -> list[Drift]:
    """The findings of a device that reports HA mode (none when it is in sync)."""
    entries, disconnected = parse_details(sync.details)
    evidence = _sync_evidence(sync)
    bad = [(group, status) for group, status in entries if status.casefold() != "in sync"]
    named: dict[str, str] = {}  # device group → its first status other than In Sync
    for group, status in bad:
        if group:
            named.setdefault(group, status)
    drifts: list[Drift] = []
    for group, status in named.items():
        severity = _grade(status, color)
        fix = (
            "sync the group from the unit with the intended config"
            f" (tmsh run cm config-sync to-group {group})"
        )
        if status.casefold() == "disconnected":
            fix = f"{_RELINK} {fix}"
        message = (
            f"{device}: device group {group} reports {status} (sync color {sync.color}):"
            f" {_WHY.get(status.casefold(), _WHY[severity])} — {fix}"
        )
        extra = (("device_group", group), ("group_status", status))
        drifts.append(Drift(severity, group, message, (*extra, *evidence)))
    explained = _worst(d.severity for d in drifts)
    reasons = [
        (_grade(status, color), f"a device group (name cut off) reports {status}")
        for g, status in bad
        if not g
    ]
    lost = bool(disconnected) and explained != "critical"  # else a group already says so
    if lost:
        reasons.append(("critical", f"{', '.join(disconnected)} disconnected"))
    by_color = _COLOR_SEVERITY.get(color, "warning")
    if _RANK[by_color] > _RANK[_worst([explained, *(r[0] for r in reasons)])]:
        reasons.append((by_color or "warning", f"sync color {sync.color}"))
    if worst := _worst(r[0] for r in reasons):
        fix = "sync from the unit with the intended config"
        message = (
            f"{device}: config sync is not green ({'; '.join(r[1] for r in reasons)}; summary"
            f" {sync.summary!r}): {_WHY['disconnected' if lost else worst]} — see tmsh show cm"
            f" sync-status, then {f'{_RELINK} {fix}' if lost else fix}"
        )
        drifts.append(Drift(worst, SYNC_OBJECT, message, evidence))
    return drifts


def _evaluate_sync(cfg: Config, device: Device) -> Outcome:
    sync = device.state.sync
    if sync is None:
        why = device.unreadable(SYNC_STATUS)
        return Outcome(unknowns=(why or Unknown(device.name, f"{device.name}: no {SYNC_STATUS}"),))
    if (sync.mode or sync.status).casefold() == "standalone":
        return _standalone(cfg, device, sync)
    if not (color := sync.color.casefold()):
        return Outcome(
            unknowns=(Unknown(device.name, f"{device.name}: {SYNC_STATUS} has no color"),)
        )
    if drifts := _not_in_sync(device.name, sync, color):
        return Outcome(drifts=tuple(drifts))
    if sync.status.casefold() == "in sync":
        return PASS
    note = (
        f"{device.name}: {SYNC_STATUS} says status {sync.status!r}, but the color is green and"
        " every device-group detail says In Sync (status alone is not trusted)"
    )
    return Outcome(notes=(note,))


def ha_sync_status(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Config sync must be green on every device of the boundary (see the module docstring)."""
    return per_device(boundary, observed, lambda device: _evaluate_sync(cfg, device))


# --- ha_peer_divergence -----------------------------------------------------------------------


def ha_applies(cfg: Config, boundary: BoundaryConfig) -> bool:
    """Two or more of the boundary's devices share a configured haGroup."""
    groups = [d.ha_group for d in cfg.bigip if d.name in boundary.devices and d.ha_group]
    return len(groups) != len(set(groups))
