"""The public catalogue of check ids, their families, severities and check states.

Check ids are the `check` label on metrics, alerts and findings and the `check` key of
`ignore` rules in the config: a public contract (DESIGN section 5). Add ids here; never
rename or remove one casually.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final, Literal

__all__ = [
    "ALL_CHECKS",
    "CHECKS_BY_FAMILY",
    "FAMILIES",
    "SEVERITIES",
    "STATES",
    "Severity",
    "State",
    "family_of",
]

CHECKS_BY_FAMILY: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "trust": (
            "trust_anchor_expiry",
            "trust_anchor_not_yet_valid",
            "trust_anchor_algorithm",
            "trust_anchor_pin",
            "issuer_expiry",
            "issuer_algorithm",
            "issuer_not_ca",
            "issuer_chain",
            "issuer_outlives_anchor",
            "trust_roots_config_mismatch",
            "proxy_trust_bundle_stale",
        ),
        "boundary": (
            "bundle_missing_anchor",
            "bundle_stale_anchor",
            "bundle_cert_expiry",
            "peer_validation_disabled",
            "sni_mismatch",
            "authenticate_name_mismatch",
            "expired_cert_accepted",
            "untrusted_cert_accepted",
            "tls13_disabled",
            "client_cert_missing",
            "client_cert_expiry",
            "client_cert_chain",
            "client_identity_mismatch",
            "client_identity_unauthorized",
            "client_cert_outlives_issuer",
        ),
        "routes": (
            "virtual_missing",
            "virtual_disabled",
            "virtual_pool_mismatch",
            "virtual_profile_mismatch",
            "pool_member_missing",
            "pool_member_extra",
            "pool_member_port_mismatch",
            "pool_member_unmeshed",
            "open_onramp",
        ),
        "edge": (
            "edge_cert_expiry",
            "edge_sni_uncovered",
        ),
        "ha": (
            "ha_sync_status",
            "ha_peer_divergence",
        ),
        # policy: the Linkerd policy objects of the backend namespaces name what exists
        "policy": (
            "policy_identity_unknown",
            "policy_target_missing",
            "policy_server_selects_nothing",
        ),
    }
)

FAMILIES: Final[tuple[str, ...]] = tuple(CHECKS_BY_FAMILY)

ALL_CHECKS: Final[frozenset[str]] = frozenset(
    check for checks in CHECKS_BY_FAMILY.values() for check in checks
)

State = Literal["pass", "warning", "critical", "unknown"]
STATES: Final[tuple[State, ...]] = ("pass", "warning", "critical", "unknown")

Severity = Literal["warning", "critical"]
SEVERITIES: Final[tuple[Severity, ...]] = ("warning", "critical")

_FAMILY_OF: Final[Mapping[str, str]] = MappingProxyType(
    {check: family for family, checks in CHECKS_BY_FAMILY.items() for check in checks}
)


def family_of(check: str) -> str:
    """The family a check id belongs to; KeyError for an unknown id."""
    return _FAMILY_OF[check]
