"""`policy_target_missing` and `policy_server_selects_nothing`: policy aimed at nothing.

- `policy_target_missing`: an AuthorizationPolicy of the backend namespace whose `targetRef`
  names a Server, HTTPRoute (policy.linkerd.io or Gateway API) or GRPCRoute that does not
  exist in its namespace (`MeshPolicy.present`: every such object read, whether Linkerd
  accepts it or not). Linkerd keeps such a policy but it authorizes nothing, so the
  traffic it was written for is refused (or left to the default policy). A `targetRef` of
  kind Namespace can only mean the policy's own namespace: Linkerd ignores its name
  (`policy-controller` `authorization_policy::Target::Namespace` carries none) and applies
  it to every Server of its own namespace, so one naming another namespace is a finding
  too. Warning; one per AuthorizationPolicy (object: `namespace/name`).
- `policy_server_selects_nothing`: a Server of the backend namespace whose `podSelector`
  selects no live pod of its namespace (`MeshState.server_pods`). It protects nothing: a
  renamed label, or a selector written for pods that were never deployed, leaves the pods
  it was meant for on the default policy. Warning; one per Server (object:
  `namespace/name`). Unknown when the namespace's pods could not be read.
Both are unknown when the policy of the backend namespaces could not be read.

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from monitor.checks.outcome import MESH, Drift, Outcome, Unknown
from monitor.checks.policy.frame import in_backend_namespace
from monitor.checks.resolve import KUBERNETES
from monitor.model import MeshState
from monitor.policy.model import AuthorizationPolicy, LabelSelector, MeshPolicy


@in_backend_namespace
def policy_target_missing(policy: MeshPolicy, namespace: str, mesh: MeshState) -> Outcome:
    """Every AuthorizationPolicy of the backend namespace must target something that exists."""
    drifts = []
    mine = [a for a in policy.authorization_policies if a.namespace == namespace]
    for ap in sorted(mine, key=lambda a: a.name):
        why = _target_problem(policy, ap)
        if not why:
            continue
        target = ap.target
        message = (
            f"AuthorizationPolicy {ap.namespace}/{ap.name} targets {target.kind}"
            f" {target.name}, but {why} — point targetRef at the object it was written for,"
            " or delete the policy"
        )
        evidence = (
            ("authorizationpolicy", f"{ap.namespace}/{ap.name}"),
            ("target_group", target.group or "core"),
            ("target_kind", target.kind),
            ("target_name", target.name),
        )
        drifts.append(Drift("warning", f"{ap.namespace}/{ap.name}", message, evidence))
    return Outcome(tuple(drifts))


def _target_problem(policy: MeshPolicy, ap: AuthorizationPolicy) -> str:
    target = ap.target
    if target.kind == "Namespace":
        if target.name == ap.namespace:
            return ""
        return (
            f"a policy can only target its own namespace: Linkerd ignores the name and"
            f" applies it to every Server of {ap.namespace}, not to {target.name}"
        )
    if (target.group, target.kind, ap.namespace, target.name) in policy.present:
        return ""
    group = f" ({target.group})" if target.kind != "Server" else ""
    return (
        f"no {target.kind}{group} {target.name} exists in namespace {ap.namespace}:"
        " the policy authorizes nothing"
    )


@in_backend_namespace
def policy_server_selects_nothing(policy: MeshPolicy, namespace: str, mesh: MeshState) -> Outcome:
    """Every Server of the backend namespace must select at least one live pod."""
    drifts: list[Drift] = []
    unknowns: list[Unknown] = []
    mine = [s for s in policy.servers if s.namespace == namespace]
    for server in sorted(mine, key=lambda s: s.name):
        key = f"{namespace}/{server.name}"
        count = mesh.server_pods.get(key)
        if count is None:
            detail = f"{KUBERNETES}: the pods of namespace {namespace} (Server selectors) unknown"
            unknowns.append(Unknown(MESH, detail))
            continue
        if count:
            continue
        selector = _render(server.pod_selector)
        message = (
            f"Server {key} selects no pod ({selector}) in namespace {namespace}: it protects"
            f" nothing, and the pods it was written for get the default policy on port"
            f" {server.port} — fix the podSelector (labels change with a new release), or"
            " delete the Server"
        )
        evidence = (("server", key), ("pod_selector", selector), ("port", str(server.port)))
        drifts.append(Drift("warning", key, message, evidence))
    return Outcome(tuple(drifts), tuple(unknowns))


def _render(selector: LabelSelector) -> str:
    terms = [f"{k}={v}" for k, v in selector.match_labels]
    for key, op, values in selector.match_expressions:
        listed = f" ({','.join(values)})" if values else ""
        terms.append(f"{key} {op}{listed}")
    return ", ".join(terms) or "every pod"
