"""`doctor` for Kubernetes: the API client, the server, and a review of every grant needed.

In order, each a `Probe`: the client configuration (the kubeconfig and its context, or
the in-cluster service account; `build_api_client`, as the mesh source builds it); the
API server and its version (`GET /version`); discovery (`Discovery`, as the mesh
source runs it: which policy.linkerd.io kinds and whether cert-manager Certificates are
served); then the watches the configured boundaries need (`specs.plan_watches`, with
every backend Service assumed to exist, so the backend pods are asked for namespace-wide,
or cluster-wide with `mesh.watchScope: cluster`, and ServiceAccounts in the backend
namespaces and those of the boundaries' clientIdentity, or cluster-wide likewise)
and, for each, a `SelfSubjectAccessReview` (authorization.k8s.io/v1) for `list` and
`watch`, the only verbs the mesh source uses, narrowed to the object's name where the
watch is (RBAC `resourceNames`). A denied review makes its need of
`monitor.requirements` missing, with the grant to add; an optional need (`OPTIONAL`: the
CertificateRequests of `mesh.issuer.source: certificate`) denied is a note instead, naming
what stays `unknown` without it. With leader election, the Lease's
`get`, `update` and `create` are reviewed too (no check needs them; `run` does).
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from monitor.config.schema import Config
from monitor.daemon.leader import lease_namespace
from monitor.doctor.result import Probe, SourceReport
from monitor.policy.identities import name_of
from monitor.requirements import (
    CERTIFICATE_REQUESTS,
    CERTIFICATES,
    CONTROL_PODS,
    ISSUER_SECRET,
    LINKERD_CONFIG,
    NAMESPACES,
    PODS,
    POLICY,
    SERVICE_ACCOUNTS,
    SERVICES,
    SLICES,
    TRUST_ROOTS,
)
from monitor.sources.errors import SourceFailure
from monitor.sources.kube import transport as http
from monitor.sources.kube.client import build_api_client
from monitor.sources.kube.errors import FATAL_REASONS, read_error
from monitor.sources.kube.spec import WatchSpec
from monitor.sources.mesh.discovery import Discovered, Discovery
from monitor.sources.mesh.specs import Plan, backends, plan_watches

SOURCE = "kubernetes"
VERBS = ("list", "watch")
# need → what stays unknown without it (the checks run, as they did before it existed)
OPTIONAL = {
    CERTIFICATE_REQUESTS: "without it the issuer certificate is not read, so issuer_chain (and"
    " issuer_algorithm with an ECDSA P-256 key) stay unknown",
}


def needs_of(plan: Plan) -> list[tuple[str, WatchSpec]]:
    """Every watch of the plan with the need it serves, each once (with `mesh.watchScope:
    cluster` the backend namespaces share their watches)."""
    out = [(TRUST_ROOTS, plan.trust_roots), (LINKERD_CONFIG, plan.config)]
    if plan.issuer is not None:  # None: read from the cert-manager Certificate (below)
        out.append((ISSUER_SECRET, plan.issuer))
    out.append((CONTROL_PODS, plan.control_pods))
    if plan.certificates is not None:
        out.append((CERTIFICATES, plan.certificates))
    if plan.certificate_requests is not None:
        out.append((CERTIFICATE_REQUESTS, plan.certificate_requests))
    out += [(SERVICES, s) for s in plan.services.values()]
    out += [(SLICES, s) for s in plan.slices.values()]
    out += [(NAMESPACES, s) for s in plan.namespaces.values()]
    out += [(PODS, s) for s in plan.pods.values()]
    out += [(POLICY, s) for specs in (plan.policy or {}).values() for s in specs]
    out += [(SERVICE_ACCOUNTS, s) for s in plan.accounts.values()]
    return list(dict.fromkeys(out))


def identity_namespaces(cfg: Config) -> tuple[str, ...]:
    """Where the ServiceAccounts are reviewed: the namespaces the policy is read from and
    those of the boundaries' clientIdentity. (Which namespaces the MeshTLSAuthentications
    name is known only once they are read; the source reads them there.)"""
    found = {b.backend.service.namespace for b in cfg.boundaries}
    for b in cfg.boundaries:
        mesh = cfg.mesh
        named = name_of(b.client_identity or "", mesh.linkerd_namespace, mesh.trust_domain)
        if named.namespace:  # as the source reads the identities it is given
            found.add(named.namespace)
    return tuple(sorted(found))


def allowed(api: client.ApiClient, attributes: client.V1ResourceAttributes, timeout: float) -> bool:
    """The API server's answer to a SelfSubjectAccessReview; raises what the client does."""
    body = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )
    answer: Any = client.AuthorizationV1Api(api).create_self_subject_access_review(
        body, _request_timeout=timeout
    )
    return bool(answer.status and answer.status.allowed)


def review(api: client.ApiClient, spec: WatchSpec, verb: str, timeout: float) -> bool:
    """Whether the account may `verb` the collection of `spec` (narrowed to its name)."""
    group, version, namespace, plural = http.split_path(spec.api_path)
    attributes = client.V1ResourceAttributes(
        verb=verb,
        group=group,
        version=version,
        resource=plural,
        namespace=namespace,
        name=http.selected_name(spec.field_selector),
    )
    return allowed(api, attributes, timeout)


