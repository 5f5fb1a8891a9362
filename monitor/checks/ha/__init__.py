"""TODO."""

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
