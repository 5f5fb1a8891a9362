"""The devices of the simulated BIG-IP: reading `bigip.devices[]` and rendering what
describes a device rather than its configuration.

Owns `cm/device` (one item per scenario device, `selfDevice` "true" only on the
answering one), the stats-shaped documents `cm/sync-status`, `cm/failover-status`
and `sys/version` (`entries` → `https://localhost/mgmt/tm/<path>/0` → `nestedStats`;
note the camelCase `syncStatus`/`failoverStatus` in the inner detail links), and
`auth/partition`.

Defaults: a single device reports `Standalone` sync status, several devices
report `In Sync` in high-availability mode (override with `syncStatus`).
UNVERIFIED and chosen here: the failover-status `color`/`summary` for standby
(`gray`, `0/1 active`) and offline (`red`, `0/1 active`) devices, the fields of
`auth/partition`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from monitor.simulate.bigip.links import LOCALHOST, link, reference, stats_kind
from monitor.simulate.bigip.restjavad import BASH_ROLES, ROLES
from monitor.simulate.faults import Fault
from monitor.simulate.scenario import PatchOp
from monitor.simulate.spec import Node

DEVICE_KEYS = (
    "name",
    "hostname",
    "managementIp",
    "version",
    "build",
    "edition",
    "failoverState",
    "syncStatus",
    "bashAllowed",
    "role",
    "overrides",
    "faults",
    "configsyncIp",
    "timeZone",
    "apm",
)
SYNC_KEYS = ("status", "color", "mode", "summary", "details")
SYNC_STATUSES = (
    "In Sync",
    "Changes Pending",
    "Standalone",
    "Disconnected",
    "Awaiting Initial Sync",
    "Not All Devices Synced",
    "offline",
)
_FAILOVER = {
    "active": ("ACTIVE", "green", "1/1 active"),
    "standby": ("STANDBY", "gray", "0/1 active"),
    "offline": ("OFFLINE", "red", "0/1 active"),
}


@dataclass(frozen=True)
class SyncStatus:
    status: str
    color: str
    mode: str
    summary: str
    details: tuple[str, ...]


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    hostname: str
    management_ip: str
    version: str
    build: str
    edition: str
    failover_state: str
    sync: SyncStatus | None
    bash_allowed: bool
    role: str
    overrides: tuple[PatchOp, ...]
    faults: tuple[Fault, ...]
    configsync_ip: str
    time_zone: str
    apm: str = "nominal"  # APM's provisioning level (sys/provision): nominal | none


def parse_device(node: Node, index: int) -> DeviceSpec:
    node.mapping(DEVICE_KEYS)
    name = node.require("name").text()
    sync_node = node.get("syncStatus")
    sync = None
    if sync_node.value is not None:
        sync_node.mapping(SYNC_KEYS)
        sync = SyncStatus(
            status=sync_node.require("status").choice(SYNC_STATUSES),
            color=sync_node.get("color").choice(("green", "blue", "yellow", "red"), "green"),
            mode=sync_node.get("mode").choice(
                ("high-availability", "standalone"), "high-availability"
            ),
            summary=sync_node.get("summary").text(" "),
            details=sync_node.get("details").texts(),
        )
    ops = []
    for op_node in node.get("overrides").items():
        op_node.mapping(("op", "path", "value"))
        op = op_node.require("op").choice(("add", "replace", "remove"))
        if not op_node.require("path").text().startswith("/"):
            raise op_node.get("path").fail('must start with "/" (relative to bigip.config)')
        if op != "remove" and "value" not in op_node.mapping():
            raise op_node.fail(f"a {op} operation needs a value")
        ops.append(
            PatchOp(op, op_node.require("path").text(), op_node.get("value").value, op_node.path)
        )
    faults = []
    for f in node.get("faults").items():
        raw = dict(f.mapping())
        target = raw.setdefault("target", name)
        if target != name:
            raise f.get("target").fail(f'a device\'s faults target the device itself ("{name}")')
        faults.append(Fault.parse(Node(raw, f.path)))
    bash_allowed = node.get("bashAllowed").boolean(False)
    role = node.get("role").choice(ROLES, "admin" if bash_allowed else "auditor")
    if bash_allowed and role not in BASH_ROLES:
        raise node.get("role").fail(
            f"util/bash (bashAllowed: true) needs the role {' or '.join(BASH_ROLES)}"
        )
    return DeviceSpec(
        name=name,
        hostname=node.get("hostname").text(name),
        management_ip=node.get("managementIp").text(f"192.0.2.{11 + index}"),
        version=node.get("version").text("15.1.10.2"),
        build=node.get("build").text("0.0.44"),
        edition=node.get("edition").text("Point Release 2"),
        failover_state=node.get("failoverState").choice(tuple(_FAILOVER), "active"),
        sync=sync,
        bash_allowed=bash_allowed,
        role=role,
        overrides=tuple(ops),
        faults=tuple(faults),
        configsync_ip=node.get("configsyncIp").text("none"),
        time_zone=node.get("timeZone").text("UTC"),
        apm=node.get("apm").choice(("nominal", "minimum", "dedicated", "none"), "nominal"),
    )


def default_sync(devices: tuple[DeviceSpec, ...]) -> SyncStatus:
    if len(devices) == 1:
        return SyncStatus(
            "Standalone",
            "green",
            "standalone",
            " ",
            ("Optional action: Add a device to the trust domain",),
        )
    details = tuple(f"{d.hostname}: connected" for d in devices) + tuple(
        f"{group} (In Sync): All devices in the device group are in sync"
        for group in ("datasync-global-dg", "device_trust_group")
    )
    summary = "All devices in the device group are in sync"
    return SyncStatus("In Sync", "green", "high-availability", summary, details)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def render_device(d: DeviceSpec, answering: DeviceSpec, version: str) -> dict[str, Any]:
    """One `cm/device` item as seen from `answering` (links carry the answering version)."""
    h = _digest(d.name)
    name = d.hostname
    unicast = [
        {"effectiveIp": "management-ip", "effectivePort": 1026, "ip": "management-ip", "port": 1026}
    ]
    if d.configsync_ip != "none":
        unicast.append(
            {
                "effectiveIp": d.configsync_ip,
                "effectivePort": 1026,
                "ip": d.configsync_ip,
                "port": 1026,
            }
        )
    return {
        "kind": "tm:cm:device:devicestate",
        "name": name,
        "partition": "Common",
        "fullPath": f"/Common/{name}",
        "generation": 1,
        "selfLink": link(f"cm/device/~Common~{name}", version),
        "activeModules": [
            f"LTM, Base, VE|SIM{h[:4].upper()}-{h[4:11].upper()}|Rate Shaping|SSL, VE"
        ],
        "baseMac": ":".join(["02", *(h[i : i + 2] for i in range(0, 10, 2))]),
        "build": d.build,
        "cert": "/Common/dtdi.crt",
        "certReference": reference("cm/cert/~Common~dtdi.crt", version),
        "chassisId": f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:28]}",
        "chassisType": "individual",
        "configsyncIp": d.configsync_ip,
        "edition": d.edition,
        "failoverState": d.failover_state,
        "haCapacity": 0,
        "hostname": d.hostname,
        "key": "/Common/dtdi.key",
        "keyReference": reference("cm/key/~Common~dtdi.key", version),
        "managementIp": d.management_ip,
        "marketingName": "BIG-IP Virtual Edition",
        "mirrorIp": d.configsync_ip if d.configsync_ip != "none" else "any6",
        "mirrorSecondaryIp": "any6",
        "multicastInterface": "eth0",
        "multicastIp": "224.0.0.245",
        "multicastPort": 62960,
        "optionalModules": ["App Mode (TMSH Only, No Root/Bash)", "Routing Bundle"],
        "platformId": "Z100",
        "product": "BIG-IP",
        "selfDevice": "true" if d.name == answering.name else "false",
        "timeLimitedModules": [],
        "timeZone": d.time_zone,
        "version": d.version,
        "unicastAddress": unicast,
    }


def _described(value: str) -> dict[str, Any]:
    return {"description": value}


def _stats(
    path: str, inner: str, entries: dict[str, Any], details: tuple[str, ...], version: str
) -> dict[str, Any]:
    """The nested-stats shape; `inner` is the camelCase name used in the details links."""
    body = dict(entries)
    if details:
        base = f"{LOCALHOST}/mgmt/tm/cm/{inner}/0/details"
        detail_entries = {
            f"{base}/{i}": {"nestedStats": {"entries": {"details": _described(text)}}}
            for i, text in enumerate(details)
        }
        body[base] = {"nestedStats": {"entries": detail_entries}}
    ordered = dict(sorted(body.items()))  # BIG-IP lists the keys alphabetically
    return {
        "kind": stats_kind(path),
        "selfLink": link(path, version),
        "entries": {f"{LOCALHOST}/mgmt/tm/{path}/0": {"nestedStats": {"entries": ordered}}},
    }


def render_stats(d: DeviceSpec, sync: SyncStatus) -> dict[str, dict[str, Any]]:
    v = d.version
    status, color, summary = _FAILOVER[d.failover_state]
    failover_details = (f"{d.failover_state} for /Common/traffic-group-1",)
    return {
        "cm/sync-status": _stats(
            "cm/sync-status",
            "syncStatus",
            {
                "color": _described(sync.color),
                "mode": _described(sync.mode),
                "status": _described(sync.status),
                "summary": _described(sync.summary),
            },
            sync.details,
            v,
        ),
        "cm/failover-status": _stats(
            "cm/failover-status",
            "failoverStatus",
            {
                "color": _described(color),
                "status": _described(status),
                "summary": _described(summary),
            },
            failover_details,
            v,
        ),
        "sys/version": {
            "kind": stats_kind("sys/version"),
            "selfLink": link("sys/version", v),
            "entries": {
                f"{LOCALHOST}/mgmt/tm/sys/version/0": {
                    "nestedStats": {
                        "entries": {
                            "Build": _described(d.build),
                            "Date": _described("Mon Jan 15 10:12:04 PST 2024"),
                            "Edition": _described(d.edition),
                            "Product": _described("BIG-IP"),
                            "Title": _described("Main Package"),
                            "Version": _described(d.version),
                        }
                    }
                }
            },
        },
    }


def render_partitions(partitions: tuple[str, ...], version: str) -> list[dict[str, Any]]:
    return [
        {
            "kind": "tm:auth:partition:partitionstate",
            "name": p,
            "fullPath": p,
            "generation": 1,
            "selfLink": link(f"auth/partition/{p}", version),
            "defaultRouteDomain": 0,
        }
        for p in partitions
    ]
