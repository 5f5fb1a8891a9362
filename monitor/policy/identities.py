"""What a MeshTLSAuthentication identity names, in the terms of one cluster's control plane.

Linkerd issues every meshed workload the identity
`<serviceaccount>.<namespace>.serviceaccount.identity.<linkerd namespace>.<trust domain>`;
a MeshTLSAuthentication matches client identities exactly, or by a `*.` suffix, or `*`
for any (research/linkerd.md §5.2, `policy-controller` `IdentityMatch`). `name_of` reads
one such entry back into what it stands for, so the checks can ask whether that exists:
- `any`: `*`, or a wildcard at least as broad as every identity of this control plane
  (`*.serviceaccount.identity.linkerd.cluster.local`, `*.cluster.local`);
- `account`: one ServiceAccount (`namespace`, `account`);
- `namespace`: every ServiceAccount of a namespace (`*.<ns>.serviceaccount…`);
- `accounts`: ServiceAccounts of a namespace whose names end in `.<account>`
  (`*.<suffix>.<ns>.serviceaccount…`; ServiceAccount names may hold dots);
- `impossible`: in this control plane's domain but in no form it ever issues
  (`web.identity.linkerd.cluster.local`): it never matches anything;
- `foreign`: another trust domain or control plane (a linked cluster, a typo in the
  domain): nothing this cluster can confirm;
- `spiffe`: a `spiffe://` id (mesh expansion's external workloads), not a ServiceAccount.
Pure; imports nothing of the monitor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["any", "account", "namespace", "accounts", "impossible", "foreign", "spiffe"]


@dataclass(frozen=True, slots=True)
class IdentityName:
    kind: Kind
    namespace: str = ""
    account: str = ""  # the ServiceAccount name, or for `accounts` the suffix they end in


def name_of(identity: str, linkerd_namespace: str, trust_domain: str) -> IdentityName:
    """What `identity` (as written in a MeshTLSAuthentication) names (module docstring)."""
    text = identity.strip().lower()
    if text == "*":
        return IdentityName("any")
    if text.startswith("spiffe://"):
        return IdentityName("spiffe")
    wildcard = text.startswith("*.")
    body = text[2:] if wildcard else text
    accounts = f"serviceaccount.identity.{linkerd_namespace}.{trust_domain}".lower()
    domain = f"identity.{linkerd_namespace}.{trust_domain}".lower()
    if wildcard and (accounts == body or accounts.endswith("." + body)):
        return IdentityName("any")  # as broad as every identity this control plane issues
    if not body.endswith("." + accounts):
        if body == domain or body.endswith("." + domain):
            return IdentityName("impossible")
        return IdentityName("foreign")
    head = body[: -len(accounts) - 1]  # `<sa>.<ns>`, or `<ns>` / `<suffix>.<ns>` for wildcards
    rest, _, namespace = head.rpartition(".")
    if not namespace:
        return IdentityName("impossible")
    if wildcard:
        return (
            IdentityName("accounts", namespace, rest)
            if rest
            else IdentityName("namespace", namespace)
        )
    return IdentityName("account", namespace, rest) if rest else IdentityName("impossible")
