"""What the mesh source watches: the `WatchSpec`s the configured boundaries need, as a `Plan`.

Owns the names of the Linkerd objects (research/linkerd.md §1–2), the backends of the
configuration, the pod selector one backend namespace is narrowed by, the slimming
transform every watched pod goes through, and `plan_watches`, which turns the
configuration, the Services read so far and the served policy kinds into the exact set
of watches (DESIGN section 4, "Access"). Pure: no I/O.

One watch per kind and namespace (never one per boundary), as narrow as the boundaries
allow; `mesh.watchScope` says whether the backends' kinds are watched per backend
namespace (`namespaces`: Roles in each) or once for the whole cluster (`cluster`: one
ClusterRole, a number of watches that does not grow with the namespaces):
- the control plane's named objects by `fieldSelector=metadata.name=…` (the trust-roots and
  `linkerd-config` ConfigMaps; the issuer as `mesh.issuer.source` says: the Secret, stored
  without private keys, or the ConfigMap publishing its certificate, or nothing but the
  Certificates), its pods by the `linkerd.io/control-plane-component` label (the version),
  the cert-manager `Certificate`s of its namespace (only when the cluster serves them) and,
  with `mesh.issuer.source: certificate`, its `CertificateRequest`s (the issued
  certificate, public: `certrequest`); always in the control plane's namespace;
- the backend Services (only those named by a boundary are kept), their EndpointSlices
  (by `kubernetes.io/service-name in (…)`), the live backend pods narrowed by what the
  backend Services select (known only once those Services have been read, so the plan is
  recomputed every poll and a changed selector swaps the watch; a namespace whose pods no
  label can narrow is watched on its own, as is one where a Server may select pods the
  Services leave out: `reach`), and each served policy kind in its newest version, with
  the policy and Gateway API HTTPRoutes and GRPCRoutes an AuthorizationPolicy may target
  (names only): per backend namespace, or cluster-wide keeping only the backend namespaces;
- the backend Namespaces (their default-inbound-policy annotation): each by name, or all
  of them cluster-wide keeping only the backend ones;
- the ServiceAccounts (names only) of the namespaces the backends' MeshTLSAuthentications
  name (`reach`): per namespace, or cluster-wide keeping only those namespaces.
What each watch keeps of an object is a compact record (`records`), not the object.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config.schema import Config, IssuerSourceConfig
from monitor.sources.kube.spec import WatchSpec, secret_without_keys
from monitor.sources.mesh.certrequest import request_record
from monitor.sources.mesh.names import (
    ANCHORS_ENV,
    CERT_MANAGER_GROUP,
    CONTROL_PLANE,
    GATEWAY_GROUP,
    INIT,
    ISSUER,
    LINKERD_CONFIG,
    POLICY_GROUP,
    PROXY,
    TRUST_ROOTS,
    TRUST_ROOTS_KEY,
)
from monitor.sources.mesh.pods import pods_selector, selector_of, selects, slim_pod
from monitor.sources.mesh.records import (
    Keep,
    ServiceRecord,
    pod_record,
    service_record,
    slice_record,
    slim_object,
)

__all__ = [  # the names, for the modules that read them from here
    "ANCHORS_ENV", "CERT_MANAGER_GROUP", "CONTROL_PLANE", "GATEWAY_GROUP", "INIT", "ISSUER",
    "LINKERD_CONFIG", "POLICY_GROUP", "PROXY", "TRUST_ROOTS", "TRUST_ROOTS_KEY", "Backend",
    "Plan", "PolicyKind", "accounts_spec", "backends", "name_only", "plan_watches",
    "pods_selector", "pods_spec", "policy_spec", "selector_of", "selects", "slim_pod",
]  # fmt: skip

Json = dict[str, Any]

SECRET = IssuerSourceConfig()  # the default mesh.issuer: the Secret
# Pods that can back an endpoint: EndpointSlices leave out pods that have finished.
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"


@dataclass(frozen=True, slots=True)
class Backend:
    """A backend Service of the boundaries and the port they use (number or name)."""

    namespace: str
    name: str
    port: int | str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def backends(cfg: Config) -> tuple[Backend, ...]:
    """Each distinct backend Service once, in config order (the first boundary's port)."""
    seen: dict[str, Backend] = {}
    for boundary in cfg.boundaries:
        ref = boundary.backend.service
        seen.setdefault(f"{ref.namespace}/{ref.name}", Backend(ref.namespace, ref.name, ref.port))
    return tuple(seen.values())


@dataclass(frozen=True, slots=True)
class PolicyKind:
    """A policy.linkerd.io kind the cluster serves, in the version the monitor reads (or a
    Gateway API route kind an AuthorizationPolicy may target: `group`)."""

    plural: str
    kind: str
    version: str
    group: str = POLICY_GROUP


# --- specs --------------------------------------------------------------------------------------


def _named(plural: str, namespace: str, name: str, what: str, **kw: Any) -> WatchSpec:
    return WatchSpec.of(plural, namespace, name=name, target=f"{what} {namespace}/{name}", **kw)


def _pods(namespace: str | None, selector: str, what: str, transform: Any = slim_pod) -> WatchSpec:
    spec = WatchSpec.of("pods", namespace, label_selector=selector, target=what,
                        transform=transform)  # fmt: skip
    return dataclasses.replace(spec, field_selector=LIVE_PODS)


def pods_spec(namespace: str, selector: str) -> WatchSpec:
    """The live pods of a backend namespace, narrowed by `selector`, kept as records."""
    what = f"pods {namespace}" + (f" ({selector})" if selector else "")
    return _pods(namespace, selector, what, pod_record)


def name_only(obj: Mapping[str, Any]) -> Json:
    """An object reduced to that it exists (apiVersion, kind, name, namespace): the
    transform of the watches whose objects are only looked up by name (routes an
    AuthorizationPolicy may target, ServiceAccounts an identity names)."""
    meta = obj.get("metadata")
    keep = (
        {k: meta[k] for k in ("name", "namespace") if k in meta} if isinstance(meta, dict) else {}
    )
    return {**{k: obj[k] for k in ("apiVersion", "kind") if k in obj}, "metadata": keep}


def policy_spec(
    namespace: str | None, kind: PolicyKind, keep: frozenset[str] = frozenset()
) -> WatchSpec:
    """A policy kind (or a route kind an AuthorizationPolicy may target, names only) in a
    backend namespace, or (None) cluster-wide keeping `keep`'s."""
    where = namespace or "(cluster-wide)"
    reduce = name_only if kind.plural in ("httproutes", "grpcroutes") else slim_object
    transform = reduce if namespace else Keep(reduce, namespaces=keep)
    target = f"{kind.plural}.{kind.group} {where}"
    return WatchSpec.of(kind.plural, namespace, group=kind.group, version=kind.version,
                        target=target, transform=transform)  # fmt: skip


def accounts_spec(namespace: str | None, keep: frozenset[str] = frozenset()) -> WatchSpec:
    """The ServiceAccounts (names only) of a namespace a MeshTLSAuthentication names, or
    (None) of the cluster keeping those of the namespaces `keep`."""
    if namespace is None:
        return WatchSpec.of("serviceaccounts", target="serviceaccounts (cluster-wide)",
                            transform=Keep(name_only, namespaces=keep))  # fmt: skip
    return WatchSpec.of(
        "serviceaccounts", namespace, target=f"serviceaccounts {namespace}", transform=name_only
    )


def _slices(namespace: str | None, names: Sequence[str], keep: frozenset[str]) -> WatchSpec:
    """The EndpointSlices of the Services `names` (in `namespace`, or cluster-wide in the
    namespaces `keep`), by their `kubernetes.io/service-name` label, kept as records."""
    unique = sorted(set(names))
    selector = (f"kubernetes.io/service-name={unique[0]}" if len(unique) == 1
                else f"kubernetes.io/service-name in ({','.join(unique)})")  # fmt: skip
    where = namespace or "(cluster-wide)"
    target = f"endpointslices {where} (service {', '.join(unique)})"
    transform = slice_record if namespace else Keep(slice_record, namespaces=keep)
    return WatchSpec.of("endpointslices", namespace, group="discovery.k8s.io",
                        label_selector=selector, target=target, transform=transform)  # fmt: skip


def _services(namespace: str | None, keys: frozenset[str]) -> WatchSpec:
    """The Services of a namespace (or of the cluster), keeping those in `keys` as records."""
    target = f"services {namespace or '(cluster-wide)'}"
    return WatchSpec.of("services", namespace, target=target,
                        transform=Keep(service_record, keys=keys))  # fmt: skip


def _pod_watches(
    wanted: tuple[Backend, ...],
    services: Mapping[str, Mapping[str, Any] | ServiceRecord | None],
    namespaces: tuple[str, ...],
    scope: str,
    whole: frozenset[str] = frozenset(),
) -> dict[str, WatchSpec]:
    """Backend namespace → the watch of its pods, for the namespaces whose Services are
    all read and exist in part (cluster scope: one watch for all of them, narrowed by the
    union of their selectors, unless no label narrows it; then, and for a namespace whose
    pods no label narrows, a watch of the namespace), and for the namespaces in `whole`
    (a Server there may select pods the Services leave out) a watch of the namespace."""
    selectors: dict[str, list[Mapping[str, Any] | ServiceRecord]] = {}
    for namespace in namespaces:
        mine = [b for b in wanted if b.namespace == namespace]
        if any(b.key not in services for b in mine):
            continue  # a Service not read yet: its selector is unknown
        existing = [s for b in mine if (s := services[b.key]) is not None]
        if existing:
            selectors[namespace] = existing
    out: dict[str, WatchSpec] = {}
    narrowed = {n: pods_selector(found) for n, found in selectors.items()}
    narrowed.update((n, "") for n in namespaces if n in whole)
    shared = [n for n, selector in narrowed.items() if selector]
    union = pods_selector([s for n in shared for s in selectors[n]]) if shared else ""
    if scope == "cluster" and union:
        keep = Keep(pod_record, namespaces=frozenset(shared))
        spec = _pods(None, union, f"pods in {len(shared)} namespaces (cluster-wide)", keep)
        out.update(dict.fromkeys(shared, spec))
    for namespace, selector in narrowed.items():
        out.setdefault(namespace, pods_spec(namespace, selector))
    return out


@dataclass(frozen=True)
class Plan:
    """The watches of one poll, by what they are for. The backends' watches are keyed by
    backend namespace (several namespaces share one watch when it is cluster-wide);
    `pods` holds the backend namespaces whose Services are known; `policy` is None while
    the served policy kinds are unknown, `certificates` None when cert-manager's
    Certificates are not served (or not known to be: `certificates_known`)."""

    linkerd_namespace: str
    trust_domain: str
    backends: tuple[Backend, ...]
    trust_roots: WatchSpec
    config: WatchSpec
    issuer: WatchSpec | None  # the Secret, or the ConfigMap publishing it; None: Certificate
    control_pods: WatchSpec
    certificates: WatchSpec | None
    certificates_known: bool
    # mesh.issuer.source: certificate, with Certificates served: the issued certificate
    certificate_requests: WatchSpec | None = None
    services: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    slices: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    namespaces: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    pods: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    policy: Mapping[str, tuple[WatchSpec, ...]] | None = None  # backend namespace →
    issuer_source: str = "secret"  # mesh.issuer.source
    issuer_name: str = ISSUER  # the Secret (a Certificate writes it) or the ConfigMap
    # the namespaces whose ServiceAccounts the policy's identities name (`reach`) →
    accounts: Mapping[str, WatchSpec] = field(default_factory=dict)

    @property
    def issuer_object(self) -> str:
        """`namespace/name` of the object the issuer is read from."""
        return f"{self.linkerd_namespace}/{self.issuer_name}"

    def specs(self) -> Iterator[WatchSpec]:
        """Every watch of the plan, each once."""
        yield from dict.fromkeys(self._all())

    def _all(self) -> Iterator[WatchSpec]:
        yield from (self.trust_roots, self.config)
        if self.issuer is not None:
            yield self.issuer
        yield self.control_pods
        if self.certificates is not None:
            yield self.certificates
        if self.certificate_requests is not None:
            yield self.certificate_requests
        yield from self.services.values()
        yield from self.slices.values()
        yield from self.namespaces.values()
        yield from self.pods.values()
        for specs in (self.policy or {}).values():
            yield from specs
        yield from self.accounts.values()


def plan_watches(
    linkerd_namespace: str,
    trust_domain: str,
    wanted: tuple[Backend, ...],
    services: Mapping[str, Mapping[str, Any] | ServiceRecord | None],
    policy_kinds: tuple[PolicyKind, ...] | None,
    cert_manager: bool | None,
    issuer: IssuerSourceConfig = SECRET,
    scope: str = "namespaces",
    *,
    whole: frozenset[str] = frozenset(),
    accounts: tuple[str, ...] = (),
) -> Plan:
    """The watches for `wanted`, given the backend Services read so far (`services`: key →
    the Service, None when it does not exist; a key missing while it is unknown), the served
    policy kinds (None: unknown) and whether cert-manager Certificates are served. The
    issuer is watched where `issuer.source` says: the Secret (`secret`), the ConfigMap that
    publishes its certificate (`configMap`), or only through the Certificates (`certificate`);
    the backends' kinds as `scope` (`mesh.watchScope`) says (module docstring).
    `whole`: backend namespaces whose pods are watched whole (a Server there selects pods
    the Services' selector leaves out); `accounts`: the namespaces whose ServiceAccounts
    are watched, each on its own or (cluster scope) through one cluster-wide watch (both
    from `reach`)."""
    ns = linkerd_namespace
    issuer_spec: WatchSpec | None = None
    issuer_name = ISSUER
    if issuer.source == "secret":
        issuer_spec = _named("secrets", ns, ISSUER, "secret", transform=secret_without_keys)
    elif issuer.source == "configMap":
        # a ConfigMap mistakenly publishing a key is stored without it, like the Secret
        issuer_name = issuer.config_map_name
        issuer_spec = _named(
            "configmaps", ns, issuer_name, "configmap", transform=secret_without_keys
        )
    certificates = requests = None
    if cert_manager:
        target = f"certificates.{CERT_MANAGER_GROUP} {ns}"
        certificates = WatchSpec.of("certificates", ns, group=CERT_MANAGER_GROUP, target=target)
    if cert_manager and issuer.source == "certificate":
        target = f"certificaterequests.{CERT_MANAGER_GROUP} {ns}"
        requests = WatchSpec.of("certificaterequests", ns, group=CERT_MANAGER_GROUP,
                                target=target, transform=request_record)  # fmt: skip
    namespaces = tuple(dict.fromkeys(b.namespace for b in wanted))
    keep = frozenset(namespaces)
    cluster = scope == "cluster"
    pods = _pod_watches(wanted, services, namespaces, scope, whole)
    policy = None
    if policy_kinds is not None and cluster:
        shared = tuple(policy_spec(None, k, keep) for k in policy_kinds)
        policy = dict.fromkeys(namespaces, shared)
    elif policy_kinds is not None:
        policy = {n: tuple(policy_spec(n, k) for k in policy_kinds) for n in namespaces}
    names = {n: [b.name for b in wanted if b.namespace == n] for n in namespaces}
    if cluster and namespaces:
        all_services = _services(None, frozenset(b.key for b in wanted))
        all_slices = _slices(None, [b.name for b in wanted], keep)
        every = WatchSpec.of("namespaces", target="namespaces (cluster-wide)",
                             transform=Keep(slim_object, keys=keep))  # fmt: skip
        service_specs = dict.fromkeys(namespaces, all_services)
        slice_specs = dict.fromkeys(namespaces, all_slices)
        namespace_specs = dict.fromkeys(namespaces, every)
    else:
        service_specs = {
            n: _services(n, frozenset(f"{n}/{name}" for name in names[n])) for n in namespaces
        }
        slice_specs = {n: _slices(n, names[n], keep) for n in namespaces}
        namespace_specs = {
            n: WatchSpec.of("namespaces", name=n, target=f"namespace {n}") for n in namespaces
        }
    return Plan(
        linkerd_namespace=ns,
        trust_domain=trust_domain,
        backends=wanted,
        trust_roots=_named("configmaps", ns, TRUST_ROOTS, "configmap"),
        config=_named("configmaps", ns, LINKERD_CONFIG, "configmap"),
        issuer=issuer_spec,
        control_pods=_pods(ns, CONTROL_PLANE, f"pods {ns} ({CONTROL_PLANE})"),
        certificates=certificates,
        certificates_known=cert_manager is not None,
        certificate_requests=requests,
        services=service_specs,
        slices=slice_specs,
        namespaces=namespace_specs,
        pods=pods,
        policy=policy,
        issuer_source=issuer.source,
        issuer_name=issuer_name,
        accounts=_accounts(accounts, cluster),
    )


def _accounts(namespaces: tuple[str, ...], cluster: bool) -> dict[str, WatchSpec]:
    """Namespace → the watch of its ServiceAccounts (cluster: one watch for all of them)."""
    if cluster and namespaces:
        return dict.fromkeys(namespaces, accounts_spec(None, frozenset(namespaces)))
    return {n: accounts_spec(n) for n in namespaces}
