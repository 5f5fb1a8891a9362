"""Tests for the virtual server checks of monitor.checks.routes.virtual: missing, disabled, pool."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.model import SourceError
from tests.support.checkdata import (
    SHOP_POOL,
    SHOP_VIRTUAL,
    WEB,
    WEB_VIRTUAL,
    config,
    f5,
    observed,
    run_one,
    shop,
    shop_virtual,
)

VIRTUAL_CHECKS = ("virtual_missing", "virtual_disabled", "virtual_pool_mismatch")
ONE = config(shop(devices=["bigip-a"]))
WITH_POOL = config(shop(devices=["bigip-a"], pool=SHOP_POOL))


@pytest.mark.parametrize("check", VIRTUAL_CHECKS)
@pytest.mark.parametrize("cfg", [config(), config(WEB), WITH_POOL], ids=["shop", "web", "pool"])
def test_healthy_virtual_passes(check: str, cfg: Any) -> None:
    st, findings = run_one(check, observed(), cfg)
    assert (st.state, st.detail, st.unknown_parts, findings) == ("pass", "", (), ())


# --- virtual_missing --------------------------------------------------------------------------


def test_missing_virtual_is_critical_in_both_modes() -> None:
    obs = observed([f5("bigip-a", virtuals={}), f5("bigip-b")])
    st, (f,) = run_one("virtual_missing", obs)
    assert (st.state, f.device, f.object, f.severity) == (
        "critical",
        "bigip-a",
        SHOP_VIRTUAL,
        "critical",
    )
    assert f.message == (
        f"bigip-a: virtual {SHOP_VIRTUAL} does not exist: this device serves no traffic for"
        " boundary shop — create it (or check the controller that manages it, or the virtual"
        " named in the expected state)"
    )
    assert dict(f.evidence) == {"virtual": SHOP_VIRTUAL, "virtuals_read": "0"}
    st, (f,) = run_one("virtual_missing", observed([f5("bigip-a", virtuals={})]), config(WEB))
    assert (st.state, f.object) == ("critical", WEB_VIRTUAL)


def test_unreadable_virtuals_are_unknown_not_missing() -> None:
    error = SourceError("http_403", "no", "ltm/virtual")
    obs = observed(
        [f5("bigip-a", virtuals={}, failed=frozenset({"ltm/virtual"}))],
        errors={"bigip-a": (error,)},
    )
    for check in VIRTUAL_CHECKS[:2]:
        st, findings = run_one(check, obs, ONE)
        assert (st.state, st.detail, findings) == (
            "unknown",
            "bigip-a: could not read ltm/virtual (http_403)",
            (),
        )


@pytest.mark.parametrize("check", VIRTUAL_CHECKS)
def test_unreadable_device_is_unknown(check: str) -> None:
    st, _ = run_one(check, observed([]), WITH_POOL)
    assert (st.state, st.unknown_parts) == ("unknown", ("bigip-a",))


# --- virtual_disabled -------------------------------------------------------------------------


def test_disabled_virtual_is_critical() -> None:
    obs = observed([f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(enabled=False)})])
    st, (f,) = run_one("virtual_disabled", obs, ONE)
    assert (st.state, f.object) == ("critical", SHOP_VIRTUAL)
    assert f.message.startswith(f"bigip-a: virtual {SHOP_VIRTUAL} is disabled:")
    assert dict(f.evidence)["state"] == "disabled"


def test_disabled_needs_the_virtual() -> None:
    st, findings = run_one("virtual_disabled", observed([f5("bigip-a", virtuals={})]), ONE)
    assert (st.state, st.detail, findings) == (
        "unknown",
        f"virtual {SHOP_VIRTUAL} not found on bigip-a",
        (),
    )


# --- virtual_pool_mismatch --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pool", "text"),
    [("/k8s/Shared/other_pool", "uses pool /k8s/Shared/other_pool"), (None, "has no pool")],
)
def test_virtual_using_another_pool_is_critical(pool: str | None, text: str) -> None:
    obs = observed([f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(pool=pool)})])
    st, (f,) = run_one("virtual_pool_mismatch", obs, WITH_POOL)
    assert (st.state, f.object, f.severity) == ("critical", SHOP_VIRTUAL, "critical")
    assert f.message == (
        f"bigip-a: virtual {SHOP_VIRTUAL} {text}, but the expected state names pool {SHOP_POOL}:"
        " the pool the member checks compare gets none of its traffic — point the virtual at"
        " it, or correct pool in the expected state"
    )
    assert dict(f.evidence)["expected_pool"] == SHOP_POOL


def test_without_a_configured_pool_there_is_nothing_to_compare() -> None:
    obs = observed([f5("bigip-a", virtuals={SHOP_VIRTUAL: shop_virtual(pool="/x/y")})])
    st, findings = run_one("virtual_pool_mismatch", obs, ONE)
    assert (st.state, findings) == ("pass", ())
    st, _ = run_one("virtual_pool_mismatch", observed([]), ONE)
    assert st.state == "unknown"  # a poll that read nothing passes nothing


@pytest.mark.parametrize("cfg", [ONE, WITH_POOL], ids=["auto", "configured"])
def test_pool_mismatch_needs_the_virtual(cfg: Any) -> None:
    st, _ = run_one("virtual_pool_mismatch", observed([f5("bigip-a", virtuals={})]), cfg)
    assert (st.state, st.detail) == ("unknown", f"virtual {SHOP_VIRTUAL} not found on bigip-a")
