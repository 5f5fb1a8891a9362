"""The scenario table: load a case (tests/scenarios/<case>.yaml), run it, judge the result.

A case is a base scenario plus JSON-Pointer patches, and what the monitor must conclude
(the format: tests/scenarios/README.md). Two paths run the SAME case files:

- unit (`run_unit`): the simulated world served in-process (`World`, timeline stepped by
  hand), one `check_once` cycle on the config it writes;
- end to end (`run_e2e`, in tests/support/scenario_e2e.py): `python -m monitor simulate` and
  `python -m monitor check -o json` as subprocesses, plus one in-process daemon cycle
  published by a `WebServer`, whose `/api/findings` is fetched over HTTP.

Both return the findings document (`check -o json`, `/api/findings`), which `problems`
compares with the case's `expect:`. Objects written `fp:<certificate id>` and
`pod:<namespace>/<ip>` are resolved from the world as rendered at its start time: the
in-process world's own state, or for a `simulate` process the same rendering repeated at
its start time (read back from the `bigip-ca.pem` it wrote, and checked by regenerating
that CA byte for byte).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.catalogue import ALL_CHECKS, STATES
from monitor.config.schema import load_config
from monitor.daemon.cycle import check_once
from monitor.render.findings import findings_document
from monitor.render.rotation import rotation_document
from monitor.rotation.context import PHASES
from monitor.simulate.scenario import PatchOp, apply_patch
from monitor.simulate.world import Rendered, Scenario, World
from tests.support.paths import SCENARIOS

CASES_DIR = SCENARIOS
BASE = "base.yaml"
DEFAULT_BOUNDARY = "shop"  # the boundary of a finding written with four elements
CASE_KEYS = frozenset({"base", "description", "patch", "expected_patch", "expect", "walk", "xfail"})
EXPECT_KEYS = frozenset({"states", "na", "findings", "ignored", "rotation"})
PHASE_KEYS = frozenset({"step", "phase", "next", "steps", "states"})
FINDING_STATES = frozenset(STATES) - {"pass"}
_PLACEHOLDER = re.compile(r"\{([A-Za-z0-9_.-]+)\}")

Finding = tuple[str, str, str, str, str]  # check, severity, device, object, boundary


class CaseError(ValueError):
    """A case file that does not follow the format; the message names the file and place."""


# --- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """What the monitor must conclude: the non-pass states, the checks that must not
    apply, the exact findings (objects unresolved), which of them are ignored, and the
    rotation phase per boundary."""

    states: Mapping[str, str] = field(default_factory=dict)  # "check" or "check@boundary"
    na: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    ignored: tuple[Finding, ...] = ()  # those of `findings` an ignore rule matches
    rotation: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Phase:
    """One stop of a walk: after `step` timeline events, the rotation phase, words of its
    next step (`next`) and of any step (`steps`), and the non-pass check states."""

    step: int
    phase: str
    next: tuple[str, ...]
    steps: tuple[str, ...]
    states: Mapping[str, str]


@dataclass(frozen=True)
class Case:
    name: str
    path: Path
    description: str
    document: dict[str, Any]  # the scenario to simulate (base with the patches applied)
    expected_patch: tuple[PatchOp, ...]
    expect: Expect | None
    walk: tuple[Phase, ...]
    xfail: str | None


def case_paths() -> list[Path]:
    """Every case file, base excluded, in name order."""
    return sorted(p for p in CASES_DIR.glob("*.yaml") if p.name != BASE)


def load_case(path: Path) -> Case:
    raw = _read(path)
    where = path.name
    _keys(raw, CASE_KEYS, where)
    base_path = path.parent / str(raw.get("base", BASE))
    inherited: tuple[PatchOp, ...] = ()
    if base_path.name == BASE:
        base_doc = _read(base_path)
    else:  # a case as base: its scenario and its expected_patch
        base_case = load_case(base_path)
        base_doc, inherited = base_case.document, base_case.expected_patch
    ops = _ops(raw.get("patch"), f"{where}: patch")
    document = apply_patch(base_doc, ops)
    document["name"] = f"table-{path.stem}"
    if raw.get("description"):
        document["description"] = str(raw["description"])
    expect = _expect(raw["expect"], where) if "expect" in raw else None
    walk = tuple(_phase(item, f"{where}: walk[{i}]") for i, item in enumerate(raw.get("walk", [])))
    if (expect is None) == (not walk):
        raise CaseError(f"{where}: a case has `expect` or `walk` (exactly one)")
    return Case(
        name=path.stem,
        path=path,
        description=str(raw.get("description", "")),
        document=document,
        expected_patch=(*inherited, *_ops(raw.get("expected_patch"), f"{where}: expected_patch")),
        expect=expect,
        walk=walk,
        xfail=str(raw["xfail"]) if raw.get("xfail") else None,
    )


def base_case() -> Case:
    """base.yaml itself as a case: everything applicable passes, and the pin check (no
    pins) and open_onramp (no plaintext boundary) do not apply."""
    path = CASES_DIR / BASE
    document = _read(path)
    return Case(
        name="base",
        path=path,
        description=str(document.get("description", "")),
        document=document,
        expected_patch=(),
        expect=Expect(na=("trust_anchor_pin", "open_onramp"), rotation={"shop": "steady"}),
        walk=(),
        xfail=None,
    )


def _read(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise CaseError(f"{path.name}: expected a mapping")
    return data


def _keys(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise CaseError(f"{where}: unknown keys {unknown} (allowed: {sorted(allowed)})")


def _ops(raw: Any, where: str) -> tuple[PatchOp, ...]:
    ops = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, dict) or item.get("op") not in ("add", "replace", "remove"):
            raise CaseError(f"{where}[{i}]: expected {{op: add|replace|remove, path, value}}")
        _keys(item, frozenset({"op", "path", "value"}), f"{where}[{i}]")
        ops.append(PatchOp(item["op"], str(item["path"]), item.get("value"), f"{where}[{i}]"))
    return tuple(ops)


def _check_key(key: str, where: str) -> str:
    check = key.partition("@")[0]
    if check not in ALL_CHECKS:
        raise CaseError(f"{where}: unknown check id {check!r}")
    return key


def _states(raw: Any, where: str) -> dict[str, str]:
    states = {}
    for key, state in (raw or {}).items():
        if state not in FINDING_STATES:
            raise CaseError(
                f"{where}.{key}: state {state!r} is not one of {sorted(FINDING_STATES)}"
            )
        states[_check_key(str(key), where)] = str(state)
    return states


def _expect(raw: Any, where: str) -> Expect:
    if not isinstance(raw, dict):
        raise CaseError(f"{where}: expect must be a mapping")
    _keys(raw, EXPECT_KEYS, f"{where}: expect")
    rotation = {str(k): str(v) for k, v in (raw.get("rotation") or {}).items()}
    for boundary, phase in rotation.items():
        if phase not in PHASES:
            raise CaseError(f"{where}: expect.rotation.{boundary}: unknown phase {phase!r}")
    return Expect(
        states=_states(raw.get("states"), f"{where}: expect.states"),
        na=tuple(_check_key(str(c), f"{where}: expect.na") for c in raw.get("na") or []),
        findings=_findings(raw.get("findings"), f"{where}: expect.findings"),
        ignored=_findings(raw.get("ignored"), f"{where}: expect.ignored"),
        rotation=rotation,
    )


def _findings(raw: Any, where: str) -> tuple[Finding, ...]:
    findings = []
    for i, item in enumerate(raw or []):
        if not isinstance(item, list) or len(item) not in (4, 5):
            raise CaseError(f"{where}[{i}]: [check, severity, device, object(, boundary)]")
        check, severity, device, obj, *rest = (str(v) for v in item)
        _check_key(check, f"{where}[{i}]")
        if severity not in ("warning", "critical"):
            raise CaseError(f"{where}[{i}]: severity {severity!r}")
        findings.append((check, severity, device, obj, rest[0] if rest else DEFAULT_BOUNDARY))
    return tuple(findings)


def _phase(raw: Any, where: str) -> Phase:
    if not isinstance(raw, dict) or "phase" not in raw or "step" not in raw:
        raise CaseError(f"{where}: a phase needs `step` and `phase`")
    _keys(raw, PHASE_KEYS, where)
    if raw["phase"] not in PHASES:
        raise CaseError(f"{where}: unknown phase {raw['phase']!r}")
    return Phase(
        step=int(raw["step"]),
        phase=str(raw["phase"]),
        next=tuple(str(t) for t in raw.get("next") or []),
        steps=tuple(str(t) for t in raw.get("steps") or []),
        states=_states(raw.get("states"), f"{where}.states"),
    )


def write_scenario(case: Case, directory: Path) -> Path:
    """The case's scenario as a file `simulate` reads."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{case.name}.yaml"
    path.write_text(
        f"# {case.path.name} applied to its base (written by tests/support/scenario_table.py)\n"
        + yaml.safe_dump(case.document, sort_keys=False)
    )
    return path


