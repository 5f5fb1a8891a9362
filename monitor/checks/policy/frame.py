"""The frame every `policy` check shares: the policy as read, and the namespace it judges.

`in_backend_namespace(judge)` makes a check of `judge(policy, namespace, mesh)`: the
Linkerd policy the mesh source read, the boundary's backend namespace and the mesh; the
check is unknown when the policy could not be read. Pure: no I/O, no clock reads, no
logging.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps

from monitor.checks.boundary.admission import mesh_policy
from monitor.checks.outcome import CheckFn, Outcome, Unknown
from monitor.config.schema import BoundaryConfig, Config
from monitor.model import MeshState, Observed
from monitor.policy.model import MeshPolicy

Judge = Callable[[MeshPolicy, str, MeshState], Outcome]


def in_backend_namespace(judge: Judge) -> CheckFn:
    """The check judging the policy of the boundary's backend namespace with `judge`."""

    @wraps(judge)
    def check(cfg: Config, boundary: BoundaryConfig, observed: Observed, now: datetime) -> Outcome:
        policy = mesh_policy(observed.mesh)
        if isinstance(policy, Unknown):
            return Outcome(unknowns=(policy,))
        return judge(policy, boundary.backend.service.namespace, observed.mesh)

    return check
