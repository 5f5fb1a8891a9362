"""`issuer_expiry`: the identity issuer's remaining lifetime, or cert-manager's renewal health.

Owns the one check whose rule depends on who renews the issuer:
- Without a cert-manager `Certificate` for the issuer (`MeshState.issuer_certificate` is
  None), the remaining lifetime of the certificate in the issuer Secret is graded against
  `thresholds.issuer` (default warning 30d, critical 7d), as for every other certificate.
- With one, thresholds made for hand-rotated issuers do not fit: Linkerd's guide renews a
  48h issuer 25h before it ends, so it would be critical for ever. The issuer is then
  graded by whether cert-manager keeps up (`renewal_state`):
  - pass while more than `renewBefore` remains (renewal not due), and, once due, while
    cert-manager reports Ready and its renewalTime is at most `GRACE` past;
  - warning when the renewal is overdue (now > renewalTime + `GRACE`, or less than
    `renewBefore` − `GRACE` remains) or cert-manager does not report Ready (its message
    is quoted);
  - critical when less than half of `renewBefore` remains, or when overdue with less than
    `thresholds.issuer.critical` left; always once expired (whoever renews it).
  Without `renewBefore` in the spec, cert-manager's default applies: a third of the
  duration (or of the certificate's own lifetime).
  When cert-manager's status reports a later notAfter than the Secret's certificate, the
  Secret has not caught up: noted in the state's detail and in the finding's evidence.
- When the cert-manager Certificate could not be read, the state is unknown (a failed read
  must not turn a healthy 48h issuer critical), unless the issuer has already expired.
- With `mesh.issuer.source: certificate` the Certificate is all there is: the grading by
  renewal runs on its `status.notBefore`/`notAfter` (notBefore missing: notAfter minus
  `spec.duration`, default 90 days), the finding's object is the Certificate's name (there
  is no fingerprint), and without the Certificate (or its notAfter) the state is unknown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Protocol

from monitor.catalogue import Severity
from monitor.certs import CertFacts
from monitor.checks.common import cert_evidence, describe, expiry_phrase, grade, iso, when
from monitor.checks.outcome import PASS, Drift, Evidence, Outcome, Unknown
from monitor.checks.trust.inputs import (
    by_certificate,
    cert_manager,
    issuer_certificate,
    issuer_secret,
    issuer_where,
    mesh_issuer,
)
from monitor.config.durations import format_duration
from monitor.config.schema import BoundaryConfig, Config, Threshold
from monitor.model import CertManagerCertificate, Issuer, Observed

GRACE: Final = timedelta(hours=1)  # how late a renewal may be before it counts as overdue
DEFAULT_DURATION: Final = timedelta(days=90)  # cert-manager's spec.duration default


@dataclass(frozen=True, slots=True)
class Renewal:
    """How cert-manager is doing with one issuer certificate at one moment."""

    severity: Severity | None
    due_at: datetime  # when the renewal was (or will be) due
    overdue: bool
    ready: bool | None


class Validity(Protocol):
    """What the grading needs of a certificate: a `CertFacts`, or `Period`."""

    @property
    def not_before(self) -> datetime: ...
    @property
    def not_after(self) -> datetime: ...


@dataclass(frozen=True, slots=True)
class Period:
    """A validity known without the certificate (from a cert-manager Certificate's status)."""

    not_before: datetime
    not_after: datetime


def renew_before(managed: CertManagerCertificate, cert: Validity) -> timedelta:
    """`renewBefore`, or cert-manager's default: a third of the duration (or lifetime)."""
    if managed.renew_before is not None:
        return managed.renew_before
    lifetime = managed.duration or (cert.not_after - cert.not_before)
    return lifetime / 3


def renewal_state(
    managed: CertManagerCertificate, cert: Validity, now: datetime, critical: timedelta
) -> Renewal:
    """The grade of a cert-manager renewed issuer at `now` (see the module docstring)."""
    remaining = cert.not_after - now
    before = renew_before(managed, cert)
    due_at = managed.renewal_time or (cert.not_after - before)
    if remaining <= timedelta(0):
        return Renewal("critical", due_at, True, managed.ready)
    if remaining > before:
        return Renewal(None, due_at, False, managed.ready)
    late = managed.renewal_time is not None and now > managed.renewal_time + GRACE
    overdue = late or remaining < before - GRACE
    severity: Severity | None = None
    if remaining < before / 2 or (overdue and remaining < critical):
        severity = "critical"
    elif overdue or managed.ready is not True:
        severity = "warning"
    return Renewal(severity, due_at, overdue, managed.ready)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _not_ready(managed: CertManagerCertificate) -> str:
    if managed.ready is None:
        return f"cert-manager Certificate {managed.name} reports no Ready condition"
    said = f": {_one_line(managed.message)}" if managed.message else ""
    return f"cert-manager Certificate {managed.name} is not Ready{said}"


def _cert_manager_evidence(managed: CertManagerCertificate, before: timedelta) -> Evidence:
    out: list[tuple[str, str]] = [("certificate", managed.name)]
    if managed.duration is not None:
        out.append(("duration", format_duration(managed.duration)))
    out.append(("renew_before", format_duration(before)))
    if managed.renewal_time is not None:
        out.append(("renewal_time", iso(managed.renewal_time)))
    if managed.not_after is not None:
        out.append(("cert_manager_not_after", iso(managed.not_after)))
    out.append(("ready", {True: "true", False: "false", None: "unknown"}[managed.ready]))
    if managed.message:
        out.append(("cert_manager_message", _one_line(managed.message)))
    return tuple(out)


def _secret_behind(managed: CertManagerCertificate, cert: CertFacts, secret: str) -> str:
    if managed.not_after is None or managed.not_after <= cert.not_after:
        return ""
    return (
        f"cert-manager Certificate {managed.name} reports notAfter {iso(managed.not_after)},"
        f" later than the certificate in {secret} ({iso(cert.not_after)})"
    )


def _kubectl(managed: CertManagerCertificate) -> str:
    namespace, _, name = managed.name.rpartition("/")
    where = f"-n {namespace} " if namespace else ""
    return f"kubectl {where}describe certificate {name}"


@dataclass(frozen=True, slots=True)
class _Subject:
    """The issuer as a finding names it: words, evidence, object, validity."""

    words: str  # `CN=… (sha256 …)`, or the Certificate's common name and name
    evidence: Evidence
    object: str  # the fingerprint, or the Certificate's `namespace/name`
    validity: Validity


def _of_cert(issuer: Issuer) -> _Subject:
    cert = issuer.cert
    evidence = (*cert_evidence("issuer", cert), ("scheme", issuer.scheme))
    return _Subject(describe(cert), evidence, cert.fingerprint_sha256, cert)


def _of_certificate(managed: CertManagerCertificate, not_after: datetime) -> _Subject:
    lifetime = managed.duration or DEFAULT_DURATION
    validity = Period(managed.not_before or not_after - lifetime, not_after)
    cn = f"CN={managed.common_name} " if managed.common_name else ""
    words = f"{cn}(as cert-manager Certificate {managed.name} reports it)"
    evidence = (
        ("issuer_common_name", managed.common_name),
        ("issuer_not_after", iso(not_after)),
        ("issuer_source", "certificate"),
    )
    return _Subject(words, evidence, managed.name, validity)


def _by_renewal(
    cfg: Config, issuer: _Subject, managed: CertManagerCertificate, behind: str, now: datetime
) -> Outcome:
    cert = issuer.validity
    state = renewal_state(managed, cert, now, cfg.thresholds.issuer.critical)
    notes: list[str] = [behind] if behind else []
    if state.severity is None:
        if state.ready is not True:
            notes.append(_not_ready(managed))
        return Outcome(notes=tuple(notes))
    reasons: list[str] = []
    if cert.not_after <= now:
        reasons.append(f"cert-manager Certificate {managed.name} did not renew it")
    elif state.overdue:
        reasons.append(
            f"its renewal by cert-manager Certificate {managed.name} is overdue (due"
            f" {when(state.due_at)})"
        )
    if state.ready is not True:
        reasons.append(_not_ready(managed))
    if not reasons:
        reasons.append(f"cert-manager Certificate {managed.name} has not renewed it yet")
    message = (
        f"identity issuer {issuer.words} {expiry_phrase(cert.not_after, now)}; "
        + "; ".join(reasons)
        + f"; check `{_kubectl(managed)}` and the cert-manager logs (proxies cannot renew"
        " their certificates once it expires)"
    )
    evidence = (
        *issuer.evidence,
        *_cert_manager_evidence(managed, renew_before(managed, cert)),
        ("renewal_due", iso(state.due_at)),
        ("overdue", "yes" if state.overdue else "no"),
    )
    if behind:
        evidence += (("secret_behind_cert_manager", behind),)
    evidence += (("checked_at", iso(now)),)
    drift = Drift(state.severity, issuer.object, message, evidence)
    return Outcome(drifts=(drift,), notes=tuple(notes))


def _by_threshold(issuer: Issuer, threshold: Threshold, secret: str, now: datetime) -> Outcome:
    cert = issuer.cert
    severity = grade(cert.not_after - now, threshold)
    if severity is None:
        return PASS
    message = (
        f"identity issuer {describe(cert)} {expiry_phrase(cert.not_after, now)}; rotate the"
        f" issuer certificate in {secret} (proxies cannot renew their certificates once it expires)"
    )
    evidence = (*cert_evidence("issuer", cert), ("scheme", issuer.scheme), ("checked_at", iso(now)))
    return Outcome(drifts=(Drift(severity, cert.fingerprint_sha256, message, evidence),))


def issuer_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """The identity issuer graded by its remaining lifetime, or by cert-manager's renewal
    health when cert-manager renews it (module docstring)."""
    mesh = observed.mesh
    if by_certificate(mesh):
        only = issuer_certificate(mesh)
        if isinstance(only, Unknown):
            return Outcome(unknowns=(only,))
        assert only.not_after is not None  # issuer_certificate says so
        return _by_renewal(cfg, _of_certificate(only, only.not_after), only, "", now)
    issuer = mesh_issuer(mesh)
    if isinstance(issuer, Unknown):
        return Outcome(unknowns=(issuer,))
    secret = issuer_secret(cfg, mesh)
    managed = cert_manager(mesh)
    if isinstance(managed, Unknown):
        if issuer.cert.not_after <= now:  # expired: critical whoever renews it
            return _by_threshold(issuer, cfg.thresholds.issuer, secret, now)
        return Outcome(unknowns=(managed,))
    if managed is None:
        return _by_threshold(issuer, cfg.thresholds.issuer, secret, now)
    behind = _secret_behind(managed, issuer.cert, issuer_where(cfg, mesh))
    return _by_renewal(cfg, _of_cert(issuer), managed, behind, now)
