"""The runner contains a check that raises: that (check, boundary) is `unknown`, its earlier
findings are carried, the other checks still run, and the exception comes back for the
caller to log (the runner itself never logs)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest

from monitor.checks import CHECKS, run_checks
from monitor.checks.outcome import MESH, Check, Outcome
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed
from monitor.state.snapshot import next_snapshot
from tests.support.checkdata import NOW, SHOP, SHOP_BUNDLE, WEB, bundle, config, f5, observed

SECRET = "passw0rd-from-the-device"


def _raising(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
    if bnd.name == "shop":
        raise ValueError(SECRET)
    return Outcome()


def test_a_check_that_raises_is_unknown_on_that_boundary_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    cfg = config(SHOP, WEB)
    checks = (Check("bundle_missing_anchor", _raising), *CHECKS)
    result = run_checks(cfg, observed(), NOW, checks)
    states = [(s.check, s.boundary) for s in result.states]
    broken = result.states[states.index(("bundle_missing_anchor", "shop"))]
    assert broken.state == "unknown"
    assert broken.detail == (
        "bundle_missing_anchor failed with an unexpected ValueError (a bug; see the log)"
    )
    assert broken.unknown_parts == (MESH, "bigip-a", "bigip-b")
    assert SECRET not in broken.detail
    web = result.states[states.index(("bundle_missing_anchor", "web"))]
    assert web.state == "pass"  # the same check on another boundary
    assert result.states[states.index(("trust_anchor_expiry", "shop"))].state == "pass"
    [failure] = result.failures
    assert (failure.check, failure.boundary, type(failure.error)) == (
        "bundle_missing_anchor",
        "shop",
        ValueError,
    )
    assert caplog.records == []  # pure: the caller logs


def test_a_mesh_wide_check_that_raises_is_unknown_on_every_boundary_it_applies_to() -> None:
    calls = []

    def raising(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        calls.append(bnd.name)
        raise RecursionError

    cfg = config(SHOP, WEB)
    result = run_checks(cfg, observed(), NOW, (Check("issuer_expiry", raising, mesh_wide=True),))
    assert calls == ["shop"]  # worked out once per run, as its outcome would be
    assert [(s.boundary, s.state) for s in result.states] == [
        ("shop", "unknown"),
        ("web", "unknown"),
    ]
    assert result.states[1].unknown_parts == (MESH, "bigip-a")


def test_the_findings_of_a_check_that_starts_raising_are_carried_not_cleared() -> None:
    cfg = config()
    drift = observed([f5("bigip-a", bundles={SHOP_BUNDLE: bundle()}), f5("bigip-b")])
    first = next_snapshot(None, drift, run_checks(cfg, drift, NOW), NOW, 0.1)
    before = {t.finding.key for t in first.findings if t.finding.check == "bundle_missing_anchor"}
    assert before
    later = NOW + timedelta(minutes=1)
    checks = tuple(Check(c.id, _raising) if c.id == "bundle_missing_anchor" else c for c in CHECKS)
    second = next_snapshot(first, drift, run_checks(cfg, drift, later, checks), later, 0.1)
    kept = [t for t in second.findings if t.finding.check == "bundle_missing_anchor"]
    assert {t.finding.key for t in kept} == before
    assert all(t.carried and t.first_seen == NOW for t in kept)
