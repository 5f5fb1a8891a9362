"""The `policy` family: does the Linkerd policy of the backend namespaces name what exists?

Owns the family's registry `CHECKS`, in catalogue order: `policy_identity_unknown`
(`identities`: MeshTLSAuthentication entries naming ServiceAccounts or namespaces that do
not exist), `policy_target_missing` and `policy_server_selects_nothing` (`objects`:
AuthorizationPolicies aimed at nothing, Servers that select no pod). Each judges the
objects of the boundary's backend namespace, the ones the mesh source reads, so boundaries
sharing a namespace share the findings (`frame`: the policy as read and that namespace,
unknown when the policy could not be read); all are mesh-side (`device` ""). May import
`monitor.checks`' shared modules, `monitor.checks.boundary.admission` (the policy as
read), `monitor.policy`, `monitor.config` and `monitor.model`.
"""

from __future__ import annotations

from typing import Final

from monitor.checks.outcome import Check
from monitor.checks.policy.identities import policy_identity_unknown
from monitor.checks.policy.objects import policy_server_selects_nothing, policy_target_missing

__all__ = ["CHECKS"]

CHECKS: Final[tuple[Check, ...]] = (
    Check("policy_identity_unknown", policy_identity_unknown),
    Check("policy_target_missing", policy_target_missing),
    Check("policy_server_selects_nothing", policy_server_selects_nothing),
)
