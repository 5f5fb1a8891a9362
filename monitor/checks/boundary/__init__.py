"""The `boundary` family: does BIG-IP's server-ssl side agree with the mesh it re-encrypts into?

Owns the family's registry `CHECKS`, in catalogue order; every check applies to `mesh-tls`
boundaries only. The checks live in `bundle` (the CA bundle: `bundle_missing_anchor`,
`bundle_stale_anchor`, `bundle_cert_expiry`; and `sni_mismatch`), `profile` (the
server-ssl profile's own settings), `client` (the client certificate BIG-IP presents) and
`policy` (what the backend's Linkerd policy makes of it, with the policy, the pods and
`authorize` for BIG-IP in `admission`); `certs` holds the certificate helpers they share.
May import `monitor.checks`' shared modules, `monitor.checks.trust`'s `inputs`,
`monitor.policy`, `monitor.certs`, `monitor.config` and `monitor.model`.
"""

from __future__ import annotations

from typing import Final

from monitor.checks.boundary import client, policy, profile
from monitor.checks.boundary.bundle import (
    bundle_cert_expiry,
    bundle_missing_anchor,
    bundle_stale_anchor,
    sni_mismatch,
)
from monitor.checks.outcome import MESH_TLS, Check

__all__ = ["CHECKS"]

CHECKS: Final[tuple[Check, ...]] = (
    Check("bundle_missing_anchor", bundle_missing_anchor, MESH_TLS),
    Check("bundle_stale_anchor", bundle_stale_anchor, MESH_TLS),
    Check("bundle_cert_expiry", bundle_cert_expiry, MESH_TLS),
    Check("peer_validation_disabled", profile.peer_validation_disabled, MESH_TLS),
    Check("sni_mismatch", sni_mismatch, MESH_TLS),
    Check("authenticate_name_mismatch", profile.authenticate_name_mismatch, MESH_TLS),
    Check("expired_cert_accepted", profile.expired_cert_accepted, MESH_TLS),
    Check("untrusted_cert_accepted", profile.untrusted_cert_accepted, MESH_TLS),
    Check("tls13_disabled", profile.tls13_disabled, MESH_TLS),
    Check("client_cert_missing", policy.client_cert_missing, MESH_TLS),
    Check("client_cert_expiry", client.client_cert_expiry, MESH_TLS),
    Check("client_cert_chain", client.client_cert_chain, MESH_TLS),
    Check(
        "client_identity_mismatch",
        client.client_identity_mismatch,
        MESH_TLS,
        applies=client.client_identity_configured,
    ),
    Check("client_identity_unauthorized", policy.client_identity_unauthorized, MESH_TLS),
    Check("client_cert_outlives_issuer", client.client_cert_outlives_issuer, MESH_TLS),
)
