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
namespaces) and `server_pods` (how many pods each Server selects, from the pods' labels
as their records keep them). The watches may be per namespace or cluster-wide
(`mesh.watchScope`): a cluster-wide view holds every backend namespace's objects, and each
namespace reads its own. The build's facts are kept in a `ReachMemo` with the inputs they
were made from, and made again only for what changed (a namespace's Servers, pods or
Services; a ServiceAccounts watch).
Pure: parsed from the views the caller hands over (stale views are good enough to plan
with), no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from monitor.policy.authorize import selects
from monitor.policy.identities import name_of
from monitor.policy.model import LabelSelector, MeshPolicy, MeshTLSAuthentication, Server
from monitor.policy.parse import policy_object
from monitor.sources.kube.spec import CollectionView, WatchSpec
from monitor.sources.mesh.pods import shared_selector
from monitor.sources.mesh.specs import Plan

ACCOUNT_NAMESPACES_MAX: Final = 16
Views = Callable[[WatchSpec], CollectionView | None]


def _objects(plan: Plan, views: Views, namespace: str, plural: str) -> list[Any]:
    """The parsed objects of one policy kind in one backend namespace (unread: none); a
    cluster-wide watch holds every backend namespace's, of which the namespace's are kept."""
    return _by_namespace(plan, views, plural).get(namespace, [])


def _by_namespace(plan: Plan, views: Views, plural: str) -> dict[str, list[Any]]:
    """Backend namespace → the parsed objects of one policy kind there (each watch once)."""
    out: dict[str, list[Any]] = {}
    wanted = {b.namespace for b in plan.backends}
    specs = dict.fromkeys(s for v in (plan.policy or {}).values() for s in v)
    for spec in specs:
        if spec.api_path.rsplit("/", 1)[-1] != plural:
            continue
        view = views(spec)
        for obj in view.items if view is not None else ():
            item, _ = policy_object(
                obj, linkerd_namespace=plan.linkerd_namespace, trust_domain=plan.trust_domain
            )
            if item is not None and item.namespace in wanted:
                out.setdefault(item.namespace, []).append(item)
    return out


def account_namespaces(plan: Plan, views: Views) -> tuple[str, ...]:
    """The namespaces the backends' MeshTLSAuthentications name (module docstring)."""
    found: set[str] = set()
    for authns in _by_namespace(plan, views, "meshtlsauthentications").values():
        for authn in authns:
            assert isinstance(authn, MeshTLSAuthentication)
            for identity in authn.identities:
                named = name_of(identity, plan.linkerd_namespace, plan.trust_domain)
                if named.namespace:
                    found.add(named.namespace)
    return tuple(sorted(found)[:ACCOUNT_NAMESPACES_MAX])


def covered(selector: LabelSelector, services: Iterable[Mapping[str, Any]]) -> bool:
    """Whether every pod `selector` selects is among the pods the backend pods watch of
    `services` reads (`specs.pods_selector`: the keys all their selectors share)."""
    services = list(services)
    if not services:
        return False  # no backend Service: no pods of the namespace are watched
    shared = shared_selector(services)
    if shared is None:
        return True  # a Service without a selector: the namespace's pods are read whole
    labels = dict(selector.match_labels)
    for key, allowed in shared.items():
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
    servers = _by_namespace(plan, views, "servers")
    for namespace in dict.fromkeys(b.namespace for b in plan.backends):
        mine = [b for b in plan.backends if b.namespace == namespace]
        existing = [s for b in mine if (s := services.get(b.key)) is not None]
        for server in servers.get(namespace, ()):
            assert isinstance(server, Server)
            if not covered(server.pod_selector, existing):
                out.add(namespace)
                break
    return frozenset(out)


# --- the facts of one build ----------------------------------------------------------------


@dataclass
class ReachMemo:
    """The previous builds' facts, by the inputs they read: the ServiceAccounts per
    watch, the Server counts per backend namespace (`workloads.Memo` holds one)."""

    accounts: dict[WatchSpec, tuple[Any, dict[str, frozenset[str]]]] = field(default_factory=dict)
    servers: dict[str, tuple[Any, dict[str, int | None]]] = field(default_factory=dict)


def _token(view: CollectionView | None, namespace: str) -> Any:
    return None if view is None else view.changed_in(namespace)


