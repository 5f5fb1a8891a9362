"""The backends' side of the `MeshState`: endpoints, the pods behind them, their proxies' bundles,
and the policy that applies to them — built purely from the watched collections.

Owns, for `build.build_state`:
- `services`: per backend Service its port's endpoints (EndpointSlices) with the pods'
  ServiceAccount and mesh membership (`parse`); a Service that does not exist, or has
  no such port, is a fact (no endpoints), an unreadable one None;
- the pods behind the boundaries: those the backend Services select (by `spec.selector`,
  or for a Service without one, those its EndpointSlices name), as `PodInfo`
  (`monitor.policy.pods.pod_info`);
- `proxies`: one `ProxyBundle` per meshed pod among them (terminating pods left out: they
  are being replaced), the SHA-256 fingerprints, in order, of the PEM in env
  `LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS` of its `linkerd-proxy` container (in
  `containers` or, as a native sidecar, `initContainers`). An env taken from a ConfigMap
  key (`valueFrom.configMapKeyRef`, as control-plane proxies do) is resolved from the
  control plane's `linkerd-identity-trust-roots` `ca-bundle.crt` (the copy trust-manager
  distributes); any other source, or an unparseable bundle, is `anchors=None` with the
  problem. None when the pods behind a boundary cannot be told;
- `policy`: `monitor.policy.parse.mesh_policy` over the policy objects of the backend namespaces,
  their Namespace objects and the `linkerd-config` values; None when any of them is unknown;
- the policy's reach (`reach`): the ServiceAccounts of the namespaces its identities name,
  and how many of the namespace's pods each Server selects.
Each backend, each pod and the policy are read behind the build's guard (`Contained`): one
that makes a parser raise something unforeseen is unknown (a pod: the proxies), not the
rest. Pure: no I/O, no logging; the cluster's problems are appended to `problems`.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from monitor.certs import parse_pem_bundle
from monitor.model import ProxyBundle, ServiceEndpoints
from monitor.policy.model import MeshPolicy, PodInfo
from monitor.policy.parse import mesh_policy
from monitor.policy.pods import pod_info
from monitor.sources.errors import Contained, clip
from monitor.sources.kube.spec import CollectionView, WatchSpec, object_key
from monitor.sources.mesh.parse import (
    PodFacts,
    endpoints,
    pod_facts,
    port_name,
    slice_endpoints,
)
from monitor.sources.mesh.reach import accounts_read, server_pods
from monitor.sources.mesh.specs import (
    ANCHORS_ENV,
    PROXY,
    TRUST_ROOTS,
    TRUST_ROOTS_KEY,
    Backend,
    Plan,
    selector_of,
    selects,
)

Json = Mapping[str, Any]
Read = Callable[[WatchSpec], CollectionView | None]


@dataclass(frozen=True, slots=True)
class Workloads:
    services: dict[str, ServiceEndpoints | None]
    proxies: tuple[ProxyBundle, ...] | None
    pods: dict[str, PodInfo]
    policy: MeshPolicy | None
    service_accounts: dict[str, frozenset[str] | None] = dataclasses.field(default_factory=dict)
    server_pods: dict[str, int | None] = dataclasses.field(default_factory=dict)


@functools.lru_cache(maxsize=256)
def _bundle(text: str) -> tuple[tuple[str, ...] | None, str]:
    """(fingerprints, problem) of a frozen bundle; pods share a few bundles, parse each once."""
    parsed = parse_pem_bundle(text)
    if parsed.errors or not parsed.certs:
        problems = "; ".join(f"{e.code}: {e.message}" for e in parsed.errors[:3])
        return None, f"unparseable trust bundle: {clip(problems or 'no certificate')}"
    return tuple(c.fingerprint_sha256 for c in parsed.certs), ""


def _map(obj: Json, key: str) -> Json:
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _dicts(raw: Any) -> list[Json]:
    return [x for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []


def proxy_bundle(pod: Json, roots_text: str | None, roots: str) -> ProxyBundle | None:
    """The pod's frozen bundle; None when the pod is not meshed (see the module docstring;
    `roots` names the trust-roots ConfigMap, `roots_text` its bundle, None when unknown)."""
    key = object_key(dict(pod)) or "?"
    spec = _map(pod, "spec")
    containers = [*_dicts(spec.get("containers")), *_dicts(spec.get("initContainers"))]
    proxy = next((c for c in containers if c.get("name") == PROXY), None)
    if proxy is None:
        return None
    env = next((e for e in _dicts(proxy.get("env")) if e.get("name") == ANCHORS_ENV), None)
    if env is None:
        return ProxyBundle(key, None, f"{PROXY} has no {ANCHORS_ENV} env")
    text = env.get("value")
    if not isinstance(text, str):
        ref = _map(env, "valueFrom").get("configMapKeyRef")
        if not isinstance(ref, dict):
            return ProxyBundle(key, None, f"{ANCHORS_ENV} is neither a value nor a ConfigMap key")
        if (ref.get("name"), ref.get("key")) != (TRUST_ROOTS, TRUST_ROOTS_KEY):
            where = f"ConfigMap {ref.get('name')} key {ref.get('key')}"
            return ProxyBundle(key, None, f"{ANCHORS_ENV} comes from {where}, which is not read")
        if roots_text is None:
            problem = f"{ANCHORS_ENV} comes from ConfigMap {roots}, which could not be read"
            return ProxyBundle(key, None, problem)
        text = roots_text
    anchors, problem = _bundle(text)
    return ProxyBundle(key, anchors, problem)


def _terminating(pod: Json) -> bool:
    meta = pod.get("metadata")
    return isinstance(meta, dict) and bool(meta.get("deletionTimestamp"))


def _slice_pods(slices: CollectionView, namespace: str) -> set[str]:
    """`namespace/name` of every pod the Service's EndpointSlices name (any port)."""
    out = set()
    for piece in slices.items:
        for ep in _dicts(piece.get("endpoints")):
            ref = _map(ep, "targetRef")
            if ref.get("kind") == "Pod" and ref.get("name"):
                out.add(f"{ref.get('namespace') or namespace}/{ref['name']}")
    return out


