"""The runner: every applicable check for every boundary, and what it may reuse from the last run.

Owns `run_checks` (one run, nothing remembered) and `CheckRunner` (the daemon's: the same
run, reusing what the previous run of the same runner worked out when its inputs did not
change). Both give exactly the same `CheckResult` for the same arguments; the runner
contract is in `monitor.checks`' docstring.

How a run is organised (the results do not depend on it, checks being pure):
- A check registered `mesh_wide`, or whose function never reads its `boundary`
  argument, is worked out once per run (`shared`) and every boundary it applies to gets
  that outcome.
- The other checks of a boundary that never read `now` (`timeless`, told from the
  function's code) run together on views of the observed state that record every lookup
  (`monitor.checks.reads`). The next run of a `CheckRunner` reuses their outcomes when the
  config, the source statuses (without timings) and the mesh's fields are the same and
  every recorded lookup finds the same value; a shared timeless check likewise.
- Checks that read `now` run every time, and so do the `oidc` family's, per identity
  provider (`monitor.checks.oidc.run_oidc`), after the boundaries' checks.
- Concluding an outcome (`conclude`) is reused when the outcome equals the last one of
  the same (check, boundary).
A check whose function cannot be read (no code object, `*args`) counts as reading its
boundary and `now`. Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

import dis
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from monitor.checks import oidc
from monitor.checks.outcome import MESH, Check, Outcome, Unknown, conclude
from monitor.checks.reads import Inputs, Reads, mesh_core, observed_core, same
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import CheckFailure, CheckResult, CheckState, Finding, Observed, SourceStatus

Result = Outcome | Exception
Concluded = tuple[Result, CheckState, tuple[Finding, ...]]
_BOUNDARY, _NOW = 1, 3  # positions of the arguments of a check function


def reads_argument(fn: Callable[..., object], position: int) -> bool:
    """Whether `fn` may read its positional argument `position` (True when unsure)."""
    code = getattr(fn, "__code__", None)
    if code is None or inspect.ismethod(fn) or position >= code.co_argcount:
        return True
    name = code.co_varnames[position]
    if name in code.co_cellvars:  # a nested function reads it
        return True
    for ins in dis.get_instructions(code):
        # newer CPythons load two locals in one instruction (3.13's LOAD_FAST_LOAD_FAST),
        # whose argval is the pair of names; any instruction naming it but a store reads it
        names = ins.argval if isinstance(ins.argval, tuple) else (ins.argval,)
        if name in names and ins.opname != "STORE_FAST":
            return True
        if ins.opname == "LOAD_GLOBAL" and ins.argval in ("locals", "vars", "eval", "exec"):
            return True
    return False


@dataclass(frozen=True, slots=True)
class Kind:
    """How the runner runs a check (module docstring)."""

    shared: bool
    timeless: bool


@functools.lru_cache(maxsize=32)
def kinds(checks: tuple[Check, ...]) -> tuple[Kind, ...]:
    return tuple(
        Kind(
            shared=check.mesh_wide or not reads_argument(check.run, _BOUNDARY),
            timeless=not reads_argument(check.run, _NOW),
        )
        for check in checks
    )


@dataclass(frozen=True, slots=True)
class _Unit:
    """What a group of timeless checks read, and their outcomes (or the exception raised)."""

    reads: Reads
    outcomes: dict[int, Result]  # by the check's position in the runner's checks


@dataclass
class Memory:
    """What a run leaves for the next run of the same `CheckRunner`."""

    cfg: Config
    sources: tuple[SourceStatus, ...]
    mesh: dict[bool, tuple[object, ...]] = field(default_factory=dict)  # `mesh_core`
    others: tuple[object, ...] = ()  # `observed_core`
    units: dict[tuple[str, str], _Unit] = field(default_factory=dict)
    concluded: dict[tuple[int, str], Concluded] = field(default_factory=dict)


class _Run:
    """One run: the inputs, the previous run's memory, and what this run leaves."""

    def __init__(
        self, cfg: Config, observed: Observed, now: datetime, before: Memory | None
    ) -> None:
        self.cfg, self.now = cfg, now
        self.inputs = Inputs.of(cfg, observed)
        self.before = before
        mesh = {shared: mesh_core(observed.mesh, shared) for shared in (False, True)}
        self.after = Memory(cfg, self.inputs.sources, mesh, observed_core(observed))
        self._ok: dict[bool, bool] = {}

    def reusable(self, shared: bool) -> bool:
        """Whether last run's units may be reused at all: same config, source statuses and
        mesh fields (`shared`: with the fields only shared checks see)."""
        if shared not in self._ok:
            before = self.before
            self._ok[shared] = (
                before is not None
                and same(before.cfg, self.cfg)
                and before.sources == self.inputs.sources
                and before.mesh.get(shared) == self.after.mesh[shared]
                and before.others == self.after.others
            )
        return self._ok[shared]

    def unit(
        self, key: tuple[str, str], bnd: BoundaryConfig, group: Sequence[tuple[int, Check]]
    ) -> _Unit:
        """The outcomes of `group` (timeless checks) on `bnd`: last run's when what they
        read holds the same values, else worked out now on recording views."""
        shared = key[0] == "shared"
        found = None
        if self.reusable(shared) and self.before is not None:
            earlier = self.before.units.get(key)
            if earlier is not None and list(earlier.outcomes) == [i for i, _ in group]:
                fresh = self.inputs.unchanged(earlier.reads)
                found = _Unit(fresh, earlier.outcomes) if fresh is not None else None
        if found is None:
            reads: Reads = {}
            view = self.inputs.view(reads, shared)
            outcomes = {i: contained(c, self.cfg, bnd, view, self.now) for i, c in group}
            found = _Unit(reads, outcomes)
        self.after.units[key] = found
        return found

    def timely(self, check: Check, bnd: BoundaryConfig, shared: bool) -> Result:
        """A check that reads `now`: run every time, on views that record nothing."""
        return contained(check, self.cfg, bnd, self.inputs.view(None, shared), self.now)

    def conclude(self, index: int, check: Check, bnd: BoundaryConfig, result: Result) -> Concluded:
        key = (index, bnd.name)
        earlier = self.before.concluded.get(key) if self.before is not None else None
        if earlier is not None and (
            earlier[0] is result
            or (
                isinstance(result, Outcome)
                and isinstance(earlier[0], Outcome)
                and earlier[0] == result
            )
        ):
            out = earlier
        else:
            outcome = failed(check, bnd, result) if isinstance(result, Exception) else result
            state, found = conclude(check.id, bnd.name, outcome)
            out = (result, state, found)
        self.after.concluded[key] = out
        return out


