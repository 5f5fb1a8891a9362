"""Linkerd policy objects, pods, namespaces and `linkerd-config` values → `policy.authorize`.

Pure: raw Kubernetes JSON (dicts as the API returns them) in, dataclasses out. Every
served version is read alike: Server v1alpha1–v1beta3, ServerAuthorization v1alpha1/v1beta1,
AuthorizationPolicy / MeshTLSAuthentication / NetworkAuthentication v1alpha1
(research/linkerd.md §5). Identity references become identity strings here, with the
configured control-plane namespace and trust domain (`cluster_info.rs`).

Nothing raises on bad input: an object Linkerd would reject or ignore is left out and
named in the returned problems, `(ObjectRef, message)`; a part Linkerd ignores (an invalid
pod or namespace annotation, a bad port entry) is dropped with a problem, the rest kept.
A Server's unknown `accessPolicy` is kept as written: Linkerd keeps such a Server and
denies (`monitor.policy.authorize` notes it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from monitor.policy.authorize import service_account_identity
from monitor.policy.model import (
    AuthorizationPolicy,
    LabelSelector,
    MeshPolicy,
    MeshTLSAuthentication,
    NetworkAuthentication,
    Networks,
    ObjectRef,
    Server,
    ServerAuthorization,
)
from monitor.policy.pods import (
    Problem,
    cidr_ok,
    cluster_defaults,
    namespace_defaults,
    object_ref,
    port_number,
)

PolicyObject = (
    Server
    | ServerAuthorization
    | AuthorizationPolicy
    | MeshTLSAuthentication
    | NetworkAuthentication
)
GROUP = "policy.linkerd.io"
GATEWAY = "gateway.networking.k8s.io"
# (group, kind) → canonical kind, as `targets_kind` compares (case-insensitive, "" = core)
_TARGETS = {
    (GROUP, "server"): "Server",
    ("", "namespace"): "Namespace",
    (GROUP, "httproute"): "HTTPRoute",
    (GATEWAY, "httproute"): "HTTPRoute",
    (GATEWAY, "grpcroute"): "GRPCRoute",
}
_IDENTITY_REFS = {("", "serviceaccount"): "ServiceAccount", ("", "namespace"): "Namespace"}
_AUTHNS = {
    (GROUP, "meshtlsauthentication"): "MeshTLSAuthentication",
    (GROUP, "networkauthentication"): "NetworkAuthentication",
    ("", "serviceaccount"): "ServiceAccount",
}


_Cluster = tuple[str, str]  # (linkerd namespace, trust domain)
_Parser = Callable[[str, str, Mapping[str, Any], Mapping[str, Any], _Cluster], PolicyObject | None]


class _Bad(Exception):
    """An object Linkerd rejects or ignores; the message says why."""


def mesh_policy(
    objects: Iterable[Mapping[str, Any]],
    *,
    values: Mapping[str, Any] | None = None,
    namespaces: Iterable[Mapping[str, Any]] = (),
    linkerd_namespace: str = "linkerd",
    trust_domain: str = "cluster.local",
) -> tuple[MeshPolicy, tuple[Problem, ...]]:
    """Everything policy evaluation needs: `objects` are policy.linkerd.io objects of any
    kind and version (other kinds are skipped), `values` the `linkerd-config` values,
    `namespaces` the Namespace objects (for their default-inbound-policy annotation)."""
    default, networks, problems_list = cluster_defaults(values or {}, linkerd_namespace)
    problems = list(problems_list)
    ns_defaults, ns_problems = namespace_defaults(namespaces)
    problems += ns_problems
    parsed: list[PolicyObject] = []
    present: set[tuple[str, str, str, str]] = set()
    for obj in objects:
        target = targetable(obj)
        if target is not None:
            present.add(target)
        item, problem = policy_object(
            obj, linkerd_namespace=linkerd_namespace, trust_domain=trust_domain
        )
        problems += [problem] if problem else []
        parsed += [item] if item is not None else []
    policy = MeshPolicy(
        cluster_default=default,
        cluster_networks=networks,
        namespace_defaults=ns_defaults,
        servers=tuple(o for o in parsed if isinstance(o, Server)),
        authorization_policies=tuple(o for o in parsed if isinstance(o, AuthorizationPolicy)),
        mesh_tls_authentications=tuple(o for o in parsed if isinstance(o, MeshTLSAuthentication)),
        network_authentications=tuple(o for o in parsed if isinstance(o, NetworkAuthentication)),
        server_authorizations=tuple(o for o in parsed if isinstance(o, ServerAuthorization)),
        linkerd_namespace=linkerd_namespace,
        trust_domain=trust_domain,
        present=frozenset(present),
    )
    return policy, tuple(problems)


def targetable(obj: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    """(group, canonical kind, namespace, name) of an object an AuthorizationPolicy may
    target (a Server, or an HTTPRoute or GRPCRoute of either group); None for others."""
    ref = object_ref(obj)
    kind = _TARGETS.get((ref.group, ref.kind.lower()))
    if kind is None or kind == "Namespace" or ref.namespace is None or ref.name == "?":
        return None
    return ref.group, kind, ref.namespace, ref.name


def policy_object(
    obj: Mapping[str, Any], *, linkerd_namespace: str, trust_domain: str
) -> tuple[PolicyObject | None, Problem | None]:
    """One policy object, or None with the problem (None, None: a kind not modelled, or a
    Server that selects ExternalWorkloads rather than pods)."""
    ref = object_ref(obj)
    parsers: dict[str, _Parser] = {
        "server": _server,
        "serverauthorization": _server_authorization,
        "authorizationpolicy": _authorization_policy,
        "meshtlsauthentication": _mesh_tls,
        "networkauthentication": _network_authentication,
    }
    parse = parsers.get(ref.kind.lower())
    if parse is None:
        return None, None
    if ref.group not in (GROUP, ""):
        return None, (ref, f"apiVersion group {ref.group} is not {GROUP}")
    try:
        meta = _map(obj, "metadata")
        namespace, name = meta.get("namespace"), meta.get("name")
        if not (isinstance(namespace, str) and namespace and isinstance(name, str) and name):
            raise _Bad("metadata.namespace and metadata.name are required")
        spec = _map(obj, "spec")
        return parse(namespace, name, meta, spec, (linkerd_namespace, trust_domain)), None
    except _Bad as bad:
        return None, (ref, str(bad))


# --- one object per kind (namespace, name, metadata, spec, (linkerd ns, trust domain)) ------


def _server(
    ns: str, name: str, meta: Mapping[str, Any], spec: Mapping[str, Any], _: _Cluster
) -> Server | None:
    selector = spec.get("podSelector")
    if selector is None:
        if spec.get("externalWorkloadSelector") is not None:
            return None  # selects ExternalWorkloads (v1beta2+), never pods
        raise _Bad("spec.podSelector is missing")
    raw_port = spec.get("port")
    port = raw_port if isinstance(raw_port, str) and raw_port else port_number(raw_port)
    if not port:
        raise _Bad(f"spec.port {raw_port!r} is neither a port number nor a port name")
    access = spec.get("accessPolicy")
    labels = meta.get("labels")
    return Server(
        namespace=ns,
        name=name,
        pod_selector=_selector(selector, "spec.podSelector"),
        port=port,
        proxy_protocol=str(spec.get("proxyProtocol") or "unknown"),
        access_policy=None if access is None else str(access),
        labels=dict(labels) if isinstance(labels, Mapping) else {},
    )


def _server_authorization(
    ns: str, name: str, _meta: Any, spec: Mapping[str, Any], cluster: tuple[str, str]
) -> ServerAuthorization:
    server, client = _map(spec, "server"), _map(spec, "client")
    server_name, raw_selector = server.get("name"), server.get("selector")
    if (server_name is None) == (raw_selector is None):
        raise _Bad("spec.server needs exactly one of name and selector")
    selector = _selector(raw_selector, "spec.server.selector") if raw_selector is not None else None
    mtls = _map(client, "meshTLS")
    identities: list[str] = []
    if not client.get("unauthenticated") and not mtls.get("unauthenticatedTLS"):
        identities = _strings(mtls.get("identities"), "spec.client.meshTLS.identities")
        for sa in _dicts(mtls.get("serviceAccounts")):
            sa_name, sa_ns = sa.get("name"), sa.get("namespace") or ns
            if not isinstance(sa_name, str) or not sa_name:
                raise _Bad("a meshTLS.serviceAccounts entry has no name")
            identities.append(service_account_identity(sa_name, sa_ns, *cluster))
        if not identities:
            raise _Bad("spec.client authorizes no clients")
    return ServerAuthorization(
        namespace=ns,
        name=name,
        server_name=server_name if isinstance(server_name, str) else None,
        server_selector=selector,
        networks=_networks(client.get("networks"), "spec.client.networks"),
        unauthenticated=client.get("unauthenticated") is True,
        unauthenticated_tls=mtls.get("unauthenticatedTLS") is True,
        identities=tuple(identities),
    )


def _authorization_policy(
    ns: str, name: str, _meta: Any, spec: Mapping[str, Any], _: Any
) -> AuthorizationPolicy:
    target = _ref(_map(spec, "targetRef"), _TARGETS, "spec.targetRef")
    required = spec.get("requiredAuthenticationRefs")
    if not isinstance(required, list):
        raise _Bad("spec.requiredAuthenticationRefs is missing")
    refs = tuple(_ref(r, _AUTHNS, "a requiredAuthenticationRefs entry") for r in required)
    return AuthorizationPolicy(ns, name, target, refs)


def _mesh_tls(
    ns: str, name: str, _meta: Any, spec: Mapping[str, Any], cluster: tuple[str, str]
) -> MeshTLSAuthentication:
    identities = _strings(spec.get("identities"), "spec.identities")
    origins = [f"identities[{i}]" for i in range(len(identities))]
    for i, raw in enumerate(_dicts(spec.get("identityRefs"))):
        ref = _ref(raw, _IDENTITY_REFS, "an identityRefs entry")
        if ref.kind == "Namespace":
            identities.append(f"*.{ref.name}.serviceaccount.identity.{cluster[0]}.{cluster[1]}")
            origins.append(f"identityRefs[{i}] Namespace {ref.name}")
        else:
            identities.append(service_account_identity(ref.name, ref.namespace or ns, *cluster))
            origins.append(f"identityRefs[{i}] ServiceAccount {ref.namespace or ns}/{ref.name}")
    if not identities:
        raise _Bad("no identities configured")
    return MeshTLSAuthentication(ns, name, tuple(identities), tuple(origins))


def _network_authentication(
    ns: str, name: str, _meta: Any, spec: Mapping[str, Any], _: Any
) -> NetworkAuthentication:
    networks = _networks(spec.get("networks"), "spec.networks")
    if not networks:
        raise _Bad("spec.networks is empty")
    return NetworkAuthentication(ns, name, networks)


# --- fields --------------------------------------------------------------------------------


def _selector(raw: Any, where: str) -> LabelSelector:
    if not isinstance(raw, Mapping):
        raise _Bad(f"{where} is not an object")
    labels = raw.get("matchLabels") or {}
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise _Bad(f"{where}.matchLabels is not a map of strings")
    expressions: list[tuple[str, str, tuple[str, ...]]] = []
    for expr in _dicts(raw.get("matchExpressions"), f"{where}.matchExpressions"):
        key, op = expr.get("key"), expr.get("operator")
        values = tuple(_strings(expr.get("values"), f"{where} values"))
        if not isinstance(key, str) or op not in ("In", "NotIn", "Exists", "DoesNotExist"):
            raise _Bad(f"{where} has an expression with a bad key or operator {op!r}")
        if (op in ("In", "NotIn")) != bool(values):
            raise _Bad(f"{where}: operator {op} with {'no' if not values else ''} values")
        expressions.append((key, op, values))
    return LabelSelector(tuple(sorted(labels.items())), tuple(expressions))


def _ref(raw: Any, allowed: Mapping[tuple[str, str], str], where: str) -> ObjectRef:
    """A reference whose (group, kind) is one of `allowed`, with the kind canonical."""
    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str) or not raw["name"]:
        raise _Bad(f"{where} has no name")
    group = str(raw.get("group") or "").lower()
    group = "" if group == "core" else group
    kind = allowed.get((group, str(raw.get("kind") or "").lower()))
    if kind is None:
        raise _Bad(f"{where} has an unsupported kind {raw.get('kind')!r} (group {group!r})")
    namespace = raw.get("namespace")
    return ObjectRef(group, kind, raw["name"], namespace if isinstance(namespace, str) else None)


def _networks(raw: Any, where: str) -> Networks:
    networks: list[tuple[str, tuple[str, ...]]] = []
    for net in _dicts(raw, where):
        cidr, excepts = net.get("cidr"), _strings(net.get("except"), f"{where} except")
        for text in (cidr, *excepts):
            if not isinstance(text, str) or not cidr_ok(text):
                raise _Bad(f"{where}: {text!r} is not a CIDR or IP address")
        networks.append((str(cidr), tuple(excepts)))
    return tuple(networks)


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _Bad(f"{key} is not an object")
    return value


def _dicts(raw: Any, where: str = "") -> list[Mapping[str, Any]]:
    """A list of objects; None is empty. With `where`, anything else is a problem."""
    if raw is None:
        return []
    if isinstance(raw, list) and all(isinstance(x, Mapping) for x in raw):
        return raw
    if where:
        raise _Bad(f"{where} is not a list of objects")
    return [x for x in raw if isinstance(x, Mapping)] if isinstance(raw, list) else []


def _strings(raw: Any, where: str) -> list[str]:
    if raw is None:
        return []
    if not isinstance(raw, list) or not all(isinstance(x, str) and x for x in raw):
        raise _Bad(f"{where} is not a list of strings")
    return list(raw)
