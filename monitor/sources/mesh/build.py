"""`build_state`: the `MeshState` of one poll, built purely from the watched collections.

Owns the meaning of the control plane's objects for one poll (research/linkerd.md §1–2):
- `linkerd-config` `values`: the issuer scheme, `identity.externalCA`, and the copy of the
  anchors in `identityTrustAnchorsPEM` (`config_anchors`);
- the trust anchors: ConfigMap `linkerd-identity-trust-roots` `ca-bundle.crt` (2.11+, with
  or without a trailing newline; parsed, never compared as text); when that ConfigMap does
  not exist (Linkerd 2.10), `identityTrustAnchorsPEM` itself (`anchors_from` says which),
  unless `identity.externalCA` is true, where a missing ConfigMap is an error (trust-manager
  has not written it);
- the issuer, as `mesh.issuer.source` says: Secret `linkerd-identity-issuer` by scheme
  (`crt.pem`, or `tls.crt` + `ca.crt`; extra intermediates after the first certificate),
  stored without private keys; or a ConfigMap publishing `tls.crt` (+ `ca.crt`), plain PEM;
  or, with `certificate`, the Certificate below (its absence an error) and the issued
  certificate from the CertificateRequest of its current revision (`certrequest`; what
  keeps it unread is `MeshState.issuer_note`, not an error: the grant is optional);
- the cert-manager Certificate that renews it (`certmanager`), when served;
- the Linkerd version, from the control plane pods' `linkerd.io/proxy-version` (else
  their `linkerd.io/created-by`).
The backends' parts (services, proxies, pods, policy) are `workloads`'.

Unknown versus absent: a collection whose view has an error, or has not synced, makes the
parts it feeds None (and, for the optional parts, named in `MeshState.unknown`) with the
error in `Built.errors`, once per collection. An object that is absent from a healthy view
is a fact (a missing Service, no cert-manager Certificate) or an error of its own (a
missing issuer Secret: `http_404`). The cluster's own problems (policy objects Linkerd
rejects, bad pod annotations, unreadable Certificate fields) are `Built.problems`, for the
debug log. Each part is read behind a guard (`monitor.sources.errors.Contained`): a part
whose objects make a parser raise something unforeseen is unknown, with an
`internal_error` naming the exception's type, and the other parts are still read; the
exceptions come back in `Built.failures` for the source to log. Pure: no I/O, no clock,
no logging.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.certs import CertFacts
from monitor.config.schema import Config
from monitor.model import CertManagerCertificate, Issuer, MeshState, SourceError
from monitor.sources.errors import Contained, SourceFailure
from monitor.sources.kube.spec import CollectionView, WatchSpec
from monitor.sources.mesh.certmanager import certificate, issuer_certificate
from monitor.sources.mesh.certrequest import issued_from_view
from monitor.sources.mesh.parse import (
    certificates,
    issuer_from_secret,
    issuer_keys,
    issuer_scheme,
    parse_values,
    proxy_versions,
)
from monitor.sources.mesh.specs import (
    CERT_MANAGER_GROUP,
    ISSUER,
    LINKERD_CONFIG,
    TRUST_ROOTS,
    TRUST_ROOTS_KEY,
    Plan,
    backends,
    plan_watches,
)
from monitor.sources.mesh.workloads import Memo, Workloads, workloads

OPTIONAL = ("config_anchors", "external_ca", "proxies", "policy")
PUBLISHED_KEYS = ("tls.crt", "ca.crt")  # a ConfigMap publishing the issuer: PEM, no key


@dataclass(frozen=True, slots=True)
class Built:
    state: MeshState
    errors: tuple[SourceError, ...]
    problems: tuple[str, ...]  # the cluster's problems, for the debug log
    failures: tuple[Exception, ...] = ()  # what parsers raised unforeseen (internal_error)


class ViewReader:
    """The healthy view of a spec, or None with its error recorded (once per spec)."""

    def __init__(self, views: Mapping[WatchSpec, CollectionView], errors: list[SourceError]):
        self._views, self._errors = views, errors
        self._seen: dict[WatchSpec, CollectionView | None] = {}

    def __call__(self, spec: WatchSpec) -> CollectionView | None:
        if spec in self._seen:
            return self._seen[spec]
        view = self._views.get(spec)
        result: CollectionView | None = None
        if view is not None and view.error is not None:
            self._errors.append(view.error)
        elif view is None or not view.synced:
            message = f"{spec.target}: not read yet (the watch did not sync within the poll)"
            self._errors.append(SourceError("timeout", message, spec.target))
        else:
            result = view
        self._seen[spec] = result
        return result


def _string_data(obj: Mapping[str, Any] | None, key: str) -> str | None:
    data = obj.get("data") if obj is not None else None
    value = data.get(key) if isinstance(data, dict) else None
    return value if isinstance(value, str) else None


class _Build:
    """One build: the reads, and the errors and problems they gave."""

    def __init__(self, plan: Plan, views: Mapping[WatchSpec, CollectionView]) -> None:
        self.plan, self.ns, self.views = plan, plan.linkerd_namespace, views
        self.certificate: Mapping[str, Any] | None = None  # the issuer's, as read
        self.errors: list[SourceError] = []
        self.problems: list[str] = []
        self.read = ViewReader(views, self.errors)
        self.contain = Contained(self.errors)

    def attempt(self, fn: Any, *args: Any) -> Any:
        try:
            return fn(*args)
        except SourceFailure as fail:
            self.errors.append(fail.error)
            return None

    def values(self) -> Mapping[str, Any] | None:
        view = self.read(self.plan.config)
        if view is None:
            return None
        target = f"configmap {self.ns}/{LINKERD_CONFIG}"
        obj = view.find(self.ns, LINKERD_CONFIG)
        if obj is None:
            self.errors.append(SourceError("http_404", f"{target}: not found", target))
            return None
        text = _string_data(obj, "values")
        if text is None:
            self.errors.append(SourceError("bad_json", f"{target}: no values key", target))
            return None
        values: Mapping[str, Any] | None = self.attempt(parse_values, text, target)
        return values

    def config_anchors(
        self, values: Mapping[str, Any], external_ca: bool
    ) -> tuple[CertFacts, ...] | None:
        target = f"configmap {self.ns}/{LINKERD_CONFIG}"
        text = values.get("identityTrustAnchorsPEM")
        if external_ca and (not isinstance(text, str) or not text.strip()):
            return ()  # trust-manager holds the anchors; the values may leave them out
        if not isinstance(text, str):
            message = f"{target}: values has no identityTrustAnchorsPEM"
            self.errors.append(SourceError("bad_pem", message, target))
            return None
        parsed: tuple[CertFacts, ...] | None = self.attempt(
            certificates, text, target, "identityTrustAnchorsPEM"
        )
        return parsed

    def anchors(
        self, values: Mapping[str, Any] | None, copy: tuple[CertFacts, ...] | None
    ) -> tuple[tuple[CertFacts, ...] | None, str, str | None]:
        """(anchors, where they were read, the trust-roots bundle text if it exists)."""
        roots = f"{self.ns}/{TRUST_ROOTS}"
        target = f"configmap {roots}"
        view = self.read(self.plan.trust_roots)
        if view is None:
            return None, roots, None
        obj = view.find(self.ns, TRUST_ROOTS)
        if obj is None:  # Linkerd 2.10: the values hold the only copy
            if values is None:
                return None, f"{self.ns}/{LINKERD_CONFIG}", None
            if _external_ca(values):
                message = (
                    f"{target}: not found, and identity.externalCA is true: trust-manager (or"
                    " whoever should) has not written it"
                )
                self.errors.append(SourceError("http_404", message, target))
                return None, roots, None
            return copy, f"{self.ns}/{LINKERD_CONFIG}", None
        text = _string_data(obj, TRUST_ROOTS_KEY)
        if text is None:
            message = f"{target}: no {TRUST_ROOTS_KEY} key"
            self.errors.append(SourceError("bad_pem", message, target))
            return None, roots, None
        return self.attempt(certificates, text, target, TRUST_ROOTS_KEY), roots, text

    def issuer(self, values: Mapping[str, Any] | None) -> Issuer | None:
        spec = self.plan.issuer
        if spec is None:  # mesh.issuer.source certificate: no certificate is read
            return None
        view = self.read(spec)  # read first: its error counts even without values
        if view is None:
            return None
        if self.plan.issuer_source == "configMap":
            return self.published_issuer(spec, view, values)
        if values is None:
            return None
        target = f"secret {self.ns}/{ISSUER}"
        obj = view.find(self.ns, ISSUER)
        if obj is None:
            self.errors.append(SourceError("http_404", f"{target}: not found", target))
            return None
        scheme = issuer_scheme(values)
        crt_key, ca_key = issuer_keys(scheme)
        raw = obj.get("data")
        data: dict[str, bytes] = {}
        for key in (crt_key, ca_key):
            value = raw.get(key) if isinstance(raw, dict) and key else None
            if key is None or not isinstance(value, str):
                continue
            try:
                data[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                message = f"{target}: {key} is not base64"
                self.errors.append(SourceError("bad_pem", message, target))
                return None
        return self.parsed_issuer(scheme, data, target)

    def published_issuer(
        self, spec: WatchSpec, view: CollectionView, values: Mapping[str, Any] | None
    ) -> Issuer | None:
        """The issuer certificate as a ConfigMap publishes it (`tls.crt`, optional `ca.crt`,
        plain PEM); the scheme, which only labels evidence, from the values when known."""
        target = spec.target
        obj = view.find(self.ns, self.plan.issuer_name)
        if obj is None:
            message = f"{target}: not found (mesh.issuer.source: configMap; who publishes it?)"
            self.errors.append(SourceError("http_404", message, target))
            return None
        data = {k: v.encode() for k in PUBLISHED_KEYS if (v := _string_data(obj, k)) is not None}
        scheme = issuer_scheme(values) if values is not None else ""
        return self.parsed_issuer(scheme, data, target, PUBLISHED_KEYS)

    def parsed_issuer(
        self, scheme: str, data: dict[str, bytes], target: str, keys: tuple[str, str] | None = None
    ) -> Issuer | None:
        found = self.attempt(issuer_from_secret, scheme, data, target, keys)
        if found is None:
            return None
        issuer, errors = found
        self.errors.extend(errors)
        return issuer if isinstance(issuer, Issuer) else None

    def cert_manager(self) -> tuple[CertManagerCertificate | None, bool]:
        """(the issuer's Certificate or None, whether that is unknown). With
        `mesh.issuer.source: certificate` it is the issuer's only source, so its absence is
        an error (the issuer is then unknown), not a fact."""
        required = self.plan.issuer_source == "certificate"
        target = f"certificates.{CERT_MANAGER_GROUP} {self.ns}"
        if not self.plan.certificates_known:
            return None, True  # discovery failed: its error is reported by the caller
        if self.plan.certificates is None:  # cert-manager is not installed
            if required:
                message = (
                    f"{target}: cert-manager Certificates are not served, and"
                    " mesh.issuer.source: certificate reads the issuer from one"
                )
                self.errors.append(SourceError("http_404", message, target))
            return None, required
        view = self.read(self.plan.certificates)
        if view is None:
            return None, True
        obj = issuer_certificate(view.items, ISSUER)
        if obj is None:
            if required:
                message = (
                    f"{target}: no Certificate has spec.secretName {ISSUER}, and"
                    " mesh.issuer.source: certificate reads the issuer from it"
                )
                self.errors.append(SourceError("http_404", message, target))
            return None, required
        managed, problems = certificate(obj)
        self.problems.extend(problems)
        self.certificate = obj
        return managed, False

    def issued(self, values: Mapping[str, Any] | None) -> tuple[Issuer | None, str]:
        """`mesh.issuer.source: certificate`: the issued certificate, or None and why."""
        spec, obj = self.plan.certificate_requests, self.certificate
        if spec is None or obj is None:  # no Certificate: its own error says why
            return None, ""
        scheme = issuer_scheme(values) if values is not None else ""
        return issued_from_view(self.views.get(spec), spec.target, obj, scheme)

    def version(self) -> str:
        view = self.read(self.plan.control_pods)
        if view is None:
            return ""
        found = proxy_versions(view.items)
        if found:
            return found
        created = set()
        for pod in view.items:
            meta = pod.get("metadata")
            annotations = meta.get("annotations") if isinstance(meta, dict) else None
            text = (
                annotations.get("linkerd.io/created-by") if isinstance(annotations, dict) else None
            )
            if isinstance(text, str) and text.split():
                created.add(text.split()[-1])  # "linkerd/helm stable-2.14.10"
        return ",".join(sorted(created))


def _external_ca(values: Mapping[str, Any]) -> bool:
    identity = values.get("identity")
    flag = identity.get("externalCA") if isinstance(identity, dict) else None
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def build_state(
    plan: Plan,
    views: Mapping[WatchSpec, CollectionView],
    discovery_error: SourceError | None = None,
    memo: Memo | None = None,
) -> Built:
    """The MeshState the views say, the errors that made parts of it unknown, and the
    cluster's problems (module docstring). `views` holds a view per spec of `plan` (a spec
    without one counts as not synced); `discovery_error` explains a `plan.policy` of None;
    `memo` keeps the backends' parts from one build to the next (`workloads.Memo`)."""
    build = _Build(plan, views)
    run, ns = build.contain.run, plan.linkerd_namespace
    config, roots = f"configmap {ns}/{LINKERD_CONFIG}", f"configmap {ns}/{TRUST_ROOTS}"
    values = run(config, None, build.values)
    external_ca = None if values is None else _external_ca(values)
    copy = None
    if values is not None:
        copy = run(config, None, build.config_anchors, values, bool(external_ca))
    unread: tuple[tuple[CertFacts, ...] | None, str, str | None] = (
        None,
        f"{ns}/{TRUST_ROOTS}",
        None,
    )
    anchors, anchors_from, roots_text = run(roots, unread, build.anchors, values, copy)
    issuer = run(f"secret {ns}/{ISSUER}", None, build.issuer, values)
    unknown_certificate: tuple[CertManagerCertificate | None, bool] = (None, True)
    managed, managed_unknown = run("certificates", unknown_certificate, build.cert_manager)
    note = ""
    if plan.issuer_source == "certificate":
        requests = f"certificaterequests {ns}"
        no_request: tuple[Issuer | None, str] = (None, f"{requests}: unreadable")
        issuer, note = run(requests, no_request, build.issued, values)
    version = run("control plane pods", "", build.version)
    if discovery_error is not None and (plan.policy is None or not plan.certificates_known):
        build.errors.append(discovery_error)
    nothing = Workloads(dict.fromkeys((b.key for b in plan.backends), None), None, {}, None)
    config_view = views.get(plan.config)
    values_token = None if config_view is None else ("config", config_view.generation)
    parts: Workloads = run(
        "backends", nothing, workloads, plan, build.read, values, roots_text, build.problems,
        build.contain, memo, values_token,
    )  # fmt: skip
    state = MeshState(
        anchors=anchors,
        issuer=issuer,
        services=parts.services,
        linkerd_version=version,
        anchors_from=anchors_from,
        issuer_from=plan.issuer_object,
        config_anchors=copy,
        external_ca=external_ca,
        proxies=parts.proxies,
        pods=parts.pods,
        policy=parts.policy,
        issuer_certificate=managed,
        issuer_source=plan.issuer_source,
        issuer_note=note,
        service_accounts=parts.service_accounts,
        server_pods=parts.server_pods,
    )
    unknown = {name for name in ("anchors", "issuer", *OPTIONAL) if getattr(state, name) is None}
    if managed_unknown:
        unknown.add("issuer_certificate")
    final = dataclasses.replace(state, unknown=frozenset(unknown))
    return Built(final, tuple(build.errors), tuple(build.problems), tuple(build.contain.failures))


def unknown_state(plan: Plan) -> MeshState:
    """The state of a poll that read nothing: every part unknown."""
    return MeshState(
        services=dict.fromkeys((b.key for b in plan.backends), None),
        anchors_from=f"{plan.linkerd_namespace}/{TRUST_ROOTS}",
        issuer_from=plan.issuer_object,
        unknown=frozenset(("anchors", "issuer", *OPTIONAL, "issuer_certificate")),
        issuer_source=plan.issuer_source,
    )


def unread_state(cfg: Config) -> MeshState:
    """The state of a poll of `cfg`'s mesh that read nothing (one that failed or did not end)."""
    mesh = cfg.mesh
    plan = plan_watches(
        mesh.linkerd_namespace, mesh.trust_domain, backends(cfg), {}, None, None, mesh.issuer
    )
    return unknown_state(plan)
