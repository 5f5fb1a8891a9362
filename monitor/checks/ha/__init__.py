"""The `ha` family: is config sync green, and do the units of an HA pair serve a boundary alike?

Owns the family's registry `CHECKS`: `ha_sync_status` (`sync`) and `ha_peer_divergence`
(`divergence`, for boundaries with two of their devices in one haGroup). May import
`monitor.checks`' shared modules, `monitor.config` and `monitor.model`.
"""

from __future__ import annotations

from typing import Final

from monitor.checks.ha import divergence
from monitor.checks.ha.sync import ha_applies, ha_sync_status
from monitor.checks.outcome import Check

__all__ = ["CHECKS"]

CHECKS: Final[tuple[Check, ...]] = (
    Check("ha_sync_status", ha_sync_status),
    Check("ha_peer_divergence", divergence.ha_peer_divergence, applies=ha_applies),
)
