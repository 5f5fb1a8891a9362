"""`CheckRunner` reuses last run's outcomes only where their inputs did not change: its results
are always `run_checks`' on the same arguments, and a check runs again when what it read did."""

from __future__ import annotations

import dataclasses
import inspect
import shutil
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from monitor.checks import CHECKS, CheckRunner, run_checks
from monitor.checks.outcome import Check, Drift, Outcome
from monitor.checks.resolve import Device, per_device, resolve_pool
from monitor.checks.runner import kinds, reads_argument
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, SourceError
from tests.support.checkdata import (
    ANCHOR,
    DAY,
    NOW,
    OLD_ANCHOR,
    SHOP,
    SHOP_POOL,
    WEB,
    config,
    f5,
    ha_config,
    healthy_pods,
    mesh,
    observed,
    policy_from,
    pool,
    proxy,
)

TIMEOUT = SourceError("timeout", "bigip-b: no answer within 30s", "ltm/virtual")


def _unmeshed_pod() -> Observed:
    pods = healthy_pods()
    key = sorted(pods)[0]
    pods[key] = dataclasses.replace(pods[key], meshed=False)
    return observed(mesh_state=mesh(pods=pods))


def _failing_bigip_b() -> Observed:
    failed = f5("bigip-b", failed=frozenset({"ltm/virtual"}))
    return observed([f5("bigip-a"), failed], errors={"bigip-b": (TIMEOUT,)})


def _variants() -> list[tuple[str, Callable[[], Observed], timedelta]]:
    """Observations one after the other, as cycles would bring them, and the time passed."""
    stale = tuple(proxy(p.pod, OLD_ANCHOR) for p in mesh().proxies or ())
    return [
        ("healthy", observed, timedelta()),
        ("healthy, rebuilt", observed, timedelta(minutes=1)),
        (
            "an extra pool member on bigip-a",
            lambda: observed(
                [
                    f5("bigip-a", pools={SHOP_POOL: pool(SHOP_POOL, ("10.42.0.99", 443))}),
                    f5("bigip-b"),
                ]
            ),
            timedelta(minutes=1),
        ),
        ("an unmeshed pod", _unmeshed_pod, timedelta(minutes=1)),
        ("stale proxies", lambda: observed(mesh_state=mesh(proxies=stale)), timedelta()),
        ("bigip-b not read", lambda: observed([f5("bigip-a")]), timedelta(minutes=1)),
        ("bigip-b with errors", _failing_bigip_b, timedelta()),
        (
            "policy denies",
            lambda: observed(mesh_state=mesh(policy=policy_from("", default="deny"))),
            timedelta(minutes=1),
        ),
        ("anchors unknown", lambda: observed(mesh_state=mesh(anchors=None)), timedelta()),
        ("healthy again", observed, timedelta(minutes=1)),
        ("a year later", observed, timedelta(days=330)),
        ("a year later, again", observed, timedelta(minutes=1)),
        ("new anchor", lambda: observed(mesh_state=mesh(anchors=(OLD_ANCHOR.facts,))), DAY),
        ("healthy at last", observed, DAY),
    ]


@pytest.mark.parametrize(
    "cfg", [config(SHOP, WEB), ha_config(SHOP, WEB)], ids=["plain", "ha"]
)  # fmt: skip
def test_a_runner_gives_run_checks_results_cycle_after_cycle(cfg: Config) -> None:
    runner = CheckRunner(CHECKS)
    now = NOW
    seen: set[str] = set()
    for name, make, passed in _variants() * 2:
        now += passed
        obs = make()
        expected = run_checks(cfg, obs, now)
        for again in (obs, obs):  # once on new objects, once on the very same
            got = runner.run(cfg, again, now)
            assert got.states == expected.states, name
            assert got.findings == expected.findings, name
            assert [(f.check, f.boundary) for f in got.failures] == [
                (f.check, f.boundary) for f in expected.failures
            ], name
        seen.update(s.state for s in expected.states)
    assert seen == {"pass", "warning", "critical", "unknown"}  # the variants reach them all