# --- resolving fp:<id>, pod:<namespace>/<ip> and {id} -----------------------------------------


@dataclass(frozen=True)
class Resolved:
    """The certificates' fingerprints and the pods' names of one rendered world."""

    fingerprints: Mapping[str, str]  # certificate id → lowercase hex SHA-256
    pods: Mapping[str, str]  # "namespace/ip" → "namespace/name"

    def value(self, text: str) -> str:
        """`fp:<certificate id>` → its fingerprint, `pod:<ns>/<ip>` → the pod's name."""
        kind, sep, key = text.partition(":")
        if sep and kind == "fp":
            if key not in self.fingerprints:
                raise CaseError(f"{text}: no certificate {key!r} in the world")
            return self.fingerprints[key]
        if sep and kind == "pod":
            if key not in self.pods:
                raise CaseError(f"{text}: no pod at {key!r} in the world ({sorted(self.pods)})")
            return self.pods[key]
        return text

    def words(self, text: str) -> str:
        """`{certificate id}` → the first 16 hex digits of its fingerprint (as steps print)."""
        return _PLACEHOLDER.sub(lambda m: self.value(f"fp:{m.group(1)}")[:16], text)

    def deep(self, value: Any) -> Any:
        """`value` with every placeholder string resolved (lists and mappings walked)."""
        if isinstance(value, str):
            return self.value(value)
        if isinstance(value, list):
            return [self.deep(v) for v in value]
        if isinstance(value, dict):
            return {k: self.deep(v) for k, v in value.items()}
        return value


