"""The `routes` family: does BIG-IP send the boundary's traffic to exactly its backend's ready pods?

Owns the family's registry `CHECKS`, in catalogue order. The checks live in `virtual` (the
virtual server: missing, disabled, its pool, its server-ssl profile), `members` (pool
members against the ready endpoints, through `monitor.checks.matching`) and `mesh`
(`pool_member_unmeshed` on mesh-tls boundaries, `open_onramp` on plaintext ones). May
import `monitor.checks`' shared modules, `monitor.checks.boundary.admission` (the
backend's policy and pods), `monitor.policy`, `monitor.config` and `monitor.model`.
"""

from __future__ import annotations

from typing import Final

from monitor.checks.outcome import MESH_TLS, Check
from monitor.checks.routes import members, mesh
from monitor.checks.routes.virtual import (
    virtual_disabled,
    virtual_missing,
    virtual_pool_mismatch,
    virtual_profile_mismatch,
)

__all__ = ["CHECKS"]

CHECKS: Final[tuple[Check, ...]] = (
    Check("virtual_missing", virtual_missing),
    Check("virtual_disabled", virtual_disabled),
    Check("virtual_pool_mismatch", virtual_pool_mismatch),
    Check("virtual_profile_mismatch", virtual_profile_mismatch, MESH_TLS),
    Check("pool_member_missing", members.pool_member_missing),
    Check("pool_member_extra", members.pool_member_extra),
    Check("pool_member_port_mismatch", members.pool_member_port_mismatch),
    Check("pool_member_unmeshed", mesh.pool_member_unmeshed, MESH_TLS),
    Check("open_onramp", mesh.open_onramp, mesh.PLAINTEXT),
)