# A namespace's watched pods by `namespace/name`, and the facts of each (by (namespace, name)).
_NamespacePods = tuple[dict[str | None, Json], dict[tuple[str, str], PodFacts]]


class _Backends:
    """The services and the pods behind them, read once per backend; a namespace's pods
    (by key, and their facts) once per namespace, however many backends it holds."""

    def __init__(self, plan: Plan, read: Read) -> None:
        self.plan, self.read = plan, read
        self.services: dict[str, ServiceEndpoints | None] = {}
        self.behind: dict[str, Json] = {}
        self.complete = True  # every pod behind a boundary is known
        self._pods: dict[str, _NamespacePods | None] = {}
        self._index: dict[tuple[str, str], dict[str, list[str]]] = {}  # (ns, label) → value → keys

    def pods_view(self, namespace: str) -> CollectionView | None:
        spec = self.plan.pods.get(namespace)
        return None if spec is None else self.read(spec)

    def pods_of(self, namespace: str) -> _NamespacePods | None:
        """The namespace's watched pods by key and their facts (None: not watched)."""
        if namespace not in self._pods:
            pods = self.pods_view(namespace)
            if pods is None:
                self._pods[namespace] = None
            else:
                by_key: dict[str | None, Json] = {object_key(p): p for p in pods.items}
                facts = {_pair(k): pod_facts(p) for k, p in by_key.items() if k}
                self._pods[namespace] = (by_key, facts)
        return self._pods[namespace]

    def _labelled(
        self, namespace: str, by_key: Mapping[str | None, Json], selector: Mapping[str, str]
    ) -> list[str]:
        """The keys of the pods `selector` selects, in `by_key` order: looked up by one of
        its labels in an index built once per namespace and label, then checked whole (a
        scan of every pod per backend was quadratic in a namespace of many Services)."""
        label, value = min(selector.items())
        index = self._index.get((namespace, label))
        if index is None:
            index = {}
            for k, p in by_key.items():
                labels = _labels(p)
                found = labels.get(label) if isinstance(labels, dict) else None
                if k and isinstance(found, str):
                    index.setdefault(found, []).append(k)
            self._index[(namespace, label)] = index
        return [k for k in index.get(value, ()) if selects(selector, _labels(by_key[k]))]

    def add(self, b: Backend) -> bool:
        """Read backend `b` (True; a Service that cannot be read leaves it None)."""
        service_view = self.read(self.plan.services[b.key])
        slices = self.read(self.plan.slices[b.key])
        if service_view is None:
            self.services[b.key] = None
            self.complete = False
            return True
        service = service_view.find(b.namespace, b.name)
        nothing = ServiceEndpoints(b.namespace, b.name, str(b.port), ())
        if service is None:
            self.services[b.key] = nothing  # no such Service: the pool's members are extra
            return True
        pods = self.pods_of(b.namespace)
        by_key = None if pods is None else pods[0]
        name = port_name(service, b.port)
        if slices is None:
            self.services[b.key] = None
        elif name is None:
            self.services[b.key] = nothing
        else:
            found = slice_endpoints(slices.items, b.namespace, name)
            eps = endpoints(found, None if pods is None else pods[1])
            self.services[b.key] = ServiceEndpoints(b.namespace, b.name, str(b.port), eps)
        selector = selector_of(service)
        if by_key is None or (selector is None and slices is None):
            self.complete = False
            return True
        if selector is not None:
            chosen = {k: by_key[k] for k in self._labelled(b.namespace, by_key, selector)}
        else:
            assert slices is not None
            chosen = {k: by_key[k] for k in _slice_pods(slices, b.namespace) if k in by_key}
        self.behind.update((k, p) for k, p in chosen.items() if k)
        return True


