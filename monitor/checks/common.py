"""Shared helpers of the checks: the mesh's expected identities, and how findings are worded.

Owns what the check families share besides the contract (`monitor.checks.outcome`) and the
inputs (`monitor.checks.resolve`): the backend identities a boundary expects and the mesh's
anchors as an input; grading a remaining lifetime against a `Threshold`; and wording dates,
durations and certificates the same way in every message.

Nothing here does I/O, reads the clock or logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Final

from monitor.catalogue import Severity
from monitor.certs import CertFacts
from monitor.checks.outcome import MESH, Evidence, Unknown
from monitor.checks.resolve import KUBERNETES, backend_endpoints, service_key
from monitor.config.schema import BoundaryConfig, Config, Threshold
from monitor.model import (
    MeshState,
)

# --- Resolving the mesh side ----------------------------------------------------------------


def expected_identities(
    cfg: Config, boundary: BoundaryConfig, mesh: MeshState
) -> tuple[str, ...] | Unknown:
    """The backend's mesh identity: the configured one, or (identity `auto`) those of the
    ready endpoints' ServiceAccounts. Several is possible only with `auto`."""
    if boundary.backend.identity != "auto":
        return (boundary.backend.identity,)
    endpoints = backend_endpoints(boundary, mesh)
    if isinstance(endpoints, Unknown):
        return endpoints
    identities = endpoints.identities(cfg.mesh.linkerd_namespace, cfg.mesh.trust_domain)
    if not identities:
        key = service_key(boundary)
        return Unknown(MESH, f"no ready endpoints with a ServiceAccount behind {key}")
    return identities


def anchors_or_unknown(mesh: MeshState) -> tuple[CertFacts, ...] | Unknown:
    """The mesh trust anchors, each once (by fingerprint, first occurrence kept)."""
    if mesh.anchors is None:
        return Unknown(MESH, f"{KUBERNETES}: trust anchors unknown")
    return unique_certs(mesh.anchors)


def unique_certs(certs: Iterable[CertFacts]) -> tuple[CertFacts, ...]:
    """`certs` without repeats (same fingerprint), in the order of first occurrence."""
    first: dict[str, CertFacts] = {}
    for cert in certs:
        first.setdefault(cert.fingerprint_sha256, cert)
    return tuple(first.values())


def same_subject(a: str, b: str) -> bool:
    """Loose distinguished-name equality: `CN=x,O=y` = `/O=y/CN=x` = `o=y, cn=x`."""
    return _rdns(a) == _rdns(b)


def _rdns(name: str) -> frozenset[str]:
    parts = name.strip().lstrip("/").replace("/", ",").split(",")
    return frozenset(p.strip().lower().replace(" = ", "=") for p in parts if p.strip())


# --- Expiry -----------------------------------------------------------------------------------


def grade(remaining: timedelta, threshold: Threshold) -> Severity | None:
    """Critical when expired or less than `critical` remains; warning when less than
    `warning` remains; None otherwise. Exactly at a threshold is the milder side."""
    if remaining <= timedelta(0) or remaining < threshold.critical:
        return "critical"
    if remaining < threshold.warning:
        return "warning"
    return None


_UNITS: Final = (
    ("day", timedelta(days=1)),
    ("hour", timedelta(hours=1)),
    ("minute", timedelta(minutes=1)),
)


def humane_duration(span: timedelta) -> str:
    """A length of time the way a person says it: `20 days`, `36 hours`, `5 minutes`.

    Whole units, rounded down, in the largest unit that counts at least two (so `1 day
    20 hours` reads `44 hours`); below two minutes, seconds.
    """
    span = abs(span)
    for unit, size in _UNITS:
        count = span // size
        if count >= 2:
            return f"{count} {unit}s"
    seconds = int(span.total_seconds())
    return "1 second" if seconds == 1 else f"{seconds} seconds"


def humane_remaining(remaining: timedelta) -> str:
    """`20 days` while time remains; `expired 3 days ago` (or `expired just now`) after."""
    if remaining > timedelta(0):
        return humane_duration(remaining)
    if remaining > timedelta(seconds=-1):
        return "expired just now"
    return f"expired {humane_duration(remaining)} ago"


def expiry_phrase(not_after: datetime, now: datetime) -> str:
    """`expires in 20 days, on 2026-12-16 05:00 UTC` or `expired 3 days ago, on …`."""
    remaining = not_after - now
    if remaining > timedelta(0):
        return f"expires in {humane_remaining(remaining)}, on {when(not_after)}"
    return f"{humane_remaining(remaining)}, on {when(not_after)}"


def when(moment: datetime) -> str:
    """A date for a message: `2026-12-16 05:00 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(moment: datetime) -> str:
    """A date for evidence: ISO 8601 in UTC, `2026-12-16T05:00:00Z`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def short_fp(fingerprint: str) -> str:
    return f"sha256 {fingerprint[:16]}…"


def describe(cert: CertFacts) -> str:
    """`CN=root.linkerd.cluster.local (sha256 ab12cd34ef56ab78…)`."""
    return f"{cert.subject} ({short_fp(cert.fingerprint_sha256)})"


def cert_evidence(prefix: str, cert: CertFacts) -> Evidence:
    return (
        (f"{prefix}_fingerprint", cert.fingerprint_sha256),
        (f"{prefix}_subject", cert.subject),
        (f"{prefix}_not_after", iso(cert.not_after)),
    )


LIST_LIMIT: Final = 20  # names shown in one evidence value before "and N more"


def bounded(names: Sequence[str], limit: int = LIST_LIMIT) -> str:
    """`a, b, c` with at most `limit` names, then `and N more`."""
    shown = ", ".join(names[:limit])
    rest = len(names) - limit
    return f"{shown} and {rest} more" if rest > 0 else shown
