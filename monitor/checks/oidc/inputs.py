"""The inputs of the `oidc` checks: the IdP's published state and each device's APM view.

Owns the contract between an `oidc` check and its runner (`OidcCheck`, `FirstSeen`) and
the resolvers:
- `published(idp, observed)`: what the identity provider publishes, or an `Unknown` for
  every part (the IdP side "" and each device: a failed IdP poll never clears nor creates
  a finding) naming the source's error reasons;
- `per_device(idp, observed, evaluate)`: `evaluate` on each device expected to trust the
  provider, with the device's `Apm` view; a device that could not be read is unknown;
- `on_devices(idp, observed, evaluate, absent, at_idp)`: the frame of most checks,
  `published` then `per_device` with what the IdP published (and `at_idp`, the IdP side);
  with `absent` (the check that reports a missing provider), a device without the
  provider passes with a note;
- `Apm`: the provider on one device, its JWT config and the keys that config allows
  (allowed minus blocked, as jwk-configs), each resolved lazily with an `Unknown` when a
  collection could not be read. A device without APM provisioned, or without the
  provider, is `absent`: one clear fact (every IdP key is missing there, nothing refreshes
  them) that the key and refresh checks report, and the other checks pass with a note.
Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from monitor.checks.outcome import MESH, Outcome, Unknown
from monitor.checks.resolve import Device
from monitor.config.identity import IdentityProviderConfig
from monitor.config.schema import Config
from monitor.model import IdpState, Jwk, JwtConfig, OAuthProvider, Observed
from monitor.requirements import JWK_CONFIGS, JWT_CONFIGS, OAUTH_PROVIDERS, OIDC_TASKS

IDP: Final = MESH  # the part of findings about the IdP itself (no device)

# First-seen times of findings by key (check, provider, device, object): the daemon's
# memory (`Snapshot.seen`, kept in the state file), which the debounced checks read.
FirstSeen = Mapping[tuple[str, str, str, str], datetime]
OidcCheckFn = Callable[[Config, IdentityProviderConfig, Observed, datetime, FirstSeen], Outcome]


@dataclass(frozen=True, slots=True)
class OidcCheck:
    """A registered `oidc` check: its public id and its function."""

    id: str
    run: OidcCheckFn


def _reasons(observed: Observed, source: str) -> str:
    codes = sorted({e.reason for s in observed.sources if s.source == source for e in s.errors})
    return f" ({', '.join(codes)})" if codes else ""


def everywhere(idp: IdentityProviderConfig, detail: str) -> Outcome:
    """Every part unknown for one reason: the IdP side and each device."""
    return Outcome(unknowns=tuple(Unknown(p, detail) for p in (IDP, *idp.devices)))


def published(idp: IdentityProviderConfig, observed: Observed) -> IdpState | Outcome:
    """What the IdP published this cycle, or the unknown outcome when it could not be read."""
    state = observed.idp.get(idp.name)
    if state is None:
        why = _reasons(observed, idp.source)
        return everywhere(
            idp, f"{idp.source}: the discovery document or JWK Set could not be read{why}"
        )
    return state


@dataclass(frozen=True, slots=True)
class Apm:
    """The APM OAuth provider of one identity provider on one device."""

    device: Device
    path: str  # the configured provider path
    provider: OAuthProvider | None  # None: absent (see `absent`)
    absent: str  # why there is no provider ("" when there is one)

    def _unknown(self, *collections: str) -> Unknown | None:
        apm = self.device.state.apm
        if apm is None:
            return Unknown(self.device.name, f"{self.device.name}: APM was not read")
        for collection in collections:
            if collection in apm.failed:
                return self.device.unreadable(collection) or Unknown(
                    self.device.name, f"{self.device.name}: could not read {collection}"
                )
        return None

    def jwt(self) -> JwtConfig | Unknown | None:
        """The JWT config the provider validates tokens with (None: it has none)."""
        if self.provider is None:
            return None
        unknown = self._unknown(JWT_CONFIGS)
        if unknown is not None:
            return unknown
        name = self.provider.jwt_config
        apm = self.device.state.apm
        return apm.jwt_configs.get(name) if name is not None and apm is not None else None

    def keys(self) -> tuple[Jwk, ...] | Unknown:
        """The keys APM accepts for this provider: allowed minus blocked."""
        jwt = self.jwt()
        if isinstance(jwt, Unknown):
            return jwt
        if jwt is None:
            return ()
        unknown = self._unknown(JWK_CONFIGS)
        if unknown is not None:
            return unknown
        apm = self.device.state.apm
        found = apm.jwk_configs if apm is not None else {}
        blocked = set(jwt.blocked_keys)
        return tuple(found[p] for p in jwt.allowed_keys if p not in blocked and p in found)

    def tasks_running(self) -> bool | Unknown:
        """Whether a discovery task for this provider exists and is not cancelled."""
        unknown = self._unknown(OIDC_TASKS)
        if unknown is not None:
            return unknown
        apm = self.device.state.apm
        tasks = apm.tasks if apm is not None else ()
        return any(t.provider == self.path and not t.cancelled for t in tasks)

    def interval(self) -> timedelta | None:
        """How often discovery runs, as the device reports it (provider, else its task)."""
        minutes = self.provider.discovery_interval if self.provider is not None else None
        apm = self.device.state.apm
        if minutes is None and apm is not None:
            minutes = next((t.interval for t in apm.tasks if t.provider == self.path), None)
        return timedelta(minutes=minutes) if minutes else None


def resolve_apm(idp: IdentityProviderConfig, device: Device) -> Apm | Unknown:
    apm = device.state.apm
    path = idp.oauth_provider
    if apm is None:
        return Unknown(device.name, f"{device.name}: APM was not read")
    if apm.provisioned is False:
        return Apm(device, path, None, f"APM is not provisioned on {device.name}")
    if OAUTH_PROVIDERS in apm.failed:
        return device.unreadable(OAUTH_PROVIDERS) or Unknown(
            device.name, f"{device.name}: could not read {OAUTH_PROVIDERS}"
        )
    provider = apm.providers.get(path)
    if provider is None:
        return Apm(device, path, None, f"{device.name} has no APM OAuth provider {path}")
    return Apm(device, path, provider, "")


def per_device(
    idp: IdentityProviderConfig, observed: Observed, evaluate: Callable[[Apm], Outcome]
) -> Outcome:
    """`evaluate` on each device of `idp`, in config order; drifts and unknowns are stamped
    with the device's name."""
    outcomes: list[Outcome] = []
    for name in idp.devices:
        state = observed.f5.get(name)
        if state is None:
            why = _reasons(observed, name)
            outcomes.append(Outcome(unknowns=(Unknown(name, f"{name}: could not be read{why}"),)))
            continue
        errors = tuple(e for s in observed.sources if s.source == name for e in s.errors)
        view = resolve_apm(idp, Device(name, state, errors))
        out = Outcome(unknowns=(view,)) if isinstance(view, Unknown) else evaluate(view)
        outcomes.append(
            Outcome(
                drifts=tuple(replace(d, device=name) for d in out.drifts),
                unknowns=tuple(replace(u, part=name) for u in out.unknowns),
                notes=out.notes,
            )
        )
    return Outcome.merge(outcomes)