def resolved_from(state: Rendered) -> Resolved:
    pods = {}
    for obj in state.kube.objects:
        if obj.get("kind") == "Pod" and obj.get("status", {}).get("podIP"):
            meta = obj["metadata"]
            pods[f"{meta['namespace']}/{obj['status']['podIP']}"] = (
                f"{meta['namespace']}/{meta['name']}"
            )
    return Resolved({cid: cert.sha256 for cid, cert in state.certs.items()}, pods)


def patch_config(config_file: Path, case: Case, resolved: Resolved) -> None:
    """Apply the case's `expected_patch` (placeholders resolved) to the written config."""
    if not case.expected_patch:
        return
    ops = tuple(
        PatchOp(op.op, op.path, resolved.deep(op.value), op.where) for op in case.expected_patch
    )
    config = apply_patch(yaml.safe_load(config_file.read_text()), ops)
    config_file.write_text(yaml.safe_dump(config, sort_keys=False))


# --- judging a findings document ----------------------------------------------------------------


def states_of(document: Mapping[str, Any]) -> dict[tuple[str, str], str]:
    return {(c["check"], c["boundary"]): c["state"] for c in document["checks"]}


def findings_of(document: Mapping[str, Any], ignored: bool | None = None) -> list[Finding]:
    """The document's findings (only the ignored ones, or only the others, when asked)."""
    return sorted(
        (f["check"], f["severity"], f["device"], f["object"], f["boundary"])
        for f in document["findings"]
        if ignored is None or f["ignored"] is ignored
    )


def state_problems(
    wanted: Mapping[str, str], na: Sequence[str], actual: Mapping[tuple[str, str], str]
) -> list[str]:
    """Listed checks must have exactly their state, `na` ones none, all others pass."""
    problems = []
    expected = dict.fromkeys(actual, "pass")
    for key, state in wanted.items():
        check, _, boundary = key.partition("@")
        pairs = [p for p in actual if p[0] == check and boundary in ("", p[1])]
        if not pairs:
            problems.append(f"{key}: expected {state}, but it has no state (not applicable)")
        expected.update(dict.fromkeys(pairs, state))
    for key in na:
        check, _, boundary = key.partition("@")
        problems += [
            f"{c}@{b}: expected not applicable, but its state is {actual[(c, b)]}"
            for c, b in actual
            if c == check and boundary in ("", b)
        ]
    problems += [
        f"{check}@{boundary}: expected {expected[(check, boundary)]}, got {state}"
        for (check, boundary), state in actual.items()
        if state != expected[(check, boundary)]
    ]
    return problems


