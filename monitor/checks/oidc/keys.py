"""The key checks of the `oidc` family: the IdP's signing keys against the keys APM accepts.

A key's identity is (`kid`, `kty`); the keys APM accepts for a provider are the jwk-configs
its JWT config allows, minus the blocked ones. Only signing keys of the IdP count (`use`
`sig` or absent).

- `oidc_jwks_key_missing_on_bigip`: an IdP signing key APM does not accept. Warning at
  first sight (Okta publishes the NEXT key weeks before it signs, research/oidc.md 1.5);
  critical once the gap has lasted `thresholds.keyMissingCritical` (default twice the
  provider's discovery interval as the device reports it, 2h when it does not): by then a
  discovery that works would have fetched it. How long is read from the first-seen memory
  of this very finding (`FirstSeen`), which survives restarts in the state file and is
  kept while the IdP or the device cannot be read. A device without APM or without the
  provider lacks every key (critical at once: nothing will ever fetch them).
- `oidc_jwks_key_material_mismatch`: the same identity with different material (RSA n/e,
  else EC point, else the x5t thumbprints): a kid reused for a new key, a silent signature
  failure; critical. Unknown for a pair with nothing comparable.
- `oidc_jwks_stale_key_on_bigip`: a key APM accepts that the IdP no longer publishes
  (retired or revoked, OIDC Core 10.1.1); warning, critical after
  `thresholds.staleKeyCritical` (first-seen memory as above).
- `oidc_signing_cert_expiry`: the end date of the certificate (`x5c[0]`) of each IdP signing
  key APM accepts, graded with `thresholds.signingCert`; not judged when the provider has
  `ignoreExpiredCert` (whether APM rejects a key whose certificate expired is UNVERIFIED).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from datetime import datetime

from monitor.catalogue import Severity
from monitor.checks.common import expiry_phrase, grade, humane_duration, iso
from monitor.checks.oidc.inputs import (
    Apm,
    FirstSeen,
    age,
    identities,
    on_devices,
)
from monitor.checks.outcome import Drift, Outcome, Unknown
from monitor.config.identity import IdentityProviderConfig
from monitor.config.schema import Config, Threshold
from monitor.model import IdpState, Jwk, Observed

MISSING = "oidc_jwks_key_missing_on_bigip"
MATERIAL = "oidc_jwks_key_material_mismatch"
STALE = "oidc_jwks_stale_key_on_bigip"
CERT_EXPIRY = "oidc_signing_cert_expiry"


def _signing(state: IdpState) -> dict[tuple[str, str], Jwk]:
    return identities(tuple(k for k in state.keys if k.signing))


def _key_evidence(key: Jwk) -> tuple[tuple[str, str], ...]:
    out = [("kid", key.kid), ("kty", key.kty)]
    if key.alg:
        out.append(("alg", key.alg))
    if key.x5t:
        out.append(("x5t", key.x5t))
    if key.path:
        out.append(("jwk_config", key.path))
    return tuple(out)


def key_missing(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    def on_device(state: IdpState, view: Apm) -> Outcome:
        accepted = view.keys()
        if isinstance(accepted, Unknown):
            return Outcome(unknowns=(accepted,))
        wanted = _signing(state)
        have = identities(accepted)
        limit = idp.key_missing_critical(view.interval())
        drifts = []
        for identity, key in wanted.items():
            if identity in have:
                continue
            _, lasted = age(memory, MISSING, idp, view.device.name, key.kid, now)
            where = view.absent or f"APM provider {view.path} does not accept it"
            critical = bool(view.absent) or lasted >= limit
            when = (
                f"missing for {humane_duration(lasted)}, beyond {humane_duration(limit)}"
                if critical and not view.absent
                else "nothing on this device will fetch it"
                if view.absent
                else f"critical if still missing after {humane_duration(limit)}"
            )
            message = (
                f"{view.device.name}: {idp.name} publishes signing key {key.kid} ({key.kty}) but"
                f" {where}: tokens it signs will be refused ({when}) — run discovery on"
                f" {view.path} or add the key"
            )
            evidence = (
                *_key_evidence(key),
                ("provider", view.path),
                ("missing_for", humane_duration(lasted)),
                ("critical_after", humane_duration(limit)),
                ("jwks_uri", state.jwks_uri or ""),
            )
            drifts.append(Drift("critical" if critical else "warning", key.kid, message, evidence))
        return Outcome(tuple(drifts))

    return on_devices(idp, observed, on_device)


def _comparable(a: Jwk, b: Jwk) -> tuple[str, str, str] | None:
    """(what, IdP's, BIG-IP's) of the first material both keys carry; None: none."""
    pairs = (
        ("modulus/exponent", f"{a.n}/{a.e}" if a.n and a.e else None,
         f"{b.n}/{b.e}" if b.n and b.e else None),
        ("EC point", f"{a.crv}/{a.x}/{a.y}" if a.x else None,
         f"{b.crv}/{b.x}/{b.y}" if b.x else None),
        ("x5t#S256", a.x5t_s256, b.x5t_s256),
        ("x5t", a.x5t, b.x5t),
    )  # fmt: skip
    for what, mine, theirs in pairs:
        if mine and theirs:
            return what, mine, theirs
    return None


def _short(value: str) -> str:
    return value if len(value) <= 24 else f"{value[:12]}…{value[-8:]}"


def key_material_mismatch(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    def on_device(state: IdpState, view: Apm) -> Outcome:
        accepted = view.keys()
        if isinstance(accepted, Unknown):
            return Outcome(unknowns=(accepted,))
        wanted = _signing(state)
        drifts, unknowns = [], []
        for identity, mine in identities(accepted).items():
            theirs = wanted.get(identity)
            if theirs is None:
                continue
            compared = _comparable(theirs, mine)
            if compared is None:
                detail = f"{view.device.name}: key {mine.kid} has no material to compare"
                unknowns.append(Unknown(view.device.name, detail))
                continue
            what, at_idp, at_bigip = compared
            if at_idp == at_bigip:
                continue
            message = (
                f"{view.device.name}: key {mine.kid} ({mine.kty}) of {idp.name} differs between"
                f" the IdP and {mine.path} ({what}): tokens signed with it fail validation —"
                f" the kid was reused for new material; run discovery on {view.path} or"
                " replace the key"
            )
            evidence = (
                *_key_evidence(mine),
                ("compared", what),
                ("idp_value", _short(at_idp)),
                ("bigip_value", _short(at_bigip)),
            )
            drifts.append(Drift("critical", mine.kid, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns))

    return on_devices(idp, observed, on_device, absent=MISSING)


def stale_key(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    limit = idp.thresholds.stale_key_critical

    def on_device(state: IdpState, view: Apm) -> Outcome:
        accepted = view.keys()
        if isinstance(accepted, Unknown):
            return Outcome(unknowns=(accepted,))
        published_ids = identities(state.keys)
        drifts = []
        for identity, key in identities(accepted).items():
            if identity in published_ids:
                continue
            _, lasted = age(memory, STALE, idp, view.device.name, key.kid, now)
            severity: Severity = "critical" if lasted >= limit else "warning"
            message = (
                f"{view.device.name}: {key.path} still accepts key {key.kid} ({key.kty}), which"
                f" {idp.name} no longer publishes (retired or revoked) for"
                f" {humane_duration(lasted)}: tokens signed with a withdrawn key are still"
                f" accepted — run discovery on {view.path} or remove the key"
            )
            evidence = (
                *_key_evidence(key),
                ("provider", view.path),
                ("critical_after", humane_duration(limit)),
            )
            drifts.append(Drift(severity, key.kid, message, evidence))
        return Outcome(tuple(drifts))

    return on_devices(idp, observed, on_device, absent=MISSING)


def signing_cert_expiry(
    cfg: Config, idp: IdentityProviderConfig, observed: Observed, now: datetime, memory: FirstSeen
) -> Outcome:
    cert = idp.thresholds.signing_cert
    threshold = Threshold(cert.warning, cert.critical)

    def on_device(state: IdpState, view: Apm) -> Outcome:
        if view.provider is not None and view.provider.ignore_expired_cert:
            return Outcome(notes=(f"{view.path} ignores expired certificates: not judged",))
        accepted = view.keys()
        if isinstance(accepted, Unknown):
            return Outcome(unknowns=(accepted,))
        wanted = _signing(state)
        drifts = []
        for identity in identities(accepted):
            key = wanted.get(identity)
            if key is None or key.cert_not_after is None:
                continue
            severity = grade(key.cert_not_after - now, threshold)
            if severity is None:
                continue
            message = (
                f"{view.device.name}: the certificate of {idp.name} signing key {key.kid}, which"
                f" {view.path} accepts, {expiry_phrase(key.cert_not_after, now)} — expect the"
                " IdP to roll the key; check that discovery on BIG-IP follows"
            )
            evidence = (
                *_key_evidence(key),
                ("cert_subject", key.cert_subject),
                ("cert_not_after", iso(key.cert_not_after)),
            )
            drifts.append(Drift(severity, key.kid, message, evidence))
        return Outcome(tuple(drifts))

    return on_devices(idp, observed, on_device, absent=MISSING)
