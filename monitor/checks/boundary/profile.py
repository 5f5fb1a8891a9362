"""Boundary checks of the server-ssl profile's own settings: does BIG-IP verify the pod?

Owns `peer_validation_disabled`, `authenticate_name_mismatch`, `expired_cert_accepted`,
`untrusted_cert_accepted` and `tls13_disabled` (registered in `boundary.CHECKS`, mesh-tls
only). Each reads the server-ssl profile the boundary uses on each device (research/f5.md
§2.5, §8); every finding's object is the profile's path and every one is critical, except
an `authenticateName` of none (a warning: any certificate the bundle trusts is accepted,
so the CA bundle still limits who can answer).

- `peer_validation_disabled`: `peerCertMode` other than `require` (BIG-IP's default is
  `ignore`: the pod certificate is never checked), or no `caFile` (nothing to check it
  against); both in one finding.
- `authenticate_name_mismatch`: `authenticateName` (the name the pod certificate must
  match; REST `serverName` is the SNI, `sni_mismatch`) must be the backend's mesh identity
  (configured, or with identity `auto` the ServiceAccount identity of the ready endpoints;
  several of them: one name cannot match them all).
- `expired_cert_accepted` / `untrusted_cert_accepted`: `expireCertResponseControl` /
  `untrustedCertResponseControl` `ignore` let an expired / unverifiable pod certificate in.
- `tls13_disabled`: `tmOptions` holding `no-tlsv1.3` (list entries or a `{ a b }` string,
  split either way): Linkerd's proxies speak TLS 1.3 only.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Final

from monitor.catalogue import Severity
from monitor.checks.common import expected_identities
from monitor.checks.outcome import Drift, Evidence, Outcome, Unknown
from monitor.checks.resolve import (
    Device,
    attached,
    everywhere,
    per_device,
    profile_evidence,
    resolve_server_ssl,
    service_key,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed, ServerSslProfile

NO_TLS13: Final = "no-tlsv1.3"

# What a profile-only check finds: None, or (severity, message after "server-ssl <path>",
# extra evidence).
Verdict = tuple[Severity, str, Evidence] | None


def _profile_check(
    boundary: BoundaryConfig, observed: Observed, judge: Callable[[ServerSslProfile], Verdict]
) -> Outcome:
    """Run `judge` on the server-ssl profile of each device; a verdict is one finding."""

    def on_device(device: Device) -> Outcome:
        chosen = resolve_server_ssl(boundary, device)
        if isinstance(chosen, Unknown):
            return Outcome(unknowns=(chosen,))
        profile = chosen.value
        verdict = judge(profile)
        if verdict is None:
            return Outcome(notes=chosen.notes)
        severity, text, extra = verdict
        message = f"{device.name}: server-ssl {attached(profile.path, chosen.configured)} {text}"
        evidence = (*profile_evidence(profile.path, chosen.configured), *extra)
        drift = Drift(severity, profile.path, message, evidence)
        return Outcome(drifts=(drift,), notes=chosen.notes)

    return per_device(boundary, observed, on_device)


def peer_validation_disabled(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """`peerCertMode` must be `require` and `caFile` set: else the pod is never verified."""

    def judge(profile: ServerSslProfile) -> Verdict:
        problems: list[str] = []
        fixes: list[str] = []
        if profile.peer_cert_mode != "require":
            problems.append(f"has peerCertMode {profile.peer_cert_mode}")
            fixes.append("set peerCertMode require (AS3 validateCertificate: true)")
        if profile.ca_file is None:
            problems.append("has no caFile")
            fixes.append("set caFile to a CA bundle holding the Linkerd trust anchors")
        if not problems:
            return None
        text = (
            f"{' and '.join(problems)}: the pod certificate is never checked, so anyone who"
            f" can answer at the pool members' addresses gets BIG-IP's traffic — {'; '.join(fixes)}"
        )
        evidence = (
            ("peer_cert_mode", profile.peer_cert_mode),
            ("ca_file", profile.ca_file or "none"),
        )
        return ("critical", text, evidence)

    return _profile_check(boundary, observed, judge)


def authenticate_name_mismatch(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """`authenticateName` must be the backend's mesh identity (module docstring)."""
    expected = expected_identities(cfg, boundary, observed.mesh)
    if isinstance(expected, Unknown):
        return everywhere(boundary, expected.detail)

    def judge(profile: ServerSslProfile) -> Verdict:
        name = profile.authenticate_name
        evidence = (
            ("authenticate_name", name if name is not None else "none"),
            ("expected_identity", ",".join(expected)),
        )
        fix = "set the profile's authenticateName (tmsh authenticate-name, AS3 serverName) to"
        if name is None:
            text = (
                "has no authenticateName: any certificate the CA bundle trusts is accepted for"
                f" this backend, whatever identity it names — {fix} {expected[0]}"
            )
            if len(expected) > 1:
                text = (
                    "has no authenticateName: any certificate the CA bundle trusts is accepted"
                    " for this backend, whatever identity it names — run the backend under one"
                    " ServiceAccount and set authenticateName to its identity"
                )
            return ("warning", text, evidence)
        if len(expected) > 1:
            text = (
                f'requires the name "{name}", but the ready endpoints of Service'
                f" {service_key(boundary)} run as several ServiceAccounts ({', '.join(expected)});"
                " pods with another identity fail the name check — run the backend under one"
                " ServiceAccount, or set backend.identity"
            )
            return ("critical", text, evidence)
        if name.lower().rstrip(".") == expected[0].lower():
            return None
        text = (
            f'requires the pod certificate to match "{name}", but the backend\'s mesh identity'
            f" is {expected[0]}: BIG-IP rejects every pod — {fix} {expected[0]}"
        )
        return ("critical", text, evidence)

    return _profile_check(boundary, observed, judge)


