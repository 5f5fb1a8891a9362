"""The `oidc` family: an OIDC identity provider's signing keys against BIG-IP APM's copy.

Owns the family's registry `CHECKS` (catalogue order) and its runner `run_oidc`. The
checks run per configured identity provider, not per boundary: their states and findings
carry the provider's name where the other families carry a boundary name (the `boundary`
label), and `IDP` ("") as the part of findings about the IdP itself. The contract
(`OidcCheck`, `FirstSeen`) and the resolvers are in `inputs`; the key checks in `keys`;
the issuer, JWKS URI, refresh and algorithm checks in `settings`.

The state rules are the runner's (`monitor.checks.outcome.conclude`): a failed IdP poll
makes every part unknown, so nothing is cleared or invented; a check that raises is
unknown for that provider (the exception comes back as a `CheckFailure`).

May import `monitor.checks.outcome`, `monitor.checks.resolve`, `monitor.checks.common`,
`monitor.config` and `monitor.model`. Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from monitor.checks.oidc.inputs import IDP, FirstSeen, OidcCheck
from monitor.checks.oidc.keys import (
    key_material_mismatch,
    key_missing,
    signing_cert_expiry,
    stale_key,
)
from monitor.checks.oidc.settings import (
    issuer_mismatch,
    jwks_uri_mismatch,
    refresh_disabled,
    signing_alg_mismatch,
)
from monitor.checks.outcome import Outcome, Unknown, conclude
from monitor.config.schema import Config
from monitor.model import CheckFailure, CheckState, Finding, Observed

__all__ = ["CHECKS", "FirstSeen", "OidcCheck", "run_oidc"]

CHECKS: Final[tuple[OidcCheck, ...]] = (
    OidcCheck("oidc_discovery_issuer_mismatch", issuer_mismatch),
    OidcCheck("oidc_jwks_uri_mismatch", jwks_uri_mismatch),
    OidcCheck("oidc_jwks_key_missing_on_bigip", key_missing),
    OidcCheck("oidc_jwks_key_material_mismatch", key_material_mismatch),
    OidcCheck("oidc_jwks_stale_key_on_bigip", stale_key),
    OidcCheck("oidc_jwks_refresh_disabled", refresh_disabled),
    OidcCheck("oidc_signing_alg_mismatch", signing_alg_mismatch),
    OidcCheck("oidc_signing_cert_expiry", signing_cert_expiry),
)


def run_oidc(
    cfg: Config,
    observed: Observed,
    now: datetime,
    memory: FirstSeen,
    checks: Sequence[OidcCheck] = CHECKS,
) -> tuple[list[CheckState], list[Finding], list[CheckFailure]]:
    """Every check for every identity provider of `cfg`, in config then registry order."""
    states: list[CheckState] = []
    findings: list[Finding] = []
    failures: list[CheckFailure] = []
    for idp in cfg.identity_providers:
        for check in checks:
            try:
                outcome = check.run(cfg, idp, observed, now, memory)
            except Exception as err:  # a bug, or input no check foresaw: this pair only
                failures.append(CheckFailure(check.id, idp.name, err))
                detail = f"{check.id} failed with an unexpected {type(err).__name__} (a bug)"
                parts = (IDP, *idp.devices)
                outcome = Outcome(unknowns=tuple(Unknown(p, detail) for p in parts))
            state, found = conclude(check.id, idp.name, outcome)
            states.append(state)
            findings.extend(found)
    return states, findings, failures
