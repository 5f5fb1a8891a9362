"""A snapshot of the healthy world of `tests.support.checkdata` with something of each kind
to show: a state of each kind, carried and ignored findings, a broken rotation, a source
that is down. The status page tests read it (every value on the page is known), and so do
the web server's, as what it serves.
"""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

from monitor.model import CheckState, Finding, SourceError, SourceStatus
from monitor.rotation.plan import AnchorRole, RotationPlan
from monitor.state.ignore import IgnoreMatch
from monitor.state.snapshot import Snapshot, TrackedFinding
from tests.support import checkdata as cd

NOW = cd.NOW


def tracked(check: str, severity: str = "warning", **changes: object) -> TrackedFinding:
    finding = Finding(
        check,
        severity,  # type: ignore[arg-type]
        "shop",
        "bigip-a",
        "/k8s/Shared/shop_443_pool",
        f"{check} message",
        (("pool", "/k8s/Shared/shop_443_pool"), ("member", "10.42.9.99:443")),
    )
    base = TrackedFinding(finding, NOW - timedelta(days=3, hours=4))
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def snapshot(**changes: object) -> Snapshot:
    states = (
        CheckState("trust_anchor_expiry", "shop", "pass"),
        CheckState("bundle_missing_anchor", "shop", "critical"),
        CheckState("pool_member_extra", "shop", "warning", ignored=1),
        CheckState("edge_cert_expiry", "shop", "unknown", detail="bigip-b: ltm/virtual unread"),
        CheckState("virtual_missing", "web", "pass"),
    )
    findings = (
        tracked("bundle_missing_anchor", "critical"),
        tracked("pool_member_extra", carried=True),
        tracked(
            "pool_member_extra",
            ignore=IgnoreMatch(0, "CIS removes it tonight", date(2025, 2, 1), True),
        ),
        tracked(
            "pool_member_extra",
            ignore=IgnoreMatch(1, "was a migration", date(2024, 12, 1), False),
        ),
    )
    plan = RotationPlan(
        "shop",
        "broken",
        "the issuer is signed by an anchor the BIG-IP bundle lacks",
        ("add the new anchor to the bundle", "then remove the old one"),
        anchors=(AnchorRole(cd.ANCHOR.facts.fingerprint_sha256, "issuer", "CN=root"),),
    )
    sources = (
        SourceStatus("bigip-a", "bigip", up=True, duration_seconds=0.42),
        SourceStatus(
            "bigip-b",
            "bigip",
            up=False,
            errors=(SourceError("connect_error", "connection refused", "ltm/virtual"),),
        ),
        SourceStatus("kubernetes", "kubernetes", up=True),
    )
    observed = dataclasses.replace(cd.observed(), sources=sources)
    base = Snapshot(
        taken_at=NOW,
        cycle=7,
        duration_seconds=1.25,
        observed=observed,
        states=states,
        findings=findings,
        last_success={"bigip-a": NOW - timedelta(minutes=1), "kubernetes": NOW},
        rotation=(plan,),
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]