def _pair(key: str) -> tuple[str, str]:
    namespace, _, name = key.partition("/")
    return namespace, name


def _labels(pod: Json) -> Any:
    meta = pod.get("metadata")
    return meta.get("labels") if isinstance(meta, dict) else None


def _policy(
    plan: Plan, read: Read, values: Mapping[str, Any] | None, problems: list[str]
) -> MeshPolicy | None:
    namespaces = [read(spec) for spec in plan.namespaces.values()]
    kinds = [read(s) for specs in (plan.policy or {}).values() for s in specs]
    if plan.policy is None or values is None or any(v is None for v in (*namespaces, *kinds)):
        return None
    policy, found = mesh_policy(
        [o for view in kinds if view is not None for o in view.items],
        values=values,
        namespaces=[o for view in namespaces if view is not None for o in view.items],
        linkerd_namespace=plan.linkerd_namespace,
        trust_domain=plan.trust_domain,
    )
    for ref, message in found:
        where = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
        problems.append(f"policy: {ref.kind} {where}: {message}")
    return policy


def _pod(
    key: str, pod: Json, roots_text: str | None, roots: str, problems: list[str]
) -> tuple[PodInfo | None, ProxyBundle | None]:
    info, found = pod_info(pod)
    problems.extend(f"pod {key}: {message}" for _, message in found)
    bundle = None if _terminating(pod) else proxy_bundle(pod, roots_text, roots)
    return info, bundle


def workloads(
    plan: Plan,
    read: Read,
    values: Mapping[str, Any] | None,
    roots_text: str | None,
    problems: list[str],
    contain: Contained,
) -> Workloads:
    """Services, pods, proxies and policy of the backends (module docstring)."""
    parts = _Backends(plan, read)
    for backend in plan.backends:
        if not contain.run(f"service {backend.key}", False, parts.add, backend):
            parts.services[backend.key] = None
            parts.complete = False
    pods: dict[str, PodInfo] = {}
    proxies: list[ProxyBundle] = []
    roots = f"{plan.linkerd_namespace}/{TRUST_ROOTS}"
    for key in sorted(parts.behind):
        read_pod = contain.run(
            f"pod {key}", None, _pod, key, parts.behind[key], roots_text, roots, problems
        )
        if read_pod is None:  # its proxy's bundle is unknown, so the set of them is
            parts.complete = False
            continue
        info, bundle = read_pod
        if info is not None:
            pods[key] = info
        if bundle is not None:
            proxies.append(bundle)
    policy = contain.run("policy", None, _policy, plan, read, values, problems)
    nothing: dict[str, Any] = {}
    return Workloads(
        services=parts.services,
        proxies=tuple(proxies) if parts.complete else None,
        pods=pods,
        policy=policy,
        service_accounts=contain.run("serviceaccounts", nothing, accounts_read, plan, read),
        server_pods=contain.run(
            "servers", nothing, server_pods, plan, read, policy, lambda ns: _keyed(parts, ns)
        ),
    )


def _keyed(parts: _Backends, namespace: str) -> Mapping[str | None, Json] | None:
    found = parts.pods_of(namespace)
    return None if found is None else found[0]
