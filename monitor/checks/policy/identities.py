"""`policy_identity_unknown`: a MeshTLSAuthentication names an identity nothing in the cluster has.

Linkerd gives a workload the identity of its ServiceAccount,
`<sa>.<ns>.serviceaccount.identity.<linkerd ns>.<trust domain>`; a MeshTLSAuthentication
lists the identities it admits (`identities`, with `*` and `*.` wildcards) or references
ServiceAccounts and Namespaces (`identityRefs`), which Linkerd turns into the same strings.
An entry naming a ServiceAccount that does not exist (renamed, deleted, a typo) silently
never matches: the AuthorizationPolicies requiring it refuse that client, or a permissive
default lets traffic through that the policy was meant to govern.

For every MeshTLSAuthentication of the boundary's backend namespace, each entry is read
back (`monitor.policy.identities.name_of`) and looked up among the ServiceAccounts the mesh
source read in the namespace it names (`MeshState.service_accounts`):
- a ServiceAccount that does not exist: warning; a namespace wildcard (or an identityRef
  of kind Namespace) whose namespace does not exist (no ServiceAccount at all, not even the
  `default` every namespace has): warning; an entry in this control plane's domain in no
  form it issues: warning;
- critical when every entry of the MeshTLSAuthentication is such a name: it admits nobody.
- `*`, wildcards as broad as the whole mesh, `spiffe://` ids (external workloads) and
  identities of another trust domain or control plane (a linked cluster) cannot be
  confirmed from this cluster: not findings; the last two are noted in the state's detail.
Unknown when the policy, or the ServiceAccounts of a namespace an entry names, could not
be read. One finding per entry (object: `namespace/name identity`).

Pure: no I/O, no clock reads, no logging.
"""

from __future__ import annotations

from monitor.catalogue import Severity
from monitor.checks.common import bounded
from monitor.checks.outcome import MESH, Drift, Outcome, Unknown
from monitor.checks.policy.frame import in_backend_namespace
from monitor.checks.resolve import KUBERNETES
from monitor.model import MeshState
from monitor.policy.identities import IdentityName, name_of
from monitor.policy.model import MeshPolicy, MeshTLSAuthentication


@in_backend_namespace
def policy_identity_unknown(policy: MeshPolicy, namespace: str, mesh: MeshState) -> Outcome:
    """Every identity a MeshTLSAuthentication of the backend namespace names must exist."""
    drifts: list[Drift] = []
    unknowns: list[Unknown] = []
    unchecked: list[str] = []
    authns = [a for a in policy.mesh_tls_authentications if a.namespace == namespace]
    for authn in sorted(authns, key=lambda a: a.name):
        found, unread, skipped = _authn(authn, mesh, policy.linkerd_namespace,
                                        policy.trust_domain)  # fmt: skip
        drifts += found
        unknowns += unread
        unchecked += skipped
    notes: tuple[str, ...] = ()
    if unchecked:
        notes = (
            f"not confirmable from this cluster (another trust domain or control plane, or"
            f" spiffe ids): {bounded(sorted(set(unchecked)))}",
        )
    return Outcome(tuple(drifts), tuple(unknowns), notes)


def _authn(
    authn: MeshTLSAuthentication, mesh: MeshState, linkerd_ns: str, trust_domain: str
) -> tuple[list[Drift], list[Unknown], list[str]]:
    where = f"MeshTLSAuthentication {authn.namespace}/{authn.name}"
    missing: list[tuple[str, str, str]] = []  # (identity, how written, why)
    unknowns: list[Unknown] = []
    unchecked: list[str] = []
    for i, identity in enumerate(authn.identities):
        origin = authn.origins[i] if i < len(authn.origins) else f"identities[{i}]"
        named = name_of(identity, linkerd_ns, trust_domain)
        if named.kind in ("foreign", "spiffe"):
            unchecked.append(identity)
            continue
        why = _missing(named, mesh, identity, where)
        if isinstance(why, Unknown):
            unknowns.append(why)
        elif why:
            missing.append((identity, origin, why))
    nobody = len(missing) == len(authn.identities)
    drifts = []
    for identity, origin, why in missing:
        effect = (
            "it names nothing else, so every AuthorizationPolicy requiring it admits nobody"
            if nobody
            else "that entry never matches a client"
        )
        message = (
            f"{where} {origin} names {identity}, but {why}: {effect} — fix the name, create"
            " the ServiceAccount, or remove the entry"
        )
        evidence = (
            ("meshtlsauthentication", f"{authn.namespace}/{authn.name}"),
            ("entry", origin),
            ("identity", identity),
            ("trust_domain", trust_domain),
        )
        severity: Severity = "critical" if nobody else "warning"
        drifts.append(
            Drift(severity, f"{authn.namespace}/{authn.name} {identity}", message, evidence)
        )
    return drifts, unknowns, unchecked


def _missing(named: IdentityName, mesh: MeshState, identity: str, where: str) -> str | Unknown:
    """Why the named identity cannot exist ("" when it can), or Unknown."""
    if named.kind == "any":
        return ""
    if named.kind == "impossible":
        return "this control plane never issues an identity of that form"
    if named.namespace not in mesh.service_accounts:
        detail = (
            f"{KUBERNETES}: the ServiceAccounts of namespace {named.namespace} ({where} names"
            " it) were not read: more namespaces are named than are watched"
        )
        return Unknown(MESH, detail)
    accounts = mesh.service_accounts[named.namespace]
    if accounts is None:
        detail = f"{KUBERNETES}: the ServiceAccounts of namespace {named.namespace} are unknown"
        return Unknown(MESH, detail)
    if not accounts:
        ns = named.namespace
        return f"namespace {ns} does not exist (it has no ServiceAccount, not even default)"
    if named.kind == "account" and named.account not in accounts:
        return f"namespace {named.namespace} has no ServiceAccount {named.account}"
    if named.kind == "accounts" and not any(a.endswith("." + named.account) for a in accounts):
        return f"no ServiceAccount of namespace {named.namespace} ends in .{named.account}"
    return ""
