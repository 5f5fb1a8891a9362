"""How far the policy of the backend namespaces reaches beyond what the boundaries name.

Owns two answers the mesh source plans its watches by, and the build reads facts with:
- `account_namespaces`: the namespaces whose ServiceAccounts the backends'
  MeshTLSAuthentications name (an identity, an identityRef, a namespace wildcard;
  `monitor.policy.identities`), at most `ACCOUNT_NAMESPACES_MAX` in name order; the rest
  are not watched, and the identities naming them stay unknown;
- `covered`: whether a Server's pod selector can only select pods the backend pods watch
  reads (every key the Services' selectors share, with one of their values), and
  `whole_namespaces`, the backend namespaces where some Server is not covered: their pods
  are then watched whole, so `policy_server_selects_nothing` sees every pod a Server may
  select, while namespaces whose Servers all select backend pods keep the narrow watch.
And the facts the build reads with them: `accounts_read` (the ServiceAccounts of those
namespaces) and `server_pods` (how many pods each Server selects).
Pure: parsed from the views the caller hands over (stale views are good enough to plan
with), no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

from monitor.policy.authorize import selects
from monitor.policy.identities import name_of
from monitor.policy.model import LabelSelector, MeshPolicy, MeshTLSAuthentication, Server
from monitor.policy.parse import policy_object
from monitor.sources.kube.spec import CollectionView, WatchSpec
from monitor.sources.mesh.specs import Plan, selector_of

ACCOUNT_NAMESPACES_MAX: Final = 16
Views = Callable[[WatchSpec], CollectionView | None]


def _objects(plan: Plan, views: Views, namespace: str, plural: str) -> list[Any]:
    """The parsed objects of one policy kind in one backend namespace (unread: none)."""
    out = []
    for spec in (plan.policy or {}).get(namespace, ()):
        if spec.api_path.rsplit("/", 1)[-1] != plural:
            continue
        view = views(spec)
        for obj in view.items if view is not None else ():
            item, _ = policy_object(
                obj, linkerd_namespace=plan.linkerd_namespace, trust_domain=plan.trust_domain
            )
            out += [item] if item is not None else []
    return out


def account_namespaces(plan: Plan, views: Views) -> tuple[str, ...]:
    """The namespaces the backends' MeshTLSAuthentications name (module docstring)."""
    found: set[str] = set()
    for namespace in dict.fromkeys(b.namespace for b in plan.backends):
        for authn in _objects(plan, views, namespace, "meshtlsauthentications"):
            assert isinstance(authn, MeshTLSAuthentication)
            for identity in authn.identities:
                named = name_of(identity, plan.linkerd_namespace, plan.trust_domain)
                if named.namespace:
                    found.add(named.namespace)
    return tuple(sorted(found)[:ACCOUNT_NAMESPACES_MAX])


def covered(selector: LabelSelector, services: Iterable[Mapping[str, Any]]) -> bool:
    """Whether every pod `selector` selects is among the pods the backend pods watch of
    `services` reads (`specs.pods_selector`: the keys all their selectors share)."""
    selectors = [selector_of(s) for s in services]
    if not selectors:
        return False  # no backend Service: no pods of the namespace are watched
    if any(s is None for s in selectors):
        return True  # a Service without a selector: the namespace's pods are read whole
    keys = set.intersection(*(set(s) for s in selectors if s is not None))
    labels = dict(selector.match_labels)
    for key in keys:
        allowed = {s[key] for s in selectors if s is not None}
        if key in labels:
            if labels[key] not in allowed:
                return False
            continue
        ins = [set(v) for k, op, v in selector.match_expressions if k == key and op == "In"]
        if not any(values <= allowed for values in ins):
            return False
    return True  # (no shared key: the namespace's pods are read whole)


def whole_namespaces(
    plan: Plan, views: Views, services: Mapping[str, Mapping[str, Any] | None]
) -> frozenset[str]:
    """The backend namespaces whose pods must be watched whole (module docstring)."""
    out = set()
    for namespace in dict.fromkeys(b.namespace for b in plan.backends):
        mine = [b for b in plan.backends if b.namespace == namespace]
        existing = [s for b in mine if (s := services.get(b.key)) is not None]
        for server in _objects(plan, views, namespace, "servers"):
            assert isinstance(server, Server)
            if not covered(server.pod_selector, existing):
                out.add(namespace)
                break
    return frozenset(out)


# --- the facts of one build ----------------------------------------------------------------


def accounts_read(plan: Plan, read: Views) -> dict[str, frozenset[str] | None]:
    """Namespace → the names of its ServiceAccounts, for the namespaces `plan` watches them
    in (None: that watch failed or did not sync; its error is recorded by `read`)."""
    out: dict[str, frozenset[str] | None] = {}
    for namespace, spec in plan.accounts.items():
        view = read(spec)
        if view is None:
            out[namespace] = None
            continue
        names = (o.get("metadata", {}).get("name") for o in view.items)
        out[namespace] = frozenset(n for n in names if isinstance(n, str) and n)
    return out


def server_pods(
    plan: Plan,
    read: Views,
    policy: MeshPolicy | None,
    pods: Callable[[str], Mapping[str | None, Mapping[str, Any]] | None],
) -> dict[str, int | None]:
    """ "namespace/name" of each Server of the backend namespaces → how many of the live pods
    read (`pods(namespace)`, None: unreadable) its podSelector selects; None when the pods
    it may select are not all read (the watch is narrowed and does not cover it)."""
    if policy is None:
        return {}
    out: dict[str, int | None] = {}
    for namespace in dict.fromkeys(b.namespace for b in plan.backends):
        spec = plan.pods.get(namespace)
        by_key = pods(namespace) if spec is not None else None
        mine = [b for b in plan.backends if b.namespace == namespace]
        views = [read(plan.services[b.key]) for b in mine]
        existing = [
            s
            for b, view in zip(mine, views, strict=True)
            if view is not None and (s := view.find(b.namespace, b.name)) is not None
        ]
        whole = spec is not None and spec.label_selector == ""
        for server in (s for s in policy.servers if s.namespace == namespace):
            key = f"{namespace}/{server.name}"
            known = whole or (
                all(v is not None for v in views) and covered(server.pod_selector, existing)
            )
            if by_key is None or not known:
                out[key] = None
                continue
            out[key] = sum(1 for p in by_key.values() if selects(server.pod_selector, _labels(p)))
    return out


def _labels(pod: Mapping[str, Any]) -> Mapping[str, str]:
    meta = pod.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return labels if isinstance(labels, Mapping) else {}
