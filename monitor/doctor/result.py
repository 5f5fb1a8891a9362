"""What `doctor` found: the probes of each source, the verdict per check, the exit code.

A `Probe` is one thing tried (DNS, a login, a collection, a review) and how it went; a
`SourceReport` is a source's probes, whether the monitor can talk to it at all
(`reachable`), and which needs of `monitor.requirements` it does not grant (`missing`,
need → why). `verdicts` turns the reports into the table of every check of the catalogue:
it will run, it will be `unknown` and why (the source and the need, in words), or it does
not apply to any configured boundary. Besides the table, a device that reports no
`subjectAlternativeName` (TMOS before 14.1) and refuses util/bash leaves the name checks
unknown (`monitor.checks.access.needs_bash`).

Exit code (`exit_code`): 2 when the config is bad or a source cannot be reached or logged
in to (nothing of it could be read); 1 when something the config needs is not granted
(a check will be unknown, or a read every poll makes will fail); 0 otherwise. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from monitor.catalogue import CHECKS_BY_FAMILY
from monitor.checks import CHECKS
from monitor.checks.access import NEEDS_SAN_FIELD, needs_bash
from monitor.config.schema import BoundaryConfig, Config
from monitor.requirements import BASH, NEEDS, REQUIREMENTS

Status = Literal["ok", "refused", "failed", "note"]
Kind = Literal["bigip", "kubernetes"]


@dataclass(frozen=True, slots=True)
class Probe:
    name: str  # what was tried: "DNS", "TLS", "ltm/virtual", "list, watch secret linkerd/x"
    status: Status  # note: told for information, neither granted nor refused
    detail: str


@dataclass(frozen=True, slots=True)
class SourceReport:
    source: str  # the device name, or "kubernetes"
    kind: Kind
    where: str  # the URL, or how the API server is found
    probes: tuple[Probe, ...] = ()
    reachable: bool = True  # False: nothing of this source could be read
    missing: Mapping[str, str] = field(default_factory=dict)  # need → why
    problems: tuple[str, ...] = ()  # what is not granted but no check needs (still exit 1)
    version: str = ""  # BIG-IP: the TMOS version read ("" when not known)


@dataclass(frozen=True, slots=True)
class Verdict:
    check: str
    family: str
    runs: bool
    why: tuple[str, ...] = ()  # "bigip-a: util/bash: refused (http_401)"
    applies: bool = True  # False: no boundary of the config gets this check


def _lacking(report: SourceReport) -> Mapping[str, str]:
    """What a source does not grant: everything of its side when it cannot be read."""
    if report.reachable:
        return report.missing
    failed = next((p.name for p in reversed(report.probes) if p.status == "failed"), "")
    why = f"cannot be read ({failed} failed)" if failed else "cannot be read"
    return {key: why for key, need in NEEDS.items() if need.side == report.kind}


def verdicts(reports: Iterable[SourceReport], cfg: Config) -> tuple[Verdict, ...]:
    """Every check of the catalogue, in catalogue order: will it run with these accounts?

    A check is judged on the devices of the boundaries it applies to (by mode and expected
    state, as the runner decides) and on Kubernetes; one that applies to no boundary
    does not run at all and needs nothing."""
    registered = {c.id: c for c in CHECKS}
    reports = tuple(reports)
    lacking = {r.source: _lacking(r) for r in reports}
    out = []
    for family, checks in CHECKS_BY_FAMILY.items():
        for check in checks:
            entry = registered.get(check)
            boundaries = [b for b in cfg.boundaries if entry is None or entry.applies_to(cfg, b)]
            devices = {name for b in boundaries for name in b.devices}
            if family == "oidc":  # per identity provider, on its devices
                devices = {d for i in cfg.identity_providers for d in i.devices}
                boundaries = list(cfg.boundaries) if cfg.identity_providers else []
            needs = REQUIREMENTS.get(check, frozenset())
            why = tuple(
                f"{report.source}: {need}: {lacking[report.source][need]}"
                for report in reports
                if report.kind == "kubernetes" or report.source in devices
                for need in NEEDS
                if need in needs and need in lacking[report.source]
            ) + _names_without_bash(check, reports, lacking, boundaries)
            if not boundaries:
                out.append(Verdict(check, family, False, (), applies=False))
            else:
                out.append(Verdict(check, family, not why, why))
    return tuple(out)


def _names_without_bash(
    check: str,
    reports: tuple[SourceReport, ...],
    lacking: Mapping[str, Mapping[str, str]],
    boundaries: list[BoundaryConfig],
) -> tuple[str, ...]:
    """A name check on a device that reports no `subjectAlternativeName` (TMOS before 14.1,
    or a version not read) needs util/bash there (`monitor.checks.access`)."""
    if check not in NEEDS_SAN_FIELD:
        return ()
    out = []
    for report in reports:
        if report.kind != "bigip" or BASH not in lacking[report.source]:
            continue
        on = [b for b in boundaries if report.source in b.devices]
        reasons = {needs_bash(check, report.version, client_identity=bool(b.client_identity))
                   for b in on} - {None}  # fmt: skip
        out += [f"{report.source}: {BASH}: {reason}" for reason in sorted(map(str, reasons))]
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Report:
    sources: tuple[SourceReport, ...]
    verdicts: tuple[Verdict, ...]

    @property
    def unknown(self) -> tuple[Verdict, ...]:
        return tuple(v for v in self.verdicts if v.applies and not v.runs)

    def exit_code(self) -> int:
        if any(not s.reachable for s in self.sources):
            return 2
        if self.unknown or any(s.missing or s.problems for s in self.sources):
            return 1
        return 0