def accounts_read(
    plan: Plan, read: Views, memo: ReachMemo | None = None
) -> dict[str, frozenset[str] | None]:
    """Namespace → the names of its ServiceAccounts, for the namespaces `plan` watches them
    in (None: that watch failed or did not sync; its error is recorded by `read`). A
    cluster-wide watch is grouped by namespace once, and again only when it changed."""
    memo = memo if memo is not None else ReachMemo()
    out: dict[str, frozenset[str] | None] = {}
    for namespace, spec in plan.accounts.items():
        view = read(spec)
        if view is None:
            out[namespace] = None
            continue
        held = memo.accounts.get(spec)
        if held is None or held[0] != view.generation:
            grouped: dict[str, set[str]] = {}
            for obj in view.items:
                meta = obj.get("metadata") if isinstance(obj, Mapping) else None
                if not isinstance(meta, Mapping):
                    continue
                name = meta.get("name")
                if isinstance(name, str) and name:
                    grouped.setdefault(str(meta.get("namespace") or ""), set()).add(name)
            held = (view.generation, {n: frozenset(v) for n, v in grouped.items()})
            memo.accounts[spec] = held
        out[namespace] = held[1].get(namespace, frozenset())
    for gone in set(memo.accounts) - set(plan.accounts.values()):
        del memo.accounts[gone]
    return out


def server_pods(
    plan: Plan,
    read: Views,
    policy: MeshPolicy | None,
    pods: Callable[[str], Mapping[str, Any] | None],
    memo: ReachMemo | None = None,
) -> dict[str, int | None]:
    """ "namespace/name" of each Server of the backend namespaces → how many of the live pods
    read (`pods(namespace)`: by key, records or objects; None: unreadable) its podSelector
    selects; None when the pods it may select are not all read (the watch is narrowed and
    does not cover it). A namespace is counted again only when its Servers, its pods or
    its Services changed (`memo`)."""
    if policy is None:
        return {}
    memo = memo if memo is not None else ReachMemo()
    out: dict[str, int | None] = {}
    namespaces = tuple(dict.fromkeys(b.namespace for b in plan.backends))
    for namespace in namespaces:
        spec, services = plan.pods.get(namespace), plan.services.get(namespace)
        pods_view = read(spec) if spec is not None else None
        services_view = read(services) if services is not None else None
        mine = tuple(b for b in plan.backends if b.namespace == namespace)
        servers = tuple(s for s in policy.servers if s.namespace == namespace)
        key = (mine, servers, spec, _token(pods_view, namespace), services,
               _token(services_view, namespace))  # fmt: skip
        held = memo.servers.get(namespace)
        if held is None or held[0] != key:
            by_key = pods(namespace) if spec is not None else None
            counts = _counts(namespace, spec, by_key, services_view, mine, servers)
            held = (key, counts)
            memo.servers[namespace] = held
        out.update(held[1])
    for gone in set(memo.servers) - set(namespaces):
        del memo.servers[gone]
    return out


def _counts(
    namespace: str,
    spec: WatchSpec | None,
    by_key: Mapping[str, Any] | None,
    services_view: CollectionView | None,
    mine: tuple[Any, ...],
    servers: tuple[Server, ...],
) -> dict[str, int | None]:
    """The Server counts of one backend namespace (`server_pods`)."""
    existing = []
    if services_view is not None:
        existing = [s for b in mine if (s := services_view.find(b.namespace, b.name)) is not None]
    whole = spec is not None and spec.label_selector == ""  # (never the cluster-wide one)
    out: dict[str, int | None] = {}
    for server in servers:
        key = f"{namespace}/{server.name}"
        known = whole or (services_view is not None and covered(server.pod_selector, existing))
        if by_key is None or not known:
            out[key] = None
            continue
        out[key] = sum(1 for p in by_key.values() if selects(server.pod_selector, _labels(p)))
    return out


def _labels(pod: Any) -> Mapping[str, str]:
    """A pod's labels: a record's (`records.PodRecord`), or an object's."""
    if not isinstance(pod, Mapping):
        labels = getattr(pod, "labels", None)
        return labels if isinstance(labels, Mapping) else {}
    meta = pod.get("metadata")
    labels = meta.get("labels") if isinstance(meta, Mapping) else None
    return labels if isinstance(labels, Mapping) else {}