def on_devices(
    idp: IdentityProviderConfig,
    observed: Observed,
    evaluate: Callable[[IdpState, Apm], Outcome],
    absent: str | None = None,
    at_idp: Callable[[IdpState], Outcome] | None = None,
) -> Outcome:
    """`evaluate(published state, view)` on each device (`per_device`), after `at_idp`'s
    outcome (the IdP side) when given; every part unknown when the IdP could not be read;
    with `absent`, a device without the provider gets `absent_note` instead."""
    state = published(idp, observed)
    if isinstance(state, Outcome):
        return state

    def on_device(view: Apm) -> Outcome:
        if absent is not None and view.absent:
            return absent_note(view, absent)
        return evaluate(state, view)

    devices = per_device(idp, observed, on_device)
    return devices if at_idp is None else Outcome.merge((at_idp(state), devices))


def absent_note(view: Apm, check: str) -> Outcome:
    """The outcome of a comparison with nothing to compare on a device without the provider."""
    return Outcome(notes=(f"{view.absent}: nothing to compare ({check} reports it)",))


def identities(keys: tuple[Jwk, ...]) -> dict[tuple[str, str], Jwk]:
    """Keys by identity (kid, kty), first occurrence kept."""
    out: dict[tuple[str, str], Jwk] = {}
    for key in keys:
        out.setdefault(key.identity, key)
    return out


def age(
    memory: FirstSeen, check: str, idp: IdentityProviderConfig, device: str, obj: str, now: datetime
) -> tuple[datetime, timedelta]:
    """When a finding was first seen (now when it is new) and how long ago that was."""
    first = memory.get((check, idp.name, device, obj), now)
    return first, max(now - first, timedelta(0))
