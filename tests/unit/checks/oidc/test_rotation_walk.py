"""An Okta signing-key rotation walked on a timeline against a real daemon cycle.

`tests/scenarios/oidc-rotation-walk.yaml` runs in-process (simulated BIG-IP pair, Kubernetes
and Okta-like IdP over TLS), stepped with `World.step()`; a `Monitor` with the real sources
cycles once per stop, its clock at the world's start plus the event's `at`, so the hours of a
rotation pass in a second. Its first-seen memory is kept in a state file, and the daemon is
restarted in the middle of the lag: the gap still turns critical on time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

from monitor.catalogue import CHECKS_BY_FAMILY
from monitor.config.schema import Config, load_config
from monitor.daemon.cycle import Monitor, real_f5, real_mesh
from monitor.render.findings import findings_document
from monitor.state.snapshot import Snapshot
from tests.support.scenario_table import CASES_DIR, load_case, start_world

CASE = CASES_DIR / "oidc-rotation-walk.yaml"
OIDC = frozenset(CHECKS_BY_FAMILY["oidc"])
MISSING = "oidc_jwks_key_missing_on_bigip"


def oidc_states(snapshot: Snapshot) -> dict[str, str]:
    """The oidc checks' non-pass states (all under provider okta)."""
    out = {}
    for state in snapshot.states:
        if state.check in OIDC and state.state != "pass":
            assert state.boundary == "okta"
            out[state.check] = state.state
    return out


def missing(snapshot: Snapshot) -> list[tuple[str, str, str, bool]]:
    """(severity, device, kid, carried) of the key-missing findings."""
    return sorted(
        (t.finding.severity, t.finding.device, t.finding.object, t.carried)
        for t in snapshot.findings
        if t.finding.check == MISSING
    )


def daemon(cfg: Config, clock: Callable[[], datetime], state_file: Path) -> Monitor:
    f5 = [real_f5(device, cfg) for device in cfg.bigip]
    return Monitor(cfg, f5, real_mesh(cfg), clock=clock, state_file=state_file)


def test_a_key_rotation_walk(tmp_path: Path) -> None:
    case = load_case(CASE)
    world, config, _ = start_world(case, tmp_path)
    events = world.scenario.events
    assert len(events) == len(case.walk) - 1
    moment = [world.started_at]
    cfg = load_config(config)
    state_file = tmp_path / "state.json"
    monitor = daemon(cfg, lambda: moment[0], state_file)
    seen: list[tuple[int, dict[str, str]]] = []
    try:
        for stop in case.walk:
            while len(world.applied) < stop.step:
                world.step()
            if stop.step:
                moment[0] = world.started_at + events[stop.step - 1].at
            if stop.step == 7:  # the daemon restarts during the lag: its memory is the file
                monitor.close()
                monitor = daemon(cfg, lambda: moment[0], state_file)
            snapshot = monitor.cycle()
            seen.append((stop.step, oidc_states(snapshot)))
            assert oidc_states(snapshot) == dict(stop.states), (stop.step, seen)
            if stop.step == 4:  # first sight: a warning on both devices
                assert missing(snapshot) == [
                    ("warning", "bigip-a", "k3", False),
                    ("warning", "bigip-b", "k3", False),
                ]
                first = {t.first_seen for t in snapshot.findings}
                assert first == {world.started_at + timedelta(hours=4)}
            if stop.step == 6:  # Okta unreadable: unknown, the findings carried, not cleared
                okta = next(s for s in snapshot.sources if s.source == "oidc:okta")
                assert not okta.up
                assert {e.reason for e in okta.errors} == {"http_5xx"}
                assert missing(snapshot) == [
                    ("warning", "bigip-a", "k3", True),
                    ("warning", "bigip-b", "k3", True),
                ]
                assert snapshot.states  # the boundary checks still ran
            if stop.step == 7:  # 2h30m after first sight, across a restart: critical
                assert missing(snapshot) == [
                    ("critical", "bigip-a", "k3", False),
                    ("critical", "bigip-b", "k3", False),
                ]
                document = findings_document(snapshot)
                found = [f for f in document["findings"] if f["check"] == MISSING]
                assert {f["first_seen"] for f in found} == {
                    (world.started_at + timedelta(hours=4)).isoformat()
                }
                assert {dict(f["evidence"])["missing_for"] for f in found} == {"2 hours"}
            if stop.step == 8:
                assert missing(snapshot) == []
    finally:
        monitor.close()
        world.stop()
    assert [s for s, _ in seen] == [p.step for p in case.walk]


def test_the_walk_really_rotates(tmp_path: Path) -> None:
    """The IdP's key set at each step is the rotation the case describes (the walk cannot
    pass on a world that never changed)."""
    case = load_case(CASE)
    world, _, _ = start_world(case, tmp_path)
    try:
        kids = [tuple(k["kid"] for k in world.state.idps["okta"].keys)]
        signing = [world.state.idps["okta"].signing]
        while world.step() is not None:
            kids.append(tuple(k["kid"] for k in world.state.idps["okta"].keys))
            signing.append(world.state.idps["okta"].signing)
    finally:
        world.stop()
    assert kids == [
        ("k1",),
        ("k1", "k2"),
        ("k1", "k2"),
        ("k2",),
        ("k2", "k3"),
        ("k2", "k3"),
        ("k2", "k3"),
        ("k3",),
        ("k3",),
    ]
    assert signing == ["k1", "k1", "k2", "k2", "k2", "k3", "k3", "k3", "k3"]