def problems(
    case: Case,
    document: Mapping[str, Any],
    rotation: Mapping[str, Any] | None,
    resolved: Resolved,
) -> list[str]:
    """Where the findings document differs from the case's expectations (empty: none)."""
    assert case.expect is not None, f"{case.name} is a walk"
    expect = case.expect
    found = [
        f"source {s['target']} down: {s['errors']}" for s in document["sources"] if not s["up"]
    ]
    found += state_problems(expect.states, expect.na, states_of(document))
    wanted = sorted((c, s, d, resolved.value(o), b) for c, s, d, o, b in expect.findings)
    actual = findings_of(document)
    found += [f"missing finding {f}" for f in wanted if f not in actual]
    found += [f"unexpected finding {f}" for f in actual if f not in wanted]
    if not found and wanted != actual:  # same items, different counts
        found.append(f"findings differ in number: expected {wanted}, got {actual}")
    ignored = sorted((c, s, d, resolved.value(o), b) for c, s, d, o, b in expect.ignored)
    if findings_of(document, ignored=True) != ignored:
        found.append(f"ignored findings: expected {ignored}, got {findings_of(document, True)}")
    if expect.rotation:
        phases = {p["boundary"]: p["phase"] for p in (rotation or {}).get("boundaries", [])}
        found += [
            f"rotation of {b}: expected {phase}, got {phases.get(b)}"
            for b, phase in expect.rotation.items()
            if phases.get(b) != phase
        ]
    return found


# --- the unit path: an in-process world and one check_once ------------------------------------


@dataclass(frozen=True)
class Result:
    document: dict[str, Any]  # the findings document
    rotation: dict[str, Any]  # the rotation document
    resolved: Resolved
    exit_code: int | None = None  # `check`'s, on the end-to-end path
    served: dict[str, Any] | None = None  # the daemon's /api/findings, end to end


def start_world(case: Case, directory: Path) -> tuple[World, Path, Resolved]:
    """The case's world, started in-process (timeline stepped by hand), its config file
    written and patched; the caller stops the world."""
    now = datetime.now(UTC).replace(microsecond=0)
    world = World(Scenario.load(write_scenario(case, directory), now), now=now)
    world.start(play_timeline=False)
    try:
        config = world.write_outputs(directory / "world")["config"]
        resolved = resolved_from(world.state)
        patch_config(config, case, resolved)
    except BaseException:
        world.stop()
        raise
    return world, config, resolved


def run_unit(case: Case, directory: Path) -> Result:
    world, config, resolved = start_world(case, directory)
    try:
        snapshot = check_once(load_config(config))
    finally:
        world.stop()
    return Result(findings_document(snapshot), rotation_document(snapshot), resolved)


def copy_case(case: Case, **changes: Any) -> Case:
    """A copy of `case` with some fields replaced (for testing the table itself)."""
    fields = {**case.__dict__, **changes}
    fields["document"] = copy.deepcopy(fields["document"])
    return Case(**fields)


# --- walks: the rotation planner along a timeline ---------------------------------------------


def phase_problems(
    phase: Phase,
    plan: Mapping[str, Any] | None,
    document: Mapping[str, Any] | None,
    resolved: Resolved,
) -> list[str]:
    """Where a boundary's rotation plan (and, when given, the findings document's states)
    differs from one stop of a walk."""
    if plan is None:
        return [f"step {phase.step}: no rotation plan"]
    found = []
    if plan["phase"] != phase.phase:
        found.append(f"phase {plan['phase']} ({plan['explanation']}), expected {phase.phase}")
    steps = list(plan["next_steps"])
    first = steps[0] if steps else ""
    found += [
        f"next step lacks {resolved.words(w)!r}: {first}"
        for w in phase.next
        if resolved.words(w) not in first
    ]
    found += [
        f"no step has {resolved.words(w)!r}: {steps}"
        for w in phase.steps
        if not any(resolved.words(w) in s for s in steps)
    ]
    if document is not None:
        found += state_problems(phase.states, (), states_of(document))
    return [f"step {phase.step}: {p}" for p in found]


def plan_of(rotation: Mapping[str, Any], boundary: str = DEFAULT_BOUNDARY) -> dict[str, Any] | None:
    return next((p for p in rotation.get("boundaries", []) if p["boundary"] == boundary), None)
