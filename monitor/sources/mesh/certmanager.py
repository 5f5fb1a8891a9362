"""The cert-manager `Certificate` that renews the identity issuer, as `CertManagerCertificate`.

Owns finding that Certificate among the watched ones (the one whose `spec.secretName` is the
issuer Secret; research/linkerd.md §6.2) and reading it: `spec.duration` and
`spec.renewBefore` (metav1.Duration, Go's `time.Duration` text such as `25h0m0s`; newer
cert-manager also has `spec.renewBeforePercentage`), `status.notAfter` and
`status.renewalTime` (RFC 3339), the `Ready` condition with its message, and, for
`mesh.issuer.source: certificate`, what describes the issued certificate without reading
it: `status.notBefore` and the spec's `isCA`, `commonName`, `dnsNames`,
`privateKey.algorithm`/`size` (cert-manager's defaults: RSA; 2048 bits, 256 for ECDSA)
and `issuerRef` (cert-manager API reference, `CertificateSpec`/`CertificateStatus`). A field that
cannot be read is None and named in the returned problems (the cluster's, not ours).
Pure: no I/O, no logging.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from monitor.model import CertManagerCertificate

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0,
          "h": 3600.0}  # fmt: skip
_MAX_NAMES = 100  # dnsNames kept (evidence only)
_MAX_TEXT = 256  # characters kept of a name
_PART = r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)"
_WHOLE = re.compile(rf"[-+]?(?:{_PART})+")


def go_duration(text: Any) -> timedelta | None:
    """Go's `time.ParseDuration` (`25h0m0s`, `48h`, `1.5h`, `90m`, `0`); None otherwise."""
    if not isinstance(text, str):
        return None
    text = text.strip()
    if text in ("0", "+0", "-0"):
        return timedelta(0)
    if not _WHOLE.fullmatch(text):
        return None
    seconds = sum(float(n) * _UNITS[u] for n, u in re.findall(_PART, text))
    try:
        return timedelta(seconds=-seconds if text.startswith("-") else seconds)
    except (OverflowError, ValueError):  # beyond timedelta's range (Go's ends at 290 years)
        return None


def rfc3339(text: Any) -> datetime | None:
    """A metav1.Time (`2026-03-01T12:00:00Z`) as an aware datetime; None otherwise."""
    if not isinstance(text, str) or not text:
        return None
    try:
        value = datetime.fromisoformat(text)
        # in UTC now: an offset at the ends of the range (0001-01-01T00:00:00+01:00)
        # overflows here rather than in a check's arithmetic
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    return value if isinstance(value, Mapping) else {}


def issuer_certificate(items: Iterable[Mapping[str, Any]], secret: str) -> Mapping[str, Any] | None:
    """The Certificate that writes Secret `secret` (one named like it first, then by name)."""
    found = [c for c in items if _map(c, "spec").get("secretName") == secret]
    found.sort(key=lambda c: (_map(c, "metadata").get("name") != secret,
                              str(_map(c, "metadata").get("name"))))  # fmt: skip
    return found[0] if found else None


def certificate(obj: Mapping[str, Any]) -> tuple[CertManagerCertificate, tuple[str, ...]]:
    """The Certificate's renewal facts, and what in it could not be read."""
    meta, spec, status = _map(obj, "metadata"), _map(obj, "spec"), _map(obj, "status")
    name = f"{meta.get('namespace', '')}/{meta.get('name', '')}".lstrip("/")
    problems: list[str] = []

    def read(value: Any, parse: Any, what: str) -> Any:
        parsed = parse(value)
        if value is not None and parsed is None:
            problems.append(f"Certificate {name}: {what} {value!r} cannot be read")
        return parsed

    duration = read(spec.get("duration"), go_duration, "spec.duration")
    renew_before = read(spec.get("renewBefore"), go_duration, "spec.renewBefore")
    percent = spec.get("renewBeforePercentage")
    if renew_before is None and isinstance(percent, int | float) and duration is not None:
        renew_before = duration * (float(percent) / 100.0)
    ready: bool | None = None
    message = ""
    conditions = status.get("conditions")
    for cond in conditions if isinstance(conditions, list) else []:
        if isinstance(cond, Mapping) and cond.get("type") == "Ready":
            ready = {"True": True, "False": False}.get(str(cond.get("status")))
            message = str(cond.get("message") or "")
    key = _map(spec, "privateKey")
    algorithm = key.get("algorithm")
    size = key.get("size")
    ref = _map(spec, "issuerRef")
    dns = spec.get("dnsNames")
    managed = CertManagerCertificate(
        name=name,
        duration=duration,
        renew_before=renew_before,
        not_after=read(status.get("notAfter"), rfc3339, "status.notAfter"),
        renewal_time=read(status.get("renewalTime"), rfc3339, "status.renewalTime"),
        ready=ready,
        message=message,
        not_before=read(status.get("notBefore"), rfc3339, "status.notBefore"),
        is_ca=spec.get("isCA") is True,
        common_name=_text(spec.get("commonName")),
        dns_names=tuple(_text(d) for d in dns[:_MAX_NAMES]) if isinstance(dns, list) else (),
        key_algorithm=_text(algorithm) or "RSA",
        key_size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        issuer_ref=f"{_text(ref.get('kind')) or 'Issuer'}/{_text(ref.get('name'))}",
    )
    return managed, tuple(problems)


def _text(value: Any) -> str:
    """A short string field; anything else is ""."""
    return value[:_MAX_TEXT] if isinstance(value, str) else ""