def expired_cert_accepted(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """`expireCertResponseControl` `ignore` lets an expired pod certificate through."""

    def judge(profile: ServerSslProfile) -> Verdict:
        if profile.expire_cert_response_control != "ignore":
            return None
        text = (
            "has expireCertResponseControl ignore: BIG-IP accepts an expired pod certificate,"
            " so a stale or stolen mesh certificate keeps working — set it to drop (AS3"
            " ignoreExpired: false)"
        )
        return ("critical", text, (("expire_cert_response_control", "ignore"),))

    return _profile_check(boundary, observed, judge)


def untrusted_cert_accepted(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """`untrustedCertResponseControl` `ignore` lets a pod certificate no anchor signs through."""

    def judge(profile: ServerSslProfile) -> Verdict:
        if profile.untrusted_cert_response_control != "ignore":
            return None
        text = (
            "has untrustedCertResponseControl ignore: BIG-IP accepts a pod certificate that no"
            " CA in the bundle signs, so the trust anchor check is void — set it to drop (AS3"
            " ignoreUntrusted: false)"
        )
        return ("critical", text, (("untrusted_cert_response_control", "ignore"),))

    return _profile_check(boundary, observed, judge)


def tm_option_words(options: tuple[str, ...]) -> tuple[str, ...]:
    """`tmOptions` as single words, whether given as list entries or a `{ a b }` string."""
    words: list[str] = []
    for entry in options:
        words += [w for w in entry.replace("{", " ").replace("}", " ").split() if w != "none"]
    return tuple(words)


def tls13_disabled(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """`tmOptions` must not hold `no-tlsv1.3`: Linkerd's proxies speak TLS 1.3 only."""

    def judge(profile: ServerSslProfile) -> Verdict:
        words = tm_option_words(profile.tm_options)
        if NO_TLS13 not in (w.lower() for w in words):
            return None
        text = (
            f"has tmOptions {NO_TLS13}: Linkerd's proxies speak TLS 1.3 only, so every"
            f" handshake with the mesh fails — remove {NO_TLS13} from the profile's options"
        )
        return ("critical", text, (("tm_options", " ".join(words)),))

    return _profile_check(boundary, observed, judge)
