"""What the mesh source watches: the `WatchSpec`s the configured boundaries need, as a `Plan`.

Owns the names of the Linkerd objects (research/linkerd.md §1–2), the backends of the
configuration, the pod selector one backend namespace is narrowed by, the slimming
transform every watched pod goes through, and `plan_watches`, which turns the
configuration, the Services read so far and the served policy kinds into the exact set
of watches (DESIGN section 4, "Access"). Pure: no I/O.

Every watch is as narrow as the boundaries allow; nothing is watched cluster-wide:
- the control plane's named objects by `fieldSelector=metadata.name=…` (the trust-roots and
  `linkerd-config` ConfigMaps; the issuer as `mesh.issuer.source` says: the Secret, stored
  without private keys, or the ConfigMap publishing its certificate, or nothing but the
  Certificates), its pods by the `linkerd.io/control-plane-component` label (the version),
  the cert-manager `Certificate`s of its namespace (only when the cluster serves them);
- per backend Service: the Service by name, its EndpointSlices by
  `kubernetes.io/service-name`;
- per backend namespace: the Namespace by name (its default-inbound-policy annotation),
  the live pods narrowed by what the namespace's backend Services select (known only once
  those Services have been read, so the plan is recomputed every poll and a changed
  selector swaps the watch), and each served policy kind in its newest version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from monitor.config.schema import Config, IssuerSourceConfig
from monitor.sources.kube.spec import WatchSpec, secret_without_keys

Json = dict[str, Any]

TRUST_ROOTS = "linkerd-identity-trust-roots"
TRUST_ROOTS_KEY = "ca-bundle.crt"
LINKERD_CONFIG = "linkerd-config"
ISSUER = "linkerd-identity-issuer"
CONTROL_PLANE = "linkerd.io/control-plane-component"
PROXY = "linkerd-proxy"
INIT = "linkerd-init"
ANCHORS_ENV = "LINKERD2_PROXY_IDENTITY_TRUST_ANCHORS"
POLICY_GROUP = "policy.linkerd.io"
GATEWAY_GROUP = "gateway.networking.k8s.io"
CERT_MANAGER_GROUP = "cert-manager.io"
SECRET = IssuerSourceConfig()  # the default mesh.issuer: the Secret
# Pods that can back an endpoint: EndpointSlices leave out pods that have finished.
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"
_POD_META = ("name", "namespace", "labels", "annotations", "ownerReferences", "deletionTimestamp")
_POD_SPEC = ("serviceAccountName", "serviceAccount", "nodeName")
_POD_STATUS = ("podIP", "phase", "conditions")


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


# --- the pod transform ---------------------------------------------------------------------


def _container(raw: Any) -> Json | None:
    """Name and ports; for linkerd-proxy only its trust-anchor env, for linkerd-init its
    args (the inbound ports it skips). Everything else, other containers' env above all
    (it may hold secrets), is dropped."""
    if not isinstance(raw, dict):
        return None
    out: Json = {k: raw[k] for k in ("name", "ports") if k in raw}
    if raw.get("name") == PROXY:
        env = raw.get("env")
        env = env if isinstance(env, list) else []
        out["env"] = [e for e in env if isinstance(e, dict) and e.get("name") == ANCHORS_ENV]
    elif raw.get("name") == INIT and "args" in raw:
        out["args"] = raw["args"]
    return out


def slim_pod(obj: Json) -> Json:
    """A pod with only what the monitor uses (the `WatchSpec.transform` of every pod watch):
    metadata name/namespace/labels/annotations/ownerReferences/deletionTimestamp, spec
    serviceAccountName/nodeName and the containers as `_container` keeps them, status
    podIP/phase/conditions."""

    def pick(part: Any, keys: Sequence[str]) -> Json:
        return {k: part[k] for k in keys if k in part} if isinstance(part, dict) else {}

    spec_in = obj.get("spec")
    spec = pick(spec_in, _POD_SPEC)
    for key in ("containers", "initContainers"):
        raw = spec_in.get(key) if isinstance(spec_in, dict) else None
        if isinstance(raw, list):
            spec[key] = [c for c in map(_container, raw) if c is not None]
    out: Json = {k: obj[k] for k in ("apiVersion", "kind") if k in obj}
    out.update(metadata=pick(obj.get("metadata"), _POD_META), spec=spec)
    out["status"] = pick(obj.get("status"), _POD_STATUS)
    return out


# --- selectors ----------------------------------------------------------------------------------


def selector_of(service: Mapping[str, Any]) -> dict[str, str] | None:
    """A Service's `spec.selector`; None when it has none (EndpointSlices managed by hand)."""
    spec = service.get("spec")
    selector = spec.get("selector") if isinstance(spec, dict) else None
    if not isinstance(selector, dict) or not selector:
        return None
    return {str(k): str(v) for k, v in selector.items()}