def _counting(calls: list[str], reads_now: bool) -> Callable[..., Outcome]:
    """A check that reads the boundary's pool on each device (and `now` if asked)."""

    def members(device: Device, bnd: BoundaryConfig) -> Outcome:
        found = resolve_pool(bnd, device)
        size = "unknown" if not hasattr(found, "members") else str(len(found.members))  # type: ignore[union-attr]
        return Outcome(drifts=(Drift("warning", size, "pool size"),))

    if reads_now:

        def timely(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
            calls.append(f"{bnd.name} {now:%j}")
            return per_device(bnd, obs, lambda d: members(d, bnd))

        return timely

    def timeless(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        calls.append(bnd.name)
        return per_device(bnd, obs, lambda d: members(d, bnd))

    return timeless


def test_a_check_runs_again_only_for_the_boundary_whose_inputs_changed() -> None:
    calls: list[str] = []
    check = Check("pool_member_extra", _counting(calls, reads_now=False))
    runner, cfg = CheckRunner((check,)), config(SHOP, WEB)
    first = runner.run(cfg, observed(), NOW)
    assert calls == ["shop", "web"]
    runner.run(cfg, observed(), NOW + DAY)  # equal objects, a day later
    assert calls == ["shop", "web"]
    grown = pool(SHOP_POOL, ("10.42.0.11", 443), ("10.42.0.12", 443), ("10.42.0.13", 443))
    changed = observed([f5("bigip-a", pools={**f5().pools, SHOP_POOL: grown}), f5("bigip-b")])
    later = runner.run(cfg, changed, NOW + 2 * DAY)
    assert calls == ["shop", "web", "shop"]  # web reads bigip-a's web pool only
    assert later.findings != first.findings
    assert later.findings == run_checks(cfg, changed, NOW, (check,)).findings
    calls.clear()
    runner.run(config(WEB, SHOP), changed, NOW)  # another config: nothing is reused
    assert calls == ["web", "shop"]


def test_a_check_that_reads_now_runs_every_time() -> None:
    calls: list[str] = []
    runner, cfg = CheckRunner((Check("pool_member_extra", _counting(calls, True)),)), config()
    runner.run(cfg, observed(), NOW)
    runner.run(cfg, observed(), NOW + DAY)
    assert len(calls) == 2
    assert calls[0] != calls[1]


def test_a_runner_that_forgets_starts_afresh() -> None:
    calls: list[str] = []
    runner, cfg = CheckRunner((Check("pool_member_extra", _counting(calls, False)),)), config()
    obs = observed()
    runner.run(cfg, obs, NOW)
    runner.forget()
    runner.run(cfg, obs, NOW)
    assert calls == ["shop", "shop"]


def test_only_checks_run_once_per_run_see_the_proxies_of_the_whole_cluster() -> None:
    seen: dict[str, object] = {}

    def per_boundary(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        seen[bnd.name] = obs.mesh.proxies
        return Outcome()

    def wide(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        seen["wide"] = obs.mesh.proxies
        return Outcome()

    checks = (
        Check("sni_mismatch", per_boundary),
        Check("proxy_trust_bundle_stale", wide, mesh_wide=True),
    )
    obs = observed()
    run_checks(config(SHOP, WEB), obs, NOW, checks)
    assert seen == {"shop": None, "web": None, "wide": obs.mesh.proxies}
    assert seen["wide"]


def _boundary_free(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
    return Outcome() if obs.mesh.anchors else Outcome(drifts=(Drift("critical", "x", "none"),))


def _reads_all(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
    def later() -> datetime:
        return now + timedelta(days=len(bnd.name))

    return Outcome(notes=(f"{later():%Y}",))


def test_what_a_check_reads_is_told_from_its_code() -> None:
    assert not reads_argument(_boundary_free, 1)
    assert not reads_argument(_boundary_free, 3)
    assert reads_argument(_reads_all, 1)
    assert reads_argument(_reads_all, 3)  # in a closure
    assert reads_argument(lambda *args: Outcome(), 1)  # not told: assumed read
    assert reads_argument(dataclasses.replace, 3)
    [kind] = kinds((Check("trust_anchor_expiry", _boundary_free),))
    assert kind.shared
    assert kind.timeless
    by_id = dict(zip((c.id for c in CHECKS), kinds(CHECKS), strict=True))
    assert by_id["trust_anchor_expiry"].shared
    assert not by_id["trust_anchor_expiry"].timeless
    assert by_id["proxy_trust_bundle_stale"].shared
    assert not by_id["pool_member_extra"].shared
    assert by_id["pool_member_extra"].timeless
    assert not by_id["client_cert_expiry"].timeless


def test_a_check_worked_out_once_per_run_is_reused_across_runs_when_timeless() -> None:
    calls: list[str] = []

    def wide(cfg: Config, bnd: BoundaryConfig, obs: Observed, now: datetime) -> Outcome:
        calls.append(str(len(obs.mesh.proxies or ())))
        return Outcome()

    runner = CheckRunner((Check("proxy_trust_bundle_stale", wide, mesh_wide=True),))
    cfg = config(SHOP, WEB)
    runner.run(cfg, observed(), NOW)
    runner.run(cfg, observed(), NOW)
    assert calls == ["3"]
    fewer = observed(mesh_state=mesh(proxies=(proxy("ingress/a", ANCHOR),)))
    runner.run(cfg, fewer, NOW)
    assert calls == ["3", "1"]


_PAIRED = """
def passes_on(cfg, boundary, observed, now):
    return helper(cfg, boundary, observed, now)

def timeless(cfg, boundary, observed, now):
    return helper(observed, boundary)

def reads_none(cfg, boundary, observed, now):
    return helper(cfg, observed)

def helper(*args):
    return args

print([reads_argument(f, p) for f in (passes_on, timeless, reads_none) for p in (1, 3)])
"""


def _other_pythons() -> list[str]:
    """CPythons newer than this one on the machine (their bytecode pairs loads)."""
    found = {shutil.which(f"python3.{minor}") or "" for minor in range(12, 16)}
    found |= {str(p) for p in Path("/root/.pyenv/versions").glob("3.1[2-9]*/bin/python3")}
    return sorted(p for p in found if p and "/shims/" not in p)


def test_what_a_check_reads_is_told_on_newer_pythons_too() -> None:
    """3.13 loads two arguments in one instruction (LOAD_FAST_LOAD_FAST): a check that
    passes `boundary` and `now` on in pairs still reads them, on every CPython here."""
    pythons = _other_pythons()
    if not pythons:
        pytest.skip("no CPython 3.12 or newer on this machine besides the one running")
    header = "from __future__ import annotations\nimport dis, inspect\n"
    source = header + inspect.getsource(reads_argument) + _PAIRED
    for python in pythons:
        out = subprocess.run(
            [python, "-c", source], capture_output=True, text=True, timeout=60, check=True
        )
        assert out.stdout.strip() == "[True, True, True, False, False, False]", python
