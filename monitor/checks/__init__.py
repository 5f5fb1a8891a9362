"""The checks: pure functions from (expected state, observed state, now) to states and findings.

Owns the runner, `run_checks`, and the registry `CHECKS` (every implemented check, in the
order of the catalogue), the families' registries joined. The check families live in the
packages `trust/` (mesh side), `boundary/` (BIG-IP server-ssl side against the mesh),
`routes/` (virtuals and pools against endpoints and policy), `ha/` and `policy/` (the
Linkerd policy objects name what exists), each with its registry `CHECKS` in its
`__init__.py`, and in the module `edge.py` (client-ssl
certificates, registry included). The modules they share: the contract between a check and
the runner in `outcome.py`; the resolvers of what a boundary uses, on each device and in
the mesh, in `resolve.py`; the pairing of pool members with ready endpoints in
`matching.py`; expiry grading, expected identities and message wording in `common.py`.

Runner contract:
- For every boundary (config order) and every registered check (registry order) that
  applies to it, exactly one `CheckState`; a check that does not apply produces no state
  for that pair: by mode (`sni_mismatch` on a `plaintext` boundary) or by the expected
  state (`trust_anchor_pin` without pinned anchors, `ha_peer_divergence` without two of the
  boundary's devices in one haGroup).
- State: findings → `critical` if any is critical, else `warning`; otherwise `unknown` if an
  input was unknown (`detail` says which and why, `unknown_parts` which devices, "" for the
  mesh side); otherwise `pass`.
- Findings come in the same order as the states, each check's in the order it produced them.
- A check registered `mesh_wide` (its outcome depends on the observed mesh alone) runs once
  per run, for the first boundary it applies to; every other boundary gets that outcome.
  That memory lives for one run only: nothing is kept between cycles.
- Contained: a check that raises is `unknown` for that boundary (`detail` names the
  exception's type, never its message; every part of the boundary is unknown, so its
  previous findings are carried over) and the other checks still run; the exception comes
  back in `CheckResult.failures` for the caller to log.
- Pure: no I/O, no clock reads, no logging. `now` must be timezone-aware.

Adding a check: add its id to `monitor.catalogue` (if new), write
`def my_check(cfg, boundary, observed, now) -> Outcome` in a module of its family using
the resolvers of `resolve.py` (each returns an `Unknown` when an input is missing;
`per_device` runs a comparison on every device of the boundary), and append
`Check("my_check", my_check)` (or `Check(..., MESH_TLS)`) to the family's `CHECKS` (in its
package's `__init__.py`, or in `edge.py`), in catalogue order. The runner, the state rules
and `unknown_parts` need no change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from monitor.checks import boundary, edge, ha, policy, routes, trust
from monitor.checks.outcome import MESH, Check, Outcome, Unknown, conclude
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import CheckFailure, CheckResult, CheckState, Finding, Observed

__all__ = ["CHECKS", "IMPLEMENTED", "run_checks"]

CHECKS: Final[tuple[Check, ...]] = (
    trust.CHECKS + boundary.CHECKS + routes.CHECKS + edge.CHECKS + ha.CHECKS + policy.CHECKS
)
IMPLEMENTED: Final[frozenset[str]] = frozenset(c.id for c in CHECKS)


def run_checks(
    cfg: Config, observed: Observed, now: datetime, checks: Sequence[Check] = CHECKS
) -> CheckResult:
    """Run `checks` (default: every implemented check) for every boundary of `cfg`."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("run_checks: `now` must be a timezone-aware datetime")
    states: list[CheckState] = []
    findings: list[Finding] = []
    failures: list[CheckFailure] = []
    # this run's outcome of each mesh-wide check, or the exception it raised
    mesh_wide: dict[str, Outcome | Exception] = {}
    for bnd in cfg.boundaries:
        for check in checks:
            if not check.applies_to(cfg, bnd):
                continue
            if check.mesh_wide:
                if check.id not in mesh_wide:
                    mesh_wide[check.id] = _contained(check, cfg, bnd, observed, now)
                outcome = mesh_wide[check.id]
            else:
                outcome = _contained(check, cfg, bnd, observed, now)
            if isinstance(outcome, Exception):
                failures.append(CheckFailure(check.id, bnd.name, outcome))
                outcome = _failed(check, bnd, outcome)
            state, found = conclude(check.id, bnd.name, outcome)
            states.append(state)
            findings.extend(found)
    return CheckResult(states=tuple(states), findings=tuple(findings), failures=tuple(failures))


def _contained(
    check: Check, cfg: Config, bnd: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome | Exception:
    try:
        return check.run(cfg, bnd, observed, now)
    except Exception as err:  # a bug, or input no check foresaw: this pair only
        return err


def _failed(check: Check, bnd: BoundaryConfig, err: Exception) -> Outcome:
    """Every part of the boundary unknown (the mesh side and each device): nothing the
    check found before is cleared while it fails."""
    detail = f"{check.id} failed with an unexpected {type(err).__name__} (a bug; see the log)"
    return Outcome(unknowns=tuple(Unknown(part, detail) for part in (MESH, *bnd.devices)))