def evaluate(
    cfg: Config,
    observed: Observed,
    now: datetime,
    checks: tuple[Check, ...],
    before: Memory | None = None,
    *,
    memory: oidc.FirstSeen | None = None,
    oidc_checks: Sequence[oidc.OidcCheck] = oidc.CHECKS,
) -> tuple[CheckResult, Memory]:
    """The result of running `checks` for every boundary of `cfg`, then `oidc_checks` for
    every identity provider (`memory`: first-seen times, as `run_checks` takes them; these
    run every time), and the memory for the next run (`before`: the previous run's)."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("run_checks: `now` must be a timezone-aware datetime")
    run = _Run(cfg, observed, now, before)
    states: list[CheckState] = []
    findings: list[Finding] = []
    failures: list[CheckFailure] = []
    shared: dict[int, Result] = {}  # this run's outcome of each shared check
    numbered = tuple(zip(range(len(checks)), checks, kinds(checks), strict=True))
    for bnd in cfg.boundaries:
        applying = [(i, c, k) for i, c, k in numbered if c.applies_to(cfg, bnd)]
        group = [(i, c) for i, c, k in applying if k.timeless and not k.shared]
        unit: _Unit | None = None
        for index, check, kind in applying:
            if kind.shared:
                if index not in shared:
                    shared[index] = (
                        run.unit(("shared", str(index)), bnd, ((index, check),)).outcomes[index]
                        if kind.timeless
                        else run.timely(check, bnd, shared=True)
                    )
                result = shared[index]
            elif kind.timeless:
                if unit is None:
                    unit = run.unit(("boundary", bnd.name), bnd, group)
                result = unit.outcomes[index]
            else:
                result = run.timely(check, bnd, shared=False)
            _, state, found = run.conclude(index, check, bnd, result)
            if isinstance(result, Exception):
                failures.append(CheckFailure(check.id, bnd.name, result))
            states.append(state)
            findings.extend(found)
    per_idp = oidc.run_oidc(cfg, observed, now, memory or {}, oidc_checks)
    states += per_idp[0]
    findings += per_idp[1]
    failures += per_idp[2]
    done = CheckResult(states=tuple(states), findings=tuple(findings), failures=tuple(failures))
    return done, run.after


def contained(
    check: Check, cfg: Config, bnd: BoundaryConfig, observed: Observed, now: datetime
) -> Result:
    try:
        return check.run(cfg, bnd, observed, now)
    except Exception as err:  # a bug, or input no check foresaw: this pair only
        return err


def failed(check: Check, bnd: BoundaryConfig, err: Exception) -> Outcome:
    """Every part of the boundary unknown (the mesh side and each device): nothing the
    check found before is cleared while it fails."""
    detail = f"{check.id} failed with an unexpected {type(err).__name__} (a bug; see the log)"
    return Outcome(unknowns=tuple(Unknown(part, detail) for part in (MESH, *bnd.devices)))


class CheckRunner:
    """Runs `checks` cycle after cycle, reusing what did not change (module docstring).
    Not thread-safe: one cycle at a time."""

    def __init__(self, checks: Sequence[Check]) -> None:
        self.checks = tuple(checks)
        self._memory: Memory | None = None

    def run(
        self,
        cfg: Config,
        observed: Observed,
        now: datetime,
        *,
        memory: oidc.FirstSeen | None = None,
    ) -> CheckResult:
        """`run_checks(cfg, observed, now, checks, memory=memory)`."""
        result, self._memory = evaluate(
            cfg, observed, now, self.checks, self._memory, memory=memory
        )
        return result

    def forget(self) -> None:
        """Start afresh at the next run."""
        self._memory = None
