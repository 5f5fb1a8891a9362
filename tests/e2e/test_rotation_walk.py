"""The combined cases of the scenario table: a trust-anchor rotation walked on a timeline.

`tests/scenarios/rotation-walk.yaml` walks Linkerd's whole procedure, one timeline event per
operator step; `rotation-early-removal.yaml` falls into the linkerd2 #4287 trap (the old
anchor removed while pods from before the issuer change still run). Each runs its world
in-process, stepped with `World.step()`, with a daemon (`Monitor`, writing the state file
that remembers which pods predate the issuer change) cycling until it has seen each step.
At every stop of the walk, `python -m monitor rotation --config … -o json` (a separate
process, reading that state file) must print the expected phase and the key words of the
next step, and the daemon's check states must be the expected ones.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, build_monitor
from monitor.render.findings import findings_document
from monitor.render.rotation import rotation_document
from tests.support.paths import CLI, ROOT
from tests.support.scenario_table import (
    CASES_DIR,
    Case,
    Phase,
    Resolved,
    load_case,
    phase_problems,
    plan_of,
    start_world,
)

pytestmark = pytest.mark.e2e

WALK = CASES_DIR / "rotation-walk.yaml"
TRAP = CASES_DIR / "rotation-early-removal.yaml"
SETTLE_SECONDS = 20.0


def settle(daemon: Monitor, phase: Phase, resolved: Resolved) -> None:
    """Cycle the daemon until it shows `phase` (its Kubernetes watches catch up with the
    world's last change within a cycle or two); fail with what it showed last."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while True:
        snapshot = daemon.cycle()
        rotation = rotation_document(snapshot)
        found = phase_problems(phase, plan_of(rotation), findings_document(snapshot), resolved)
        if not found:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"the daemon never showed the expected stop: {found}")
        time.sleep(0.2)


def rotation_command(config: Path) -> tuple[int, dict[str, Any]]:
    result = subprocess.run(
        [*CLI, "rotation", "--config", str(config), "-o", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout)


def walk(case: Case, directory: Path) -> list[str]:
    """Step the case's world through its walk; the phases `rotation` printed, in order."""
    world, config, resolved = start_world(case, directory)
    printed: list[str] = []
    try:
        daemon = build_monitor(load_config(config))
        try:
            for phase in case.walk:
                while len(world.applied) < phase.step:
                    assert world.step() is not None, f"{case.name}: timeline too short"
                settle(daemon, phase, resolved)
                code, document = rotation_command(config)
                assert document["complete"], document["sources"]
                assert phase_problems(phase, plan_of(document), None, resolved) == []
                assert code == (1 if phase.phase == "broken" else 0)
                printed.append(document["boundaries"][0]["phase"])
        finally:
            daemon.close()
    finally:
        world.stop()
    assert (directory / "world" / "state.json").is_file()
    return printed


def test_a_full_rotation_prints_the_right_step_at_every_phase(tmp_path: Path) -> None:
    printed = walk(load_case(WALK), tmp_path)
    assert list(dict.fromkeys(printed)) == [
        "steady",
        "new_anchor_in_mesh",
        "new_anchor_staged_everywhere",
        "issuer_rotated",
        "old_anchor_removable",
    ]
    assert printed[-1] == "steady"


def test_removing_the_old_anchor_before_the_restart_is_broken_4287(tmp_path: Path) -> None:
    printed = walk(load_case(TRAP), tmp_path)
    assert printed == [
        "new_anchor_staged_everywhere",
        "issuer_rotated",
        "broken",
        "broken",
        "steady",
    ]