def lease_probe(api: client.ApiClient, cfg: Config, timeout: float) -> Probe:
    """With leader election: `get`, `update` (the Lease by name) and `create` on leases."""
    settings = cfg.leader_election
    namespace = lease_namespace(settings.namespace)
    name = f"get, update, create lease {namespace or '?'}/{settings.lease_name}"
    if namespace is None:
        why = "leaderElection.namespace is not set and this is not a pod: set it to review"
        return Probe(name, "note", why)
    denied = []
    for verb, lease in (("get", settings.lease_name), ("update", settings.lease_name),
                        ("create", None)):  # fmt: skip
        attributes = client.V1ResourceAttributes(
            verb=verb, group="coordination.k8s.io", version="v1", resource="leases",
            namespace=namespace, name=lease,
        )  # fmt: skip
        if not allowed(api, attributes, timeout):
            denied.append(verb)
    if denied:
        why = f"{' and '.join(denied)} denied: leader election cannot work (run needs them)"
        return Probe(name, "refused", why)
    return Probe(name, "ok", "allowed")


def _where(cfg: Config) -> str:
    mesh = cfg.mesh
    if mesh.kubeconfig is None:
        return "in-cluster service account"
    return f"kubeconfig {mesh.kubeconfig}" + (f", context {mesh.context}" if mesh.context else "")


def _discovered(found: Discovered) -> str:
    kinds = ", ".join(f"{k.plural} {k.version}" for k in found.policy) or "none"
    return (
        f"policy.linkerd.io: {kinds}; cert-manager Certificates:"
        f" {'served' if found.cert_manager else 'not served'}"
    )


def probe_kubernetes(cfg: Config, api: client.ApiClient | None = None) -> SourceReport:
    """Everything `doctor` asks the Kubernetes API (module docstring)."""
    timeout = cfg.poll.timeout.total_seconds()
    where = _where(cfg)
    probes: list[Probe] = []
    missing: dict[str, str] = {}
    problems: list[str] = []

    def report(reachable: bool) -> SourceReport:
        return SourceReport(SOURCE, "kubernetes", where, tuple(probes), reachable, missing,
                            tuple(problems))  # fmt: skip

    owned = api is None
    try:
        api = api or build_api_client(cfg.mesh, 2)
    except SourceFailure as err:
        probes.append(Probe("configuration", "failed", err.error.message))
        return report(False)
    try:
        host = str(api.configuration.host)
        probes.append(Probe("configuration", "ok", f"{where}: API server {host}"))
        try:
            info = client.VersionApi(api).get_code(_request_timeout=timeout)
        except Exception as err:  # what the client raises: ApiException, urllib3 errors
            probes.append(Probe("API server", "failed", read_error(err, "GET /version").message))
            return report(False)
        probes.append(Probe("API server", "ok", f"reachable, Kubernetes {info.git_version}"))
        try:
            found: Discovered | None = Discovery(api, timeout).run()
        except SourceFailure as fail:
            if fail.reason in FATAL_REASONS:
                probes.append(Probe("discovery", "failed", fail.error.message))
                return report(False)
            probes.append(Probe("discovery", "refused", fail.error.message))
            for need in (POLICY, CERTIFICATES):
                missing[need] = f"discovery failed ({fail.reason})"
            found = None
        if found is not None:
            probes.append(Probe("discovery", "ok", _discovered(found)))
        mesh = cfg.mesh
        wanted = backends(cfg)
        plan = plan_watches(
            mesh.linkerd_namespace,
            mesh.trust_domain,
            wanted,
            # a selector for each (any will do for a review): cluster scope plans one pod watch
            {b.key: {"spec": {"selector": {"app": b.name}}} for b in wanted}
            if mesh.watch_scope == "cluster"
            else {b.key: {} for b in wanted},
            found.policy if found else None,
            found.cert_manager if found else None,
            mesh.issuer,
            mesh.watch_scope,
            accounts=identity_namespaces(cfg),
        )
        for need, spec in needs_of(plan):
            name = f"{', '.join(VERBS)} {spec.target}"
            try:
                denied = [v for v in VERBS if not review(api, spec, v, timeout)]
            except Exception as err:  # the review itself failed
                error = read_error(err, "SelfSubjectAccessReview")
                probes.append(Probe(name, "failed", f"cannot review: {error.message}"))
                missing.setdefault(need, f"not reviewed ({error.reason})")
                continue
            if denied and need in OPTIONAL:
                grant = f"grant {spec.rbac_hint}"
                why = f"{' and '.join(denied)} denied (optional: {OPTIONAL[need]}; {grant})"
                probes.append(Probe(name, "note", why))
            elif denied:
                why = f"{' and '.join(denied)} denied; the monitor needs {spec.rbac_hint}"
                probes.append(Probe(name, "refused", why))
                missing.setdefault(need, f"{spec.target}: {' and '.join(denied)} denied")
            else:
                probes.append(Probe(name, "ok", "allowed"))
        if cfg.leader_election.enabled:
            try:
                lease = lease_probe(api, cfg, timeout)
            except Exception as err:  # the review itself failed
                error = read_error(err, "SelfSubjectAccessReview")
                lease = Probe("leases", "failed", f"cannot review: {error.message}")
            probes.append(lease)
            if lease.status in ("refused", "failed"):
                problems.append(f"{lease.name}: {lease.detail}")
    finally:
        if owned:
            api.close()  # type: ignore[no-untyped-call]
    return report(True)
