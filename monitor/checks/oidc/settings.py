"""The settings checks of the `oidc` family: what APM was told about the IdP, against the IdP.

- `oidc_discovery_issuer_mismatch`: the discovery document's `issuer` must be identical to
  the configured issuer (OpenID Connect Discovery 4.3; IdP side, device ""), and the JWT
  config's `issuer` on each device must be identical to it: every token fails APM's `iss`
  check otherwise. Critical.
- `oidc_jwks_uri_mismatch`: the JWT config's `jwksUri` must be the discovery document's
  `jwks_uri`, and (auto JWT) the provider's `openidCfgUri` the configured discovery URL,
  `?appid=` included for Entra's app-specific keys. Critical when an IdP signing key is
  missing on the device as a result, else warning.
- `oidc_jwks_refresh_disabled`: nothing on the device keeps the keys current: Use Auto JWT
  off (manual keys), no discovery task for the provider, or its task cancelled. Warning;
  critical for Entra (no notice before a roll, research/oidc.md 1.4); passes with manual
  keys when the expected state says so (`manualKeys: true`) and no IdP key is missing.
- `oidc_signing_alg_mismatch`: no algorithm the IdP signs with (its keys' `alg`, else
  `id_token_signing_alg_values_supported`) is among the JWT config's
  `allowedSigningAlgorithms`. Critical.
A device without APM or without the provider: the comparisons pass with a note, and
`oidc_jwks_refresh_disabled` reports that nothing refreshes the keys there.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from datetime import datetime

from monitor.catalogue import Severity
from monitor.checks.oidc.inputs import (
    IDP,
    Apm,
    FirstSeen,
    absent_note,
    identities,
    on_devices,
    per_device,
    published,
)
from monitor.checks.oidc.keys import MISSING
from monitor.checks.outcome import Drift, Outcome, Unknown
from monitor.config.identity import IdentityProviderConfig
from monitor.config.schema import Config
from monitor.model import IdpState, Observed


def issuer_mismatch(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    def at_idp(state: IdpState) -> Outcome:
        if state.issuer == idp.issuer:
            return Outcome()
        message = (
            f"{idp.name}: the discovery document at {idp.discovery_url} names issuer"
            f" {state.issuer}, not {idp.issuer}: relying parties must refuse it (Discovery"
            " 4.3) — correct identityProviders issuer or the IdP"
        )
        evidence = (("expected_issuer", idp.issuer), ("discovered_issuer", state.issuer or ""))
        return Outcome((Drift("critical", "discovery", message, evidence, device=IDP),))

    def on_device(state: IdpState, view: Apm) -> Outcome:
        jwt = view.jwt()
        if isinstance(jwt, Unknown):
            return Outcome(unknowns=(jwt,))
        if jwt is None or jwt.issuer == state.issuer:
            return Outcome()
        message = (
            f"{view.device.name}: JWT config {jwt.path} of {view.path} expects issuer"
            f" {jwt.issuer or '(none)'}, but {idp.name} issues tokens as {state.issuer}: every"
            " token fails the iss check — run discovery or correct the JWT config's issuer"
        )
        evidence = (
            ("jwt_config", jwt.path),
            ("bigip_issuer", jwt.issuer or ""),
            ("discovered_issuer", state.issuer or ""),
        )
        return Outcome((Drift("critical", jwt.path, message, evidence),))

    return on_devices(idp, observed, on_device, absent=MISSING, at_idp=at_idp)


def _missing_any(state: IdpState, view: Apm) -> bool | Unknown:
    accepted = view.keys()
    if isinstance(accepted, Unknown):
        return accepted
    have = identities(accepted)
    return any(k.signing and k.identity not in have for k in state.keys)


def jwks_uri_mismatch(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    def on_device(state: IdpState, view: Apm) -> Outcome:
        if view.absent or view.provider is None:
            return absent_note(view, MISSING)
        jwt = view.jwt()
        if isinstance(jwt, Unknown):
            return Outcome(unknowns=(jwt,))
        wrong: list[tuple[str, str, str, str]] = []  # (object, field, theirs, expected)
        uri = view.provider.openid_cfg_uri
        if view.provider.use_auto_jwt_config and uri != idp.discovery_url:
            wrong.append((view.path, "openidCfgUri", uri or "(none)", idp.discovery_url))
        if jwt is not None and jwt.jwks_uri is not None and jwt.jwks_uri != state.jwks_uri:
            wrong.append((jwt.path, "jwksUri", jwt.jwks_uri, state.jwks_uri or ""))
        if not wrong:
            return Outcome()
        missing = _missing_any(state, view)
        severity: Severity = "critical" if missing is True else "warning"
        drifts = []
        for obj, name, theirs, expected in wrong:
            appid = " (without ?appid=)" if idp.appid and "appid=" not in theirs else ""
            message = (
                f"{view.device.name}: {obj} {name} is {theirs}{appid}, but {idp.name} publishes"
                f" {expected}: APM fetches keys from the wrong place"
                f"{', and lacks signing keys' if missing is True else ''} — correct {name}"
            )
            evidence = (("object", obj), ("field", name), ("bigip", theirs), ("expected", expected))
            drifts.append(Drift(severity, f"{obj}:{name}", message, evidence))
        notes = (missing.detail,) if isinstance(missing, Unknown) else ()
        return Outcome(tuple(drifts), notes=notes)

    return on_devices(idp, observed, on_device)


def refresh_disabled(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    severity: Severity = "critical" if idp.kind == "entra" else "warning"

    def on_device(view: Apm) -> Outcome:
        provider = view.provider
        if provider is None:
            message = f"{view.absent}: nothing fetches {idp.name}'s signing keys there"
            return Outcome((Drift(severity, view.path, message, (("provider", view.path),)),))
        if not provider.use_auto_jwt_config:
            if idp.manual_keys:
                state = published(idp, observed)
                if isinstance(state, Outcome):
                    return Outcome(unknowns=tuple(u for u in state.unknowns if u.part))
                missing = _missing_any(state, view)
                if isinstance(missing, Unknown):
                    return Outcome(unknowns=(missing,))
                if not missing:
                    return Outcome(notes=("manual keys by design (manualKeys: true)",))
            why = "Use Auto JWT is off (manual keys)"
        else:
            running = view.tasks_running()
            if isinstance(running, Unknown):
                return Outcome(unknowns=(running,))
            if running:
                return Outcome()
            why = "no discovery task runs for it (none, or cancelled)"
        message = (
            f"{view.device.name}: {view.path} does not refresh {idp.name}'s signing keys: {why};"
            " the next key rotation breaks every login — enable Use Auto JWT and a discovery"
            " task (Discovery Task Frequency)"
        )
        evidence = (
            ("provider", view.path),
            ("use_auto_jwt_config", str(provider.use_auto_jwt_config).lower()),
            ("reason", why),
        )
        return Outcome((Drift(severity, view.path, message, evidence),))

    return per_device(idp, observed, on_device)


def signing_alg_mismatch(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    def on_device(state: IdpState, view: Apm) -> Outcome:
        jwt = view.jwt()
        if isinstance(jwt, Unknown):
            return Outcome(unknowns=(jwt,))
        from_keys = {k.alg.upper() for k in state.keys if k.signing and k.alg}
        signs = sorted(from_keys or {a.upper() for a in state.algs})
        if jwt is None or not signs or set(signs) & set(jwt.allowed_algs):
            return Outcome()
        allowed = ", ".join(jwt.allowed_algs) or "none"
        message = (
            f"{view.device.name}: JWT config {jwt.path} allows {allowed}, but {idp.name} signs"
            f" with {', '.join(signs)}: every token is refused — allow the IdP's algorithm"
        )
        evidence = (("jwt_config", jwt.path), ("allowed", allowed), ("idp_algs", ", ".join(signs)))
        return Outcome((Drift("critical", jwt.path, message, evidence),))

    return on_devices(idp, observed, on_device, absent=MISSING)
