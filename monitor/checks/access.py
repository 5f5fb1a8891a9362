"""Which checks a read-only BIG-IP account can judge, and which need util/bash.

Least privilege first: every fact the checks use comes from the iControl REST collections
a read-only role may GET, except what REST cannot give. This module owns that list, so the
docs (docs/checks.md, "What needs util/bash"), the tests and the commands that tell a user
what their account can do agree:
- `NEEDS_BASH`: checks that verify signatures (the client certificate's chain to the trust
  anchors, the certificates it hangs from): they need the certificate files themselves,
  read through util/bash; without it they are unknown on every TMOS version.
- `NEEDS_SAN_FIELD`: checks that need a certificate's subject alternative names. REST
  gives them as `subjectAlternativeName` on TMOS `SAN_REPORTED_FROM` and later
  (`monitor.certs.reports_san`); before that an absent field proves nothing, and without
  util/bash they are unknown. `client_identity_unauthorized` then evaluates the configured
  `clientIdentity` instead, so it is unknown only where none is set.
- `NEEDS_BUNDLE_FILE`: checks of a CA bundle's contents. REST lists them when the
  `caFile` is a `sys/crypto/ca-bundle-manager` (its `includeBundle`) or a single
  certificate; an ssl-cert holding several certificates (`isBundle`, e.g. an AS3/CIS
  `CA_Bundle`) that no ca-bundle-manager describes shows only one of them in its REST
  fields, and its other certificates need util/bash.
`needs_bash` words why one check needs it in one situation. Pure.
"""

from __future__ import annotations

from typing import Final

from monitor.certs import SAN_REPORTED_FROM, reports_san
from monitor.requirements import BASH, REQUIREMENTS

# The table of what each check needs is monitor.requirements; these need util/bash always.
NEEDS_BASH: Final = frozenset(check for check, needs in REQUIREMENTS.items() if BASH in needs)
NEEDS_SAN_FIELD: Final = frozenset(
    {"client_identity_mismatch", "client_identity_unauthorized", "edge_sni_uncovered"}
)
NEEDS_BUNDLE_FILE: Final = frozenset(
    {"bundle_missing_anchor", "bundle_stale_anchor", "bundle_cert_expiry", "ha_peer_divergence"}
)
_SINCE: Final = ".".join(str(n) for n in SAN_REPORTED_FROM)


def needs_bash(
    check: str, version: str, *, client_identity: bool = True, opaque_bundle: bool = False
) -> str | None:
    """Why `check` cannot be judged without util/bash on a device running TMOS `version`
    ("" when unknown), or None when the REST fields suffice. `client_identity`: the
    boundary sets `clientIdentity`; `opaque_bundle`: its CA bundle is an ssl-cert bundle
    that no ca-bundle-manager describes."""
    if check in NEEDS_BASH:
        return "verifies certificate signatures, which needs the certificate files"
    if check in NEEDS_SAN_FIELD and not reports_san(version):
        if check == "client_identity_unauthorized" and client_identity:
            return None  # evaluates the configured clientIdentity (noted)
        shown = f"TMOS {version}" if version else "an unknown TMOS version"
        return (
            f"needs subject alternative names, which REST reports from TMOS {_SINCE} on ({shown})"
        )
    if check in NEEDS_BUNDLE_FILE and opaque_bundle:
        return (
            "needs every certificate of a CA bundle that no ca-bundle-manager describes (its"
            " REST fields show one)"
        )
    return None
