"""The fault matrix: each kind of fault, armed on a running world, costs exactly what it must.

For every kind of `tests.support.faultmatrix.KINDS`, on the demo world (two BIG-IPs, one
cluster, findings on both sides), with one Monitor whose cycles run in this process:
- the cycle runs to the end and publishes (the daemon keeps serving);
- within one cycle the source hit is down with the kind's reason (or, for an absorbed
  fault, every source stays up), and every other source is up;
- no check changes state except to `unknown`, and no finding appears or clears: the
  findings of a source that cannot be read are carried;
- one cycle after the fault ends, every source is up and every state and finding is what it
  was before.
The table of docs/operations.md ("Fault matrix") lists the same kinds and reasons.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from monitor.state.snapshot import Snapshot
from tests.support.faultmatrix import INTERVAL, KINDS, Kind, Rig
from tests.support.paths import ROOT

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = Rig(tmp_path_factory.mktemp("fault-matrix"))
    try:
        first = rig.cycle()
        assert all(s.up for s in first.sources), _down(first)
        yield rig
    finally:
        rig.close()


def _down(snapshot: Snapshot) -> list[tuple[str, tuple[str, ...]]]:
    return [(s.source, tuple(e.reason for e in s.errors)) for s in snapshot.sources if not s.up]


def _states(snapshot: Snapshot) -> dict[tuple[str, str], str]:
    return {(s.check, s.boundary): s.state for s in snapshot.states}


def _findings(snapshot: Snapshot) -> set[tuple[str, str, str, str, str]]:
    return {(*t.finding.key, t.finding.severity) for t in snapshot.findings}


def _diff(a: dict[tuple[str, str], str], b: dict[tuple[str, str], str]) -> dict[str, Any]:
    return {f"{k[0]}/{k[1]}": (a.get(k), b.get(k)) for k in set(a) | set(b) if a.get(k) != b.get(k)}


def _healthy_like(snapshot: Snapshot, base: Snapshot) -> bool:
    return (
        not _down(snapshot)
        and _states(snapshot) == _states(base)
        and _findings(snapshot) == _findings(base)
    )


@pytest.mark.parametrize("kind", KINDS, ids=[k.name for k in KINDS])
def test_fault_is_contained(rig: Rig, kind: Kind) -> None:
    base = rig.cycle()
    assert not _down(base), _down(base)
    time.sleep(kind.age)
    kind.arm(rig)
    time.sleep(kind.settle)
    try:
        during = rig.cycle()
    finally:
        rig.clear()
    time.sleep(kind.settle)  # the restored objects reach the watches
    down = dict(_down(during))
    if kind.reason is None:
        assert not down, f"{kind.name} should be absorbed, but: {down}"
    else:
        assert list(down) == [kind.source], f"{kind.name}: down {down}"
        assert kind.reason in down[kind.source], f"{kind.name}: reasons {down[kind.source]}"
    before, now = _states(base), _states(during)
    assert set(now) == set(before)
    changed = {pair: (before[pair], now[pair]) for pair in now if now[pair] != before[pair]}
    assert all(state == "unknown" for _, state in changed.values()), changed
    if kind.reason is not None:
        assert changed, f"{kind.name}: the source is down but no check became unknown"
    assert _findings(during) == _findings(base), "a finding appeared or cleared"

    after = rig.cycle()
    if not _healthy_like(after, base):  # the next cycle, one interval later
        time.sleep(INTERVAL)
        after = rig.cycle()
        pytest.fail(
            f"{kind.name}: not recovered one cycle after the fault ended: "
            f"down {_down(after)}; states {_diff(_states(base), _states(after))}; findings"
            f" lost {_findings(base) - _findings(after)}, new {_findings(after) - _findings(base)}"
        )


def test_docs_list_every_kind_with_its_reason() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    section = text.split("### Fault matrix", 1)[1].split("\n## ", 1)[0]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^\| `(\w+)` \|[^|]*\|[^|]*\| (`\w+`|none[^|]*?) \|", section, re.M)
    }
    expected = {k.name: f"`{k.reason}`" if k.reason else "none" for k in KINDS}
    assert {name: reason.split(" ")[0] for name, reason in rows.items()} == expected
    assert len(KINDS) >= 24
