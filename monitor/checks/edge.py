"""Edge checks: the certificates BIG-IP's client-ssl profiles serve to the boundary's clients.

Owns the `edge` family (DESIGN section 5) and its registry `CHECKS`; both checks apply to
every boundary mode and read, on each device, every client-ssl profile of the boundary's
virtual (a virtual without one serves no TLS: pass). A profile the virtual names but that
is absent from a completely read collection is unknown for that device, like the other
resolvers (`resolve.py`).

- `edge_cert_expiry`: every ssl-cert file of every `certKeyChain` entry (`cert`, and its
  `chain` file's certificates when known: a bundle known only by its REST fields is judged
  on the one certificate they describe, noted), graded with `thresholds.edgeCert` on the
  earliest certificate in the file (expired: critical). One finding per file (object: the
  ssl-cert path, shared by every profile using it; the certificate judged is in the
  evidence). A file whose end date is unknown is unknown.
- `edge_sni_uncovered`: a profile's `serverName` (the SNI name it answers) must be covered
  by the DNS SANs of each of its certificates (wildcards one label deep; the CN is not
  consulted, as browsers do not): a warning per profile (object: its path). The SANs come
  from the ssl-cert's `subjectAlternativeName` (TMOS 14.1+), or the parsed certificate
  when util/bash read it (`boundary.certs.names_of`); unknown only when neither tells.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from monitor.certs import CertNames
from monitor.checks.boundary.certs import earliest, name_covered, names_of, ssl_cert_evidence
from monitor.checks.common import expiry_phrase, grade, iso
from monitor.checks.outcome import Check, Drift, Outcome, Unknown
from monitor.checks.resolve import (
    CertFile,
    Device,
    cert_file,
    expiry,
    per_device,
    resolve_client_ssl,
)
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import Observed


@dataclass(slots=True)
class _Use:
    """One ssl-cert file and the profiles (and certKeyChain entries) that serve it."""

    file: CertFile
    role: str  # "certificate" or "chain"
    users: list[str] = field(default_factory=list)


def edge_cert_expiry(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """Every edge certificate file graded on its earliest certificate (edgeCert)."""
    threshold = cfg.thresholds.edge_cert

    def on_device(device: Device) -> Outcome:
        profiles = resolve_client_ssl(boundary, device)
        if isinstance(profiles, Unknown):
            return Outcome(unknowns=(profiles,))
        uses: dict[str, _Use] = {}
        unknowns: list[Unknown] = []
        for profile in profiles:
            for entry in profile.cert_key_chain:
                for path, role in ((entry.cert, "certificate"), (entry.chain, "chain")):
                    if path is None:
                        continue
                    if path not in uses:
                        found = cert_file(device, path, f"edge {role}")
                        if isinstance(found, Unknown):
                            unknowns.append(found)
                            continue
                        uses[path] = _Use(found, role)
                    uses[path].users.append(f"{profile.path} ({entry.name or 'default'})")
        drifts: list[Drift] = []
        notes: list[str] = []
        for path, use in uses.items():
            notes += use.file.notes
            undated = [c for c in use.file.certs if expiry(c) is None]
            if undated:
                detail = f"{device.name}: expiry of edge {use.role} {path} unknown"
                unknowns.append(Unknown(device.name, detail))
            first = earliest(use.file.certs)
            end = expiry(first) if first is not None else None
            if first is None or end is None:
                continue
            severity = grade(end - now, threshold)
            if severity is None:
                continue
            inside = "" if first.path == path else f" (its certificate {first.subject})"
            message = (
                f"{device.name}: edge {use.role} {path}{inside}, served by client-ssl"
                f" {', '.join(use.users)}, {expiry_phrase(end, now)}; clients then refuse the"
                " connection — renew it and update the profile"
            )
            evidence = (
                *ssl_cert_evidence("cert", first),
                ("file", path),
                ("role", use.role),
                ("profiles", ", ".join(use.users)),
                ("checked_at", iso(now)),
            )
            drifts.append(Drift(severity, path, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns), tuple(notes))

    return per_device(boundary, observed, on_device)


def _uncovered(server_name: str, names: CertNames) -> bool:
    return not any(name_covered(san, server_name) for san in names.dns)


def edge_sni_uncovered(
    cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime
) -> Outcome:
    """A client-ssl profile's serverName must be among its certificates' SANs."""

    def on_device(device: Device) -> Outcome:
        profiles = resolve_client_ssl(boundary, device)
        if isinstance(profiles, Unknown):
            return Outcome(unknowns=(profiles,))
        drifts: list[Drift] = []
        unknowns: list[Unknown] = []
        for profile in profiles:
            name = profile.server_name
            if name is None:
                continue
            bad: list[tuple[str, CertNames]] = []
            for entry in profile.cert_key_chain:
                if entry.cert is None:
                    continue
                found = cert_file(device, entry.cert, "edge certificate")
                if isinstance(found, Unknown):
                    unknowns.append(found)
                    continue
                names = names_of(device, found.certs[0], "edge certificate", "its names")
                if isinstance(names, Unknown):
                    unknowns.append(names)
                elif _uncovered(name, names):
                    bad.append((entry.cert, names))
            if not bad:
                continue
            shown = "; ".join(
                f"{path} names {', '.join(n.dns) or 'no DNS name'}" for path, n in bad
            )
            message = (
                f"{device.name}: client-ssl {profile.path} answers SNI {name}, but its"
                f" certificate does not cover it ({shown}): clients reject the name mismatch —"
                f" serve a certificate with {name} among its DNS SANs, or correct serverName"
            )
            evidence = (
                ("client_ssl_profile", profile.path),
                ("server_name", name),
                ("certificates", ",".join(path for path, _ in bad)),
                ("dns_sans", ";".join(",".join(n.dns) for _, n in bad)),
                ("common_names", ";".join(n.common_name or "" for _, n in bad)),
                ("names_from", ";".join(n.source for _, n in bad)),
            )
            drifts.append(Drift("warning", profile.path, message, evidence))
        return Outcome(tuple(drifts), tuple(unknowns))

    return per_device(boundary, observed, on_device)


CHECKS: Final[tuple[Check, ...]] = (
    Check("edge_cert_expiry", edge_cert_expiry),
    Check("edge_sni_uncovered", edge_sni_uncovered),
)
