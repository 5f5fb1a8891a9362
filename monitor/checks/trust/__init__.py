"""The `trust` family: the Linkerd trust anchors, the identity issuer, the proxies' bundles.

Owns the family's registry `CHECKS`, in catalogue order. The checks live in `lifetimes`
(`trust_anchor_expiry`, `issuer_chain`), `anchors` (`trust_anchor_not_yet_valid`,
`trust_anchor_algorithm`, `trust_anchor_pin`), `renewal` (`issuer_expiry`), `issuer`
(`issuer_algorithm`, `issuer_not_ca`, `issuer_outlives_anchor`) and `bundles`
(`trust_roots_config_mismatch`, `proxy_trust_bundle_stale`); the inputs they share, and
which anchors sign the issuer, in `inputs`. Every finding is about the mesh (`device` is
""), and every check applies to every boundary mode. May import `monitor.checks`' shared
modules (`outcome`, `common`, `resolve`), `monitor.policy`, `monitor.certs`,
`monitor.config` and `monitor.model`.
"""

from __future__ import annotations

from typing import Final

from monitor.checks.outcome import Check
from monitor.checks.trust import anchors, bundles, issuer, renewal
from monitor.checks.trust.lifetimes import issuer_chain, trust_anchor_expiry

__all__ = ["CHECKS"]

CHECKS: Final[tuple[Check, ...]] = (
    Check("trust_anchor_expiry", trust_anchor_expiry),
    Check("trust_anchor_not_yet_valid", anchors.trust_anchor_not_yet_valid),
    Check("trust_anchor_algorithm", anchors.trust_anchor_algorithm),
    Check("trust_anchor_pin", anchors.trust_anchor_pin, applies=anchors.pins_set),
    Check("issuer_expiry", renewal.issuer_expiry),
    Check("issuer_algorithm", issuer.issuer_algorithm),
    Check("issuer_not_ca", issuer.issuer_not_ca),
    Check("issuer_chain", issuer_chain),
    Check("issuer_outlives_anchor", issuer.issuer_outlives_anchor),
    Check("trust_roots_config_mismatch", bundles.trust_roots_config_mismatch),
    Check("proxy_trust_bundle_stale", bundles.proxy_trust_bundle_stale, mesh_wide=True),
)