def pods_selector(services: Sequence[Mapping[str, Any]]) -> str:
    """A label selector every pod of all `services` matches: each key their selectors share,
    as `k=v` or `k in (a,b)`; "" (the whole namespace) when a Service has no selector or
    they share no key."""
    selectors = [selector_of(s) for s in services]
    if not selectors or any(s is None for s in selectors):
        return ""
    keys = set.intersection(*(set(s) for s in selectors if s is not None))
    terms = []
    for key in sorted(keys):
        values = sorted({s[key] for s in selectors if s is not None})
        terms.append(f"{key}={values[0]}" if len(values) == 1 else f"{key} in ({','.join(values)})")
    return ",".join(terms)


def selects(selector: Mapping[str, str], labels: Any) -> bool:
    """A Service selector (equality only) matches the labels."""
    return isinstance(labels, dict) and all(labels.get(k) == v for k, v in selector.items())


# --- specs --------------------------------------------------------------------------------------


def _named(plural: str, namespace: str, name: str, what: str, **kw: Any) -> WatchSpec:
    return WatchSpec.of(plural, namespace, name=name, target=f"{what} {namespace}/{name}", **kw)


def _pods(namespace: str, selector: str, what: str) -> WatchSpec:
    spec = WatchSpec.of("pods", namespace, label_selector=selector, target=what, transform=slim_pod)
    return dataclasses.replace(spec, field_selector=LIVE_PODS)


def pods_spec(namespace: str, selector: str) -> WatchSpec:
    """The live pods of a backend namespace, narrowed by `selector`."""
    return _pods(namespace, selector, f"pods {namespace}" + (f" ({selector})" if selector else ""))


def name_only(obj: Json) -> Json:
    """An object reduced to that it exists (apiVersion, kind, name, namespace): the
    transform of the watches whose objects are only looked up by name (routes an
    AuthorizationPolicy may target, ServiceAccounts an identity names)."""
    meta = obj.get("metadata")
    keep = (
        {k: meta[k] for k in ("name", "namespace") if k in meta} if isinstance(meta, dict) else {}
    )
    return {**{k: obj[k] for k in ("apiVersion", "kind") if k in obj}, "metadata": keep}


def policy_spec(namespace: str, kind: PolicyKind) -> WatchSpec:
    target = f"{kind.plural}.{kind.group} {namespace}"
    routes = kind.plural in ("httproutes", "grpcroutes")
    return WatchSpec.of(
        kind.plural, namespace, group=kind.group, version=kind.version, target=target,
        transform=name_only if routes else None,
    )  # fmt: skip


def accounts_spec(namespace: str) -> WatchSpec:
    """The ServiceAccounts of a namespace a MeshTLSAuthentication names (names only)."""
    return WatchSpec.of(
        "serviceaccounts", namespace, target=f"serviceaccounts {namespace}", transform=name_only
    )


