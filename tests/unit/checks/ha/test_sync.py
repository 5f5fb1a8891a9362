"""Tests for monitor.checks.ha.sync: `ha_sync_status`, the config-sync status of HA units
(divergence between them: test_divergence.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor.checks.ha.sync import parse_details
from monitor.model import (
    F5State,
    SourceError,
    SyncStatus,
)
from monitor.sources.f5.ha import parse_sync_status
from tests.conftest import shared_fixtures
from tests.support.checkdata import (
    HA_GROUP,
    IN_SYNC,
    WEB,
    config,
    f5,
    ha_config,
    observed,
    run_one,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)  # the checks read no time; the runner wants one
SYNC = "ha_sync_status"


def synced(**changes: Any) -> SyncStatus:
    return dataclasses.replace(IN_SYNC, **changes)


def pair(sync_a: SyncStatus | None, sync_b: SyncStatus | None = IN_SYNC) -> list[F5State]:
    return [f5("bigip-a", sync=sync_a), f5("bigip-b", sync=sync_b)]


def fixture(name: str) -> SyncStatus:
    return parse_sync_status(json.loads((shared_fixtures("f5") / name).read_text()))


# --- ha_sync_status -------------------------------------------------------------------------

PENDING = "edge-sync-failover (Changes Pending): There is a possible change conflict"
REAL_HA_SHAPE = synced(  # e-xpert 14.1.4.6: status "offline", one entry cut off
    status="offline",
    details=(
        "i5800b-1.labo.e-xpertsolutions.lan: connected",
        "All devices in the device group are in sync",
        "In Sync): All devices in the device group are in sync",
        "(In Sync): All devices in the device group are in sync",
        "datasync-global-dg (In Sync): All devices in the device group are in sync",
        "device_trust_group (In Sync): All devices in the device group are in sync",
    ),
)
STANDALONE = SyncStatus(
    "green", "Standalone", "standalone", "", ("Optional action: Add a device to the trust domain",)
)
SYNC_TABLE = [
    ("in sync", IN_SYNC, "pass", []),
    ("status offline, color green, all In Sync", REAL_HA_SHAPE, "pass", []),
    (
        "changes pending",
        synced(color="yellow", status="Changes Pending", details=(PENDING,)),
        "warning",
        [("edge-sync-failover", "warning")],
    ),
    (
        "awaiting initial sync",
        synced(
            color="blue", status="Awaiting Initial Sync", details=("dg (Awaiting Initial Sync): x",)
        ),
        "warning",
        [("dg", "warning")],
    ),
    (
        "details beat a green color",
        synced(details=(*IN_SYNC.details, PENDING)),
        "warning",
        [("edge-sync-failover", "warning")],
    ),
    (
        "disconnected (the device line adds nothing)",
        synced(
            color="red",
            status="Disconnected",
            details=("bigip-b.example.net: disconnected", "edge-sync-failover (Disconnected): x"),
        ),
        "critical",
        [("edge-sync-failover", "critical")],
    ),
    (
        "not all devices synced",
        synced(color="red", details=("dg (Not All Devices Synced): bigip-b did not sync",)),
        "critical",
        [("dg", "critical")],
    ),
    (
        "unknown status: red makes it critical",
        synced(color="red", details=("dg (Sync Failure): x",)),
        "critical",
        [("dg", "critical")],
    ),
    (
        "unknown status: yellow makes it a warning",
        synced(color="yellow", details=("dg (Something New): x",)),
        "warning",
        [("dg", "warning")],
    ),
    ("red color alone", synced(color="red"), "critical", [("sync-status", "critical")]),
    (
        "yellow color, no details",
        synced(color="yellow", details=()),
        "warning",
        [("sync-status", "warning")],
    ),
    ("gray color", synced(color="gray"), "warning", [("sync-status", "warning")]),
    (
        "cut-off entry not in sync",
        synced(color="yellow", details=("Changes Pending): There is a possible change conflict",)),
        "warning",
        [("sync-status", "warning")],
    ),
    (
        "device line disconnected",
        synced(color="red", details=(*IN_SYNC.details, "bigip-b.example.net: disconnected")),
        "critical",
        [("sync-status", "critical")],
    ),
    (
        "red color worse than the named group",
        synced(color="red", details=(PENDING,)),
        "critical",
        [("edge-sync-failover", "warning"), ("sync-status", "critical")],
    ),
    ("standalone, no haGroup", STANDALONE, "pass", []),
]


@pytest.mark.parametrize(
    ("sync", "state", "found"), [row[1:] for row in SYNC_TABLE], ids=[row[0] for row in SYNC_TABLE]
)
def test_sync_status_table(sync: SyncStatus, state: str, found: list[tuple[str, str]]) -> None:
    st, findings = run_one(SYNC, observed(pair(sync)), config(), NOW)
    assert st.state == state
    assert [(f.device, f.object, f.severity) for f in findings] == [
        ("bigip-a", obj, sev) for obj, sev in found
    ]
    assert st.unknown_parts == ()


def test_status_offline_alone_is_not_a_problem_but_is_noted() -> None:
    st, findings = run_one(SYNC, observed(pair(REAL_HA_SHAPE)), config(), NOW)
    assert (st.state, findings) == ("pass", ())
    assert st.detail == (
        "bigip-a: cm/sync-status says status 'offline', but the color is green and every"
        " device-group detail says In Sync (status alone is not trusted)"
    )


def test_real_ha_capture_passes() -> None:
    sync = fixture("e-xpert_cm_sync_status_high_availability_v14.1.4.6.json")
    assert (sync.status, sync.color) == ("offline", "green")
    st, findings = run_one(SYNC, observed(pair(sync, sync)), ha_config(), NOW)
    assert (st.state, findings) == ("pass", ())
    assert "status 'offline'" in st.detail


def test_real_standalone_capture_passes_without_an_ha_group() -> None:
    sync = fixture("genieparser_cm_sync_status_standalone_v14.1.2.1.json")
    st, findings = run_one(SYNC, observed(pair(sync, sync)), config(), NOW)
    assert (st.state, st.detail, findings) == ("pass", "", ())


def test_standalone_device_configured_in_an_ha_group_is_a_warning() -> None:
    sync = fixture("genieparser_cm_sync_status_standalone_v14.1.2.1.json")
    st, findings = run_one(SYNC, observed(pair(sync)), ha_config(), NOW)
    assert st.state == "warning"
    [finding] = findings
    assert (finding.device, finding.object, finding.severity) == (
        "bigip-a",
        "sync-status",
        "warning",
    )
    assert finding.message.startswith(
        f"bigip-a: configured as HA with bigip-b (haGroup {HA_GROUP}) but reports standalone:"
    )
    evidence = dict(finding.evidence)
    assert (evidence["mode"], evidence["ha_group"], evidence["configured_peers"]) == (
        "standalone",
        HA_GROUP,
        "bigip-b",
    )


def test_standalone_alone_in_its_ha_group_passes() -> None:
    cfg = ha_config(groups={"bigip-a": HA_GROUP})
    st, findings = run_one(SYNC, observed(pair(STANDALONE)), cfg, NOW)
    assert (st.state, findings) == ("pass", ())


def test_changes_pending_message_and_evidence() -> None:
    sync = synced(color="yellow", status="Changes Pending", details=(PENDING,))
    _, [finding] = run_one(SYNC, observed(pair(IN_SYNC, sync)), config(), NOW)
    assert finding.device == "bigip-b"
    assert finding.message == (
        "bigip-b: device group edge-sync-failover reports Changes Pending (sync color yellow):"
        " config changed on one unit and not synced: the pair may serve different trust"
        " settings after a failover — sync the group from the unit with the intended config"
        " (tmsh run cm config-sync to-group edge-sync-failover)"
    )
    assert finding.evidence == (
        ("device_group", "edge-sync-failover"),
        ("group_status", "Changes Pending"),
        ("color", "yellow"),
        ("status", "Changes Pending"),
        ("mode", "high-availability"),
        ("summary", "All devices in the device group are in sync"),
        ("detail_0", PENDING),
    )


def test_disconnected_message() -> None:
    sync = synced(color="red", status="Disconnected", details=("dg (Disconnected): x",))
    _, [finding] = run_one(SYNC, observed(pair(sync)), config(), NOW)
    assert "the units cannot reach each other to sync config" in finding.message


def test_sync_status_message_lists_what_no_group_explains() -> None:
    sync = synced(color="red", details=("In Sync): ok", "bigip-b.example.net: disconnected"))
    _, [finding] = run_one(SYNC, observed(pair(sync)), config(), NOW)
    assert finding.message.startswith(
        "bigip-a: config sync is not green (bigip-b.example.net disconnected; summary"
        " 'All devices in the device group are in sync'): the units cannot reach each other"
    )


def test_parse_details() -> None:
    entries, disconnected = parse_details(
        (
            "bigip-a.example.net: connected",
            "bigip-b.example.net: disconnected",
            "datasync-global-dg (In Sync): All devices in the device group are in sync",
            "In Sync): All devices in the device group are in sync",
            "(Changes Pending): cut off",
            "Optional action: Add a device to the trust domain",
            "All devices in the device group are in sync",
        )
    )
    assert entries == (
        ("datasync-global-dg", "In Sync"),
        ("", "In Sync"),
        ("", "Changes Pending"),
    )
    assert disconnected == ("bigip-b.example.net",)


def test_sync_status_unknown_when_the_read_failed() -> None:
    bigip_a = f5("bigip-a", sync=None, failed=frozenset({"cm/sync-status"}))
    error = SourceError("http_5xx", "bigip-a: 503", "cm/sync-status")
    obs = observed([bigip_a, f5("bigip-b", sync=IN_SYNC)], errors={"bigip-a": (error,)})
    st, findings = run_one(SYNC, obs, config(), NOW)
    assert (st.state, st.unknown_parts, findings) == ("unknown", ("bigip-a",), ())
    assert st.detail == "bigip-a: could not read cm/sync-status (http_5xx)"


@pytest.mark.parametrize(
    ("devices", "detail"),
    [
        ([f5("bigip-a", sync=None), f5("bigip-b", sync=IN_SYNC)], "bigip-a: no cm/sync-status"),
        ([f5("bigip-b", sync=IN_SYNC)], "bigip-a: could not be read"),
        (pair(synced(color="")), "bigip-a: cm/sync-status has no color"),
    ],
    ids=["not read", "device unreadable", "no color"],
)
def test_sync_status_unknowns(devices: list[F5State], detail: str) -> None:
    st, findings = run_one(SYNC, observed(devices), config(), NOW)
    assert (st.state, st.detail, st.unknown_parts, findings) == (
        "unknown",
        detail,
        ("bigip-a",),
        (),
    )


def test_a_finding_on_one_device_wins_over_an_unknown_other() -> None:
    devices = [f5("bigip-a", sync=None), f5("bigip-b", sync=synced(color="red"))]
    st, findings = run_one(SYNC, observed(devices), config(), NOW)
    assert (st.state, st.unknown_parts) == ("critical", ("bigip-a",))
    assert [f.device for f in findings] == ["bigip-b"]


def test_sync_status_applies_to_plaintext_boundaries() -> None:
    st, _ = run_one(SYNC, observed(pair(IN_SYNC)), config(WEB), NOW)
    assert (st.boundary, st.state) == ("web", "pass")
