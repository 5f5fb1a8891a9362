"""The checks: pure functions from (expected state, observed state, now) to states and findings.

Owns the registry `CHECKS` (every implemented check, in the order of the catalogue), the
families' registries joined, and `run_checks`; the runner itself (and `CheckRunner`, which
reuses the last cycle's outcomes where their inputs did not change) is `runner.py`, with
the recording views it gives the checks in `reads.py`. The check families live in the
packages `trust/` (mesh side), `boundary/` (BIG-IP server-ssl side against the mesh),
`routes/` (virtuals and pools against endpoints and policy), `ha/` and `policy/` (the
Linkerd policy objects name what exists), each with its registry `CHECKS` in its
`__init__.py`, and in the module `edge.py` (client-ssl certificates, registry included);
the `oidc` package runs per identity provider instead (`oidc.run_oidc`: states and
findings under the provider's name). The modules they share: the contract between a check
and the runner in `outcome.py`; the resolvers of what a boundary uses, on each device and
in the mesh, in `resolve.py`; the pairing of pool members with ready endpoints in
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
- A check registered `mesh_wide` (its outcome depends on the observed mesh alone), or whose
  function never reads its boundary argument, runs once per run, for the first boundary
  it applies to; every other boundary gets that outcome. It alone sees
  `MeshState.proxies` (the whole cluster's proxies): the other checks see None there.
- `run_checks` keeps nothing between runs; a `CheckRunner` reuses an outcome only where
  the check's inputs are the same (`runner.py`), so its results are `run_checks`'.
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

from monitor.checks import boundary, edge, ha, oidc, policy, routes, trust
from monitor.checks.outcome import Check
from monitor.checks.runner import CheckRunner, evaluate
from monitor.config.schema import Config
from monitor.model import CheckResult, Observed

__all__ = ["CHECKS", "IMPLEMENTED", "CheckRunner", "run_checks"]

CHECKS: Final[tuple[Check, ...]] = (
    trust.CHECKS + boundary.CHECKS + routes.CHECKS + edge.CHECKS + ha.CHECKS + policy.CHECKS
)
IMPLEMENTED: Final[frozenset[str]] = frozenset(
    (*(c.id for c in CHECKS), *(c.id for c in oidc.CHECKS))
)


def run_checks(
    cfg: Config,
    observed: Observed,
    now: datetime,
    checks: Sequence[Check] = CHECKS,
    *,
    memory: oidc.FirstSeen | None = None,
    oidc_checks: Sequence[oidc.OidcCheck] = oidc.CHECKS,
) -> CheckResult:
    """Run `checks` (default: every implemented check) for every boundary of `cfg`, then
    `oidc_checks` for every identity provider; `memory`: the first-seen times of the
    findings so far (the debounced `oidc` checks grade on them)."""
    return evaluate(cfg, observed, now, tuple(checks), memory=memory, oidc_checks=oidc_checks)[0]