@dataclass(frozen=True)
class Plan:
    """The watches of one poll, by what they are for. `pods` holds the backend namespaces
    whose Services are known; `policy` is None while the served policy kinds are unknown,
    `certificates` None when cert-manager's Certificates are not served (or not known to be:
    `certificates_known`)."""

    linkerd_namespace: str
    trust_domain: str
    backends: tuple[Backend, ...]
    trust_roots: WatchSpec
    config: WatchSpec
    issuer: WatchSpec | None  # the Secret, or the ConfigMap publishing it; None: Certificate
    control_pods: WatchSpec
    certificates: WatchSpec | None
    certificates_known: bool
    services: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend key →
    slices: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend key →
    namespaces: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    pods: Mapping[str, WatchSpec] = field(default_factory=dict)  # backend namespace →
    policy: Mapping[str, tuple[WatchSpec, ...]] | None = None  # backend namespace →
    issuer_source: str = "secret"  # mesh.issuer.source
    # the namespaces whose ServiceAccounts the policy's identities name (`reach`) →
    accounts: Mapping[str, WatchSpec] = field(default_factory=dict)

    @property
    def issuer_object(self) -> str:
        """`namespace/name` of the object the issuer is read from."""
        if self.issuer is not None:
            return self.issuer.target.split(" ", 1)[1]
        return f"{self.linkerd_namespace}/{ISSUER}"  # the Certificate writing the Secret

    def specs(self) -> Iterator[WatchSpec]:
        """Every watch of the plan, each once."""
        yield from (self.trust_roots, self.config)
        if self.issuer is not None:
            yield self.issuer
        yield self.control_pods
        if self.certificates is not None:
            yield self.certificates
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
    services: Mapping[str, Mapping[str, Any] | None],
    policy_kinds: tuple[PolicyKind, ...] | None,
    cert_manager: bool | None,
    issuer: IssuerSourceConfig = SECRET,
    *,
    whole: frozenset[str] = frozenset(),
    accounts: tuple[str, ...] = (),
) -> Plan:
    """The watches for `wanted`, given the backend Services read so far (`services`: key →
    the Service, None when it does not exist; a key missing while it is unknown), the served
    policy kinds (None: unknown) and whether cert-manager Certificates are served. The
    issuer is watched where `issuer.source` says: the Secret (`secret`), the ConfigMap that
    publishes its certificate (`configMap`), or only through the Certificates (`certificate`).
    `whole`: backend namespaces whose pods are watched whole (a Server there selects pods
    the Services' selector leaves out); `accounts`: the namespaces whose ServiceAccounts
    are watched (both from `reach.policy_reach`)."""
    ns = linkerd_namespace
    issuer_spec: WatchSpec | None = None
    if issuer.source == "secret":
        issuer_spec = _named("secrets", ns, ISSUER, "secret", transform=secret_without_keys)
    elif issuer.source == "configMap":
        # a ConfigMap mistakenly publishing a key is stored without it, like the Secret
        name = issuer.config_map_name
        issuer_spec = _named("configmaps", ns, name, "configmap", transform=secret_without_keys)
    certificates = None
    if cert_manager:
        target = f"certificates.{CERT_MANAGER_GROUP} {ns}"
        certificates = WatchSpec.of("certificates", ns, group=CERT_MANAGER_GROUP, target=target)
    namespaces = tuple(dict.fromkeys(b.namespace for b in wanted))
    pods: dict[str, WatchSpec] = {}
    for namespace in namespaces:
        mine = [b for b in wanted if b.namespace == namespace]
        if any(b.key not in services for b in mine):
            continue  # a Service not read yet: its selector is unknown
        existing = [s for b in mine if (s := services[b.key]) is not None]
        if existing:
            pods[namespace] = pods_spec(namespace, pods_selector(existing))
    for namespace in namespaces:
        if namespace in whole:
            pods[namespace] = pods_spec(namespace, "")
    policy = None
    if policy_kinds is not None:
        policy = {n: tuple(policy_spec(n, k) for k in policy_kinds) for n in namespaces}
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
        services={b.key: _named("services", b.namespace, b.name, "service") for b in wanted},
        slices={
            b.key: WatchSpec.of(
                "endpointslices",
                b.namespace,
                group="discovery.k8s.io",
                label_selector=f"kubernetes.io/service-name={b.name}",
                target=f"endpointslices {b.namespace} (service {b.name})",
            )
            for b in wanted
        },
        namespaces={
            n: WatchSpec.of("namespaces", name=n, target=f"namespace {n}") for n in namespaces
        },
        pods=pods,
        policy=policy,
        issuer_source=issuer.source,
        accounts={n: accounts_spec(n) for n in accounts},
    )
