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

The watches keep records (`records`), so a build looks facts up instead of parsing. It
works one backend namespace at a time, and a `Memo` (kept by the source from poll to
poll) holds each namespace's share and the policy with the generations of the views
they read (`CollectionView.changed_in`): a namespace none of whose views changed is not
built again, nor the policy while its inputs hold, nor the reach's facts (`ReachMemo`:
a namespace's Server counts while its Servers, pods and Services hold, the ServiceAccounts
while their watch holds), so a poll after a few events rebuilds only what those events feed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.model import ProxyBundle, ServiceEndpoints, SourceError
from monitor.policy.model import MeshPolicy, PodInfo
from monitor.policy.parse import mesh_policy
from monitor.sources.errors import Contained
from monitor.sources.kube.spec import CollectionView, WatchSpec
from monitor.sources.mesh.names import TRUST_ROOTS
from monitor.sources.mesh.parse import endpoints, port_name, slice_endpoints
from monitor.sources.mesh.reach import ReachMemo, accounts_read, server_pods
from monitor.sources.mesh.records import (
    PodFacts,
    PodRecord,
    SliceRecord,
    pod_record,
    proxy_env,
    resolved_bundle,
    slice_records,
)
from monitor.sources.mesh.specs import Backend, Plan, selector_of, selects

Json = Mapping[str, Any]
Read = Callable[[WatchSpec], CollectionView | None]
_RAISED = object()  # what `Contained.run` answers when the call it guards raised


