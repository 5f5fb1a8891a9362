"""The contract between a check and the runner, and the state rules.

A check is a pure function `(cfg, boundary, observed, now) -> Outcome`, registered as a
`Check` (id, function, boundary modes it applies to) in its family's `CHECKS`.
An `Outcome` holds the drift it found (`Drift`: a finding without check id and boundary,
which the runner adds) and the parts it could not evaluate (`Unknown`). `conclude` turns
one outcome into exactly one `CheckState` plus its findings:
findings → `critical` if any is critical, else `warning`; otherwise an unknown input →
`unknown`; otherwise `pass`.

A "part" is the `Finding.device` value a finding would carry: a device name for
boundary-side findings, `MESH` ("") for mesh-side ones. `CheckState.unknown_parts` tells
the state layer which parts' previous findings to keep, so a failed poll never clears a
finding: a per-device check whose mesh input is unknown marks every device unknown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import CheckState, Finding, Observed, worst

MESH: Final = ""  # the part (Finding.device) of mesh-side findings
MESH_TLS: Final[frozenset[str]] = frozenset({"mesh-tls"})
ALL_MODES: Final[frozenset[str]] = frozenset({"mesh-tls", "plaintext"})

Evidence = tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class Drift:
    """One finding before the runner adds the check id and boundary name."""

    severity: Severity
    object: str
    message: str
    evidence: Evidence = ()
    device: str = MESH


@dataclass(frozen=True, slots=True)
class Unknown:
    """A part that could not be evaluated, and why (one line, naming source and input)."""

    part: str
    detail: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one check concluded for one boundary."""

    drifts: tuple[Drift, ...] = ()
    unknowns: tuple[Unknown, ...] = ()
    notes: tuple[str, ...] = ()  # context worth showing, e.g. which of two profiles was used

    @staticmethod
    def merge(outcomes: Iterable[Outcome]) -> Outcome:
        items = list(outcomes)
        return Outcome(
            drifts=tuple(d for o in items for d in o.drifts),
            unknowns=tuple(u for o in items for u in o.unknowns),
            notes=tuple(n for o in items for n in o.notes),
        )


PASS: Final = Outcome()

CheckFn = Callable[[Config, BoundaryConfig, Observed, datetime], Outcome]


@dataclass(frozen=True, slots=True)
class Check:
    """A registered check: its public id, its function and the boundary modes it applies to.

    A boundary whose mode is not in `modes`, or for which `applies` says no, gets no state
    at all for this check.
    """

    id: str
    run: CheckFn
    modes: frozenset[str] = ALL_MODES
    # Beyond the mode: does the expected state make the check meaningful for a boundary?
    # (e.g. pins configured, two devices in one haGroup). Not applicable: no state at all.
    applies: Callable[[Config, BoundaryConfig], bool] | None = None
    # The outcome depends on the observed mesh alone, not on the boundary: the runner works
    # it out once per run and gives every boundary it applies to that same outcome.
    mesh_wide: bool = False

    def applies_to(self, cfg: Config, boundary: BoundaryConfig) -> bool:
        return boundary.mode in self.modes and (self.applies is None or self.applies(cfg, boundary))


def conclude(check: str, boundary: str, outcome: Outcome) -> tuple[CheckState, tuple[Finding, ...]]:
    """The one `CheckState` and the findings of a (check, boundary) pair.

    Findings decide the state (critical if any is critical, else warning); without findings
    an unknown input makes it `unknown`; otherwise `pass`. `detail` lists every distinct
    unknown reason (then notes) whatever the state; `unknown_parts` the unknown parts in
    the order met. A second drift with the same (device, object) is dropped.
    """
    findings: list[Finding] = []
    seen: set[tuple[str, str]] = set()
    for drift in outcome.drifts:
        if (drift.device, drift.object) in seen:
            continue
        seen.add((drift.device, drift.object))
        findings.append(
            Finding(
                check=check,
                severity=drift.severity,
                boundary=boundary,
                device=drift.device,
                object=drift.object,
                message=drift.message,
                evidence=drift.evidence,
            )
        )
    parts = tuple(dict.fromkeys(u.part for u in outcome.unknowns))
    details = list(dict.fromkeys(u.detail for u in outcome.unknowns))
    details += [n for n in dict.fromkeys(outcome.notes) if n not in details]
    state = worst(findings) if findings or not parts else "unknown"
    return (
        CheckState(
            check=check,
            boundary=boundary,
            state=state,
            detail="; ".join(details),
            unknown_parts=parts,
        ),
        tuple(findings),
    )
