"""The certificate core, in one import: parsing, facts, fingerprints, chain verification.

Pure throughout: no I/O, no clock reads (verification takes the time as an argument),
no logging; bad input comes back as `CertError` values, never as exceptions.
- `monitor.certs.facts`: `CertFacts`, `CertError`, `ParsedCerts`, `cert_facts`,
  `normalize_fingerprint`.
- `monitor.certs.parse`: `parse_pem_bundle`, `parse_der`, `parse_any` (the PEM rules are
  documented there).
- `monitor.certs.chain`: `verify_chain`, `signed_by`, and Linkerd's algorithm rules.
- `monitor.certs.names`: `CertNames` (CN and SANs), from a parsed certificate or from
  BIG-IP's `subject` / `subjectAlternativeName` text; `reports_san`.
"""

from __future__ import annotations

from monitor.certs.chain import (
    CHAIN_CODES,
    ChainResult,
    anchor_algorithm_problem,
    issuer_algorithm_problem,
    signed_by,
    verify_chain,
)
from monitor.certs.facts import (
    CERT_ERROR_CODES,
    DECODE_ERRORS,
    CertError,
    CertFacts,
    ParsedCerts,
    cert_facts,
    normalize_fingerprint,
)
from monitor.certs.names import (
    SAN_REPORTED_FROM,
    CertNames,
    dn_common_name,
    names_of_facts,
    parse_f5_san,
    reports_san,
)
from monitor.certs.parse import parse_any, parse_der, parse_pem_bundle

__all__ = [
    "CERT_ERROR_CODES",
    "CHAIN_CODES",
    "DECODE_ERRORS",
    "SAN_REPORTED_FROM",
    "CertError",
    "CertFacts",
    "CertNames",
    "ChainResult",
    "ParsedCerts",
    "anchor_algorithm_problem",
    "cert_facts",
    "dn_common_name",
    "issuer_algorithm_problem",
    "names_of_facts",
    "normalize_fingerprint",
    "parse_any",
    "parse_der",
    "parse_f5_san",
    "parse_pem_bundle",
    "reports_san",
    "signed_by",
    "verify_chain",
]