@dataclass(frozen=True, slots=True)
class Workloads:
    services: dict[str, ServiceEndpoints | None]
    proxies: tuple[ProxyBundle, ...] | None
    pods: dict[str, PodInfo]
    policy: MeshPolicy | None
    service_accounts: dict[str, frozenset[str] | None] = field(default_factory=dict)
    server_pods: dict[str, int | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Share:
    """One backend namespace's part of the workloads, and what building it reported."""

    services: dict[str, ServiceEndpoints | None]
    pods: dict[str, PodInfo]
    proxies: tuple[ProxyBundle, ...]
    complete: bool  # every pod behind its boundaries is known
    errors: tuple[SourceError, ...]
    problems: tuple[str, ...]
    failures: tuple[Exception, ...]


@dataclass
class Memo:
    """The previous builds' namespace shares and policy, by the inputs they read."""

    shares: dict[str, tuple[Any, _Share]] = field(default_factory=dict)
    policy: tuple[Any, tuple[MeshPolicy | None, tuple[str, ...], tuple[SourceError, ...],
                             tuple[Exception, ...]]] | None = None  # fmt: skip
    reach: ReachMemo = field(default_factory=ReachMemo)  # the policy's reach (`reach`)


def proxy_bundle(pod: Json, roots_text: str | None, roots: str) -> ProxyBundle | None:
    """A served pod's frozen bundle; None when the pod is not meshed (see the module
    docstring; `roots` names the trust-roots ConfigMap, `roots_text` its bundle, None
    when unknown)."""
    meta = pod.get("metadata")
    key = "?"
    if isinstance(meta, dict) and meta.get("name"):
        ns = meta.get("namespace")
        key = f"{ns}/{meta['name']}" if ns else str(meta["name"])
    env = proxy_env(pod)
    return None if env is None else resolved_bundle(key, env, roots_text, roots)


def _token(view: CollectionView | None, namespace: str) -> Any:
    return None if view is None else view.changed_in(namespace)


class _Index:
    """One build's views of the backends, grouped by namespace once per view."""

    def __init__(self) -> None:
        self._pods: dict[int, dict[str, dict[str, PodRecord]]] = {}
        self._slices: dict[int, dict[tuple[str, str | None], list[SliceRecord]]] = {}

    def pods(self, view: CollectionView, namespace: str) -> dict[str, PodRecord]:
        """The namespace's pods by key (dicts, as tests give them, made records)."""
        grouped = self._pods.get(id(view))
        if grouped is None:
            grouped = {}
            for item in view.items:
                record = item if isinstance(item, PodRecord) else pod_record(item)
                if record is not None:
                    grouped.setdefault(record.namespace, {})[record.key] = record
            self._pods[id(view)] = grouped
        return grouped.get(namespace, {})

    def slices(self, view: CollectionView, namespace: str, service: str) -> list[SliceRecord]:
        """The EndpointSlices of Service `namespace/service`."""
        grouped = self._slices.get(id(view))
        if grouped is None:
            grouped = {}
            for record in slice_records(view.items):
                grouped.setdefault((record.namespace, record.service), []).append(record)
            self._slices[id(view)] = grouped
        return grouped.get((namespace, service), [])


class _Namespace:
    """Builds one backend namespace's share (`_Share`)."""

    def __init__(
        self,
        namespace: str,
        views: tuple[CollectionView | None, CollectionView | None, CollectionView | None],
        index: _Index,
        roots: tuple[str | None, str],
    ) -> None:
        self.namespace = namespace
        self.service_view, self.slice_view, pods_view = views
        self.index, (self.roots_text, self.roots) = index, roots
        self.pods = None if pods_view is None else index.pods(pods_view, namespace)
        self.errors: list[SourceError] = []
        self.problems: list[str] = []
        self.contain = Contained(self.errors)
        self.services: dict[str, ServiceEndpoints | None] = {}
        self.behind: dict[str, PodRecord] = {}
        self.complete = True
        self._label_index: dict[str, dict[str, list[str]]] = {}
        self._facts: dict[tuple[str, str], PodFacts] | None = None

    def facts(self, pods: Mapping[str, PodRecord]) -> dict[tuple[str, str], PodFacts]:
        """The pods' facts by (namespace, name), made once per namespace."""
        if self._facts is None:
            self._facts = {(k.partition("/")[0], k.partition("/")[2]): p.facts
                           for k, p in pods.items()}  # fmt: skip
        return self._facts

    def _labelled(self, pods: Mapping[str, PodRecord], selector: Mapping[str, str]) -> list[str]:
        """The keys of the pods `selector` selects: looked up by one of its labels in an
        index built once per label, then checked whole."""
        label, value = min(selector.items())
        index = self._label_index.get(label)
        if index is None:
            index = {}
            for key, pod in pods.items():
                found = pod.labels.get(label)
                if isinstance(found, str):
                    index.setdefault(found, []).append(key)
            self._label_index[label] = index
        return [k for k in index.get(value, ()) if selects(selector, pods[k].labels)]

    def add(self, b: Backend) -> None:
        """Read backend `b` (a Service that cannot be read leaves it None)."""
        if self.service_view is None:
            self.services[b.key] = None
            self.complete = False
            return
        service = self.service_view.find(b.namespace, b.name)
        nothing = ServiceEndpoints(b.namespace, b.name, str(b.port), ())
        if service is None:
            self.services[b.key] = nothing  # no such Service: the pool's members are extra
            return
        pods = self.pods
        facts = None if pods is None else self.facts(pods)
        name = port_name(service, b.port)
        slices = None
        if self.slice_view is not None:
            slices = self.index.slices(self.slice_view, b.namespace, b.name)
        if slices is None:
            self.services[b.key] = None
        elif name is None:
            self.services[b.key] = nothing
        else:
            found = slice_endpoints(slices, b.namespace, name)
            self.services[b.key] = ServiceEndpoints(
                b.namespace, b.name, str(b.port), endpoints(found, facts)
            )
        selector = selector_of(service)
        if pods is None or (selector is None and slices is None):
            self.complete = False
            return
        if selector is not None:
            chosen = self._labelled(pods, selector)
        else:
            assert slices is not None
            named = {f"{e.pod[0]}/{e.pod[1]}" for s in slices for e in s.endpoints if e.pod}
            chosen = [k for k in named if k in pods]
        self.behind.update((k, pods[k]) for k in chosen)

    def share(self, backends: Iterable[Backend]) -> _Share:
        for backend in backends:
            if self.contain.run(f"service {backend.key}", _RAISED, self.add, backend) is _RAISED:
                self.services[backend.key] = None
                self.complete = False
        pods: dict[str, PodInfo] = {}
        proxies: list[ProxyBundle] = []
        for key in sorted(self.behind):
            record = self.behind[key]
            read_pod = self.contain.run(f"pod {key}", None, self._pod, record)
            if read_pod is None:  # its proxy's bundle is unknown, so the set of them is
                self.complete = False
                continue
            info, bundle = read_pod
            if info is not None:
                pods[key] = info
            if bundle is not None:
                proxies.append(bundle)
        return _Share(self.services, pods, tuple(proxies), self.complete, tuple(self.errors),
                      tuple(self.problems), tuple(self.contain.failures))  # fmt: skip

    def _pod(self, record: PodRecord) -> tuple[PodInfo | None, ProxyBundle | None]:
        bundle = record.proxy(self.roots_text, self.roots)  # raises a parsing failure
        self.problems.extend(f"pod {record.key}: {message}" for message in record.problems)
        return record.info, bundle


def _policy(
    plan: Plan, read: Read, values: Mapping[str, Any] | None, problems: list[str]
) -> MeshPolicy | None:
    namespaces = [read(spec) for spec in dict.fromkeys(plan.namespaces.values())]
    kinds = [read(s) for s in dict.fromkeys(s for v in (plan.policy or {}).values() for s in v)]
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


def _policy_part(
    plan: Plan, read: Read, values: Mapping[str, Any] | None, values_token: Any,
    problems: list[str], contain: Contained, memo: Memo,
) -> MeshPolicy | None:  # fmt: skip
    specs = [*dict.fromkeys(plan.namespaces.values()),
             *dict.fromkeys(s for v in (plan.policy or {}).values() for s in v)]  # fmt: skip
    views = [read(spec) for spec in specs]
    key = (plan.policy is None, values is None, values_token,
           tuple(None if v is None else v.generation for v in views))  # fmt: skip
    if memo.policy is not None and memo.policy[0] == key:
        policy, found, errors, failures = memo.policy[1]
    else:
        mine: list[str] = []
        guard = Contained([])
        policy = guard.run("policy", None, _policy, plan, read, values, mine)
        found, errors, failures = tuple(mine), tuple(guard.errors), tuple(guard.failures)
        memo.policy = (key, (policy, found, errors, failures))
    problems.extend(found)
    contain.errors.extend(errors)
    contain.failures.extend(failures)
    return policy


def workloads(
    plan: Plan,
    read: Read,
    values: Mapping[str, Any] | None,
    roots_text: str | None,
    problems: list[str],
    contain: Contained,
    memo: Memo | None = None,
    values_token: Any = None,
) -> Workloads:
    """Services, pods, proxies and policy of the backends (module docstring). `memo`
    carries the shares of earlier builds (a fresh one: build everything); `values_token`
    changes whenever `values` may have (None: always treated as changed)."""
    memo = memo if memo is not None else Memo()
    if values_token is None:
        values_token = object()
    index = _Index()
    roots = (roots_text, f"{plan.linkerd_namespace}/{TRUST_ROOTS}")
    grouped: dict[str, list[Backend]] = {}
    for backend in plan.backends:
        grouped.setdefault(backend.namespace, []).append(backend)
    shares: dict[str, _Share] = {}
    for namespace, mine in grouped.items():
        specs = (plan.services.get(namespace), plan.slices.get(namespace),
                 plan.pods.get(namespace))  # fmt: skip
        views = tuple(None if s is None else read(s) for s in specs)
        key = (tuple(mine), roots, specs, tuple(_token(v, namespace) for v in views))
        held = memo.shares.get(namespace)
        if held is not None and held[0] == key:
            share = held[1]
        else:
            share = _Namespace(namespace, views, index, roots).share(mine)  # type: ignore[arg-type]
            memo.shares[namespace] = (key, share)
        shares[namespace] = share
    for gone in set(memo.shares) - set(grouped):
        del memo.shares[gone]
    services: dict[str, ServiceEndpoints | None] = {}
    pods: dict[str, PodInfo] = {}
    proxies: list[ProxyBundle] = []
    complete = True
    for namespace in sorted(shares, key=lambda n: n + "/"):  # the keys' order, as one sort
        share = shares[namespace]
        pods.update(share.pods)
        proxies.extend(share.proxies)
        complete = complete and share.complete
        problems.extend(share.problems)
        contain.errors.extend(share.errors)
        contain.failures.extend(share.failures)
    for backend in plan.backends:
        services[backend.key] = shares[backend.namespace].services.get(backend.key)
    policy = _policy_part(plan, read, values, values_token, problems, contain, memo)
    nothing: dict[str, Any] = {}

    def pods_of(namespace: str) -> Mapping[str, PodRecord] | None:
        spec = plan.pods.get(namespace)
        view = None if spec is None else read(spec)
        return None if view is None else index.pods(view, namespace)

    return Workloads(
        services=services,
        proxies=tuple(proxies) if complete else None,
        pods=pods,
        policy=policy,
        service_accounts=contain.run(
            "serviceaccounts", nothing, accounts_read, plan, read, memo.reach
        ),
        server_pods=contain.run(
            "servers", nothing, server_pods, plan, read, policy, pods_of, memo.reach
        ),
    )
