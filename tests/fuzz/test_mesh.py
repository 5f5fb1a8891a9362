"""Fuzzing the Kubernetes side: `linkerd-config` values, the issuer Secret, pods,
EndpointSlices and Services (`monitor.sources.mesh.parse`), the objects' slimming as the
watches store them (`specs`, `kube.spec`), and a whole `build_state` over views whose
objects were damaged.

Contracts: the parsers return, or raise `SourceFailure` (never another exception); the
watch transforms and `build_state` never raise (a part they cannot read is unknown, with
an error or a problem as data).
"""

from __future__ import annotations

import contextlib
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from monitor.simulate.kube.select import (
    fields_match,
    labels_match,
    parse_field_selector,
    parse_label_selector,
)
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.spec import CollectionView, WatchSpec, object_key, secret_without_keys
from monitor.sources.kube.transport import split_path
from monitor.sources.mesh import parse
from monitor.sources.mesh.build import build_state
from monitor.sources.mesh.specs import (
    Backend,
    Plan,
    PolicyKind,
    plan_watches,
    pods_selector,
    selector_of,
    slim_pod,
)
from monitor.sources.mesh.workloads import proxy_bundle
from tests.fuzz import FUZZ
from tests.fuzz.samples import JSON, ODD_TEXT, certificate_pems, kube_objects, mutated


def _one(kind: str, name: str | None = None) -> dict[str, Any]:
    return next(o for o in kube_objects(kind) if name is None or o["metadata"]["name"] == name)


CONFIG = _one("ConfigMap", "linkerd-config")
VALUES_TEXT = CONFIG["data"]["values"]
VALUES = yaml.safe_load(VALUES_TEXT)
PODS = [o for o in kube_objects("Pod") if o["metadata"]["namespace"] == "ingress"]
SLICES = kube_objects("EndpointSlice")
SERVICES = kube_objects("Service")
SECRET = _one("Secret", "linkerd-identity-issuer")
PEMS = certificate_pems()


def _values_text() -> st.SearchStrategy[str]:
    dumped = mutated(VALUES, most=5).map(lambda v: yaml.safe_dump(v, allow_unicode=True))
    scalars = st.sampled_from(ODD_TEXT).map(lambda t: f"identityTrustAnchorsPEM: {t}\n")
    edited = st.tuples(st.integers(0, len(VALUES_TEXT)), st.text(max_size=20)).map(
        lambda t: VALUES_TEXT[: t[0]] + t[1] + VALUES_TEXT[t[0] :]
    )
    return st.text(max_size=200) | dumped | scalars | edited


@FUZZ
@given(text=_values_text())
@example(text="identity:\n  issuer:\n    crtExpiry: 2025-02-30T00:00:00Z\n")
@example(text="linkerdVersion: " + "9" * 5000 + "\n")
@example(text="a: !!float x\n")
def test_values_reject_with_source_failure(text: str) -> None:
    try:
        values = parse.parse_values(text, "configmap linkerd/linkerd-config")
    except SourceFailure as fail:
        reason = fail.reason
        assert reason == "bad_json"
        return
    scheme = parse.issuer_scheme(values)
    parse.issuer_keys(scheme)


@FUZZ
@given(
    data=mutated(SECRET["data"], most=4).filter(lambda d: isinstance(d, dict)),
    scheme=st.sampled_from(["linkerd.io/tls", "kubernetes.io/tls", "", "x"]),
    pem=st.sampled_from(PEMS) | st.text(max_size=100),
)
def test_issuer_secret_rejects_with_source_failure(data: Any, scheme: str, pem: str) -> None:
    def raw(value: Any) -> bytes:
        return (value if isinstance(value, str) else pem).encode("utf-8", "surrogatepass")

    decoded = {k: raw(v) for k, v in data.items()}
    decoded.setdefault("crt.pem", pem.encode())
    with contextlib.suppress(SourceFailure):
        parse.issuer_from_secret(scheme, decoded, "secret linkerd/linkerd-identity-issuer")


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"metadata": {"name": "x"}, "spec": value}


@FUZZ
@given(
    slices=st.lists(mutated(SLICES[0], most=5).map(_dict), max_size=3),
    pods=st.lists(mutated(PODS[0], most=5).map(_dict), max_size=3),
    service=mutated(SERVICES[0], most=5).map(_dict),
    port=st.sampled_from([443, "https", "", 0]),
)
def test_endpoints_reject_with_source_failure(
    slices: list[dict[str, Any]], pods: list[dict[str, Any]], service: dict[str, Any], port: Any
) -> None:
    with contextlib.suppress(SourceFailure):
        name = parse.port_name(service, port)
        found = parse.slice_endpoints(slices, "ingress", name or "")
        facts = {("ingress", str(i)): parse.pod_facts(p) for i, p in enumerate(pods)}
        parse.endpoints(found, facts)
        parse.proxy_versions(pods)


@FUZZ
@given(
    pod=mutated(PODS[0], most=6).map(_dict),
    secret=mutated(SECRET, most=4).map(_dict),
    services=st.lists(mutated(SERVICES[0], most=4).map(_dict), min_size=1, max_size=3),
    roots=st.none() | st.sampled_from(PEMS) | st.text(max_size=50),
)
def test_watch_transforms_never_raise(
    pod: dict[str, Any], secret: dict[str, Any], services: list[dict[str, Any]], roots: str | None
) -> None:
    slim = slim_pod(pod)
    object_key(slim)
    proxy_bundle(slim, roots, "linkerd/linkerd-identity-trust-roots")
    kept = secret_without_keys(secret)
    data = kept.get("data")
    assert not isinstance(data, dict) or not any(k.endswith(".key") or k == "key.pem" for k in data)
    selector_of(services[0])
    pods_selector(services)


# --- build_state over damaged views --------------------------------------------------------------

_KINDS = {"configmaps": "ConfigMap", "secrets": "Secret", "pods": "Pod", "services": "Service",
          "endpointslices": "EndpointSlice", "namespaces": "Namespace",
          "certificates": "Certificate", "servers": "Server",
          "authorizationpolicies": "AuthorizationPolicy",
          "meshtlsauthentications": "MeshTLSAuthentication"}  # fmt: skip
POLICY = (
    PolicyKind("servers", "Server", "v1beta1"),
    PolicyKind("authorizationpolicies", "AuthorizationPolicy", "v1alpha1"),
    PolicyKind("meshtlsauthentications", "MeshTLSAuthentication", "v1alpha1"),
)
WANTED = (Backend("ingress", "nginx-ingress", 443), Backend("shop", "shop-frontend", "http"))


def _plan() -> Plan:
    services = {
        b.key: next(
            (
                s
                for s in SERVICES
                if (s["metadata"]["namespace"], s["metadata"]["name"]) == (b.namespace, b.name)
            ),
            None,
        )
        for b in WANTED
    }
    return plan_watches("linkerd", "cluster.local", WANTED, services, POLICY, True)


def _collect(spec: WatchSpec) -> list[dict[str, Any]]:
    """What a watch of `spec` holds for the demo world (before its transform)."""
    _, _, namespace, plural = split_path(spec.api_path)
    labels = parse_label_selector(spec.label_selector)
    fields = parse_field_selector(
        spec.field_selector, ("metadata.name", "metadata.namespace", "status.phase")
    )
    return [
        o
        for o in kube_objects(_KINDS[plural])
        if (not namespace or o["metadata"].get("namespace") == namespace)
        and labels_match(labels, o["metadata"].get("labels"))
        and fields_match(fields, o)
    ]


PLAN = _plan()
SPECS = list(PLAN.specs())
COLLECTED = {spec: _collect(spec) for spec in SPECS}


@st.composite
def _views(draw: st.DrawFn) -> dict[WatchSpec, CollectionView]:
    views = {}
    damaged = set(draw(st.lists(st.sampled_from(SPECS), max_size=3)))
    for spec in SPECS:
        items = COLLECTED[spec]
        if spec in damaged:
            items = draw(mutated(items, most=6))
            items = items if isinstance(items, list) else [items]
        stored = []
        for item in items:  # as the watch stores them: objects with a key, transformed
            if isinstance(item, dict) and object_key(item) is not None:
                kept = spec.transform(item) if spec.transform else item
                if kept is not None:  # None: an object the watch does not keep
                    stored.append(kept)
        views[spec] = CollectionView(tuple(stored), True, None, False, "1")
    return views


@FUZZ
@given(views=_views())
def test_build_state_never_raises(views: dict[WatchSpec, CollectionView]) -> None:
    built = build_state(PLAN, views)
    assert all(e.reason for e in built.errors)
    assert all(isinstance(p, str) for p in built.problems)


def test_build_state_reads_the_undamaged_world() -> None:
    """The fuzzed views start from a world the build reads completely (else the fuzzing
    would only ever exercise the unknown paths)."""
    views = {s: CollectionView(tuple(COLLECTED[s]), True, None, False, "1") for s in SPECS}
    views = {
        s: CollectionView(
            tuple(k for o in v.items if (k := s.transform(o) if s.transform else o) is not None),
            True,
            None,
            False,
            "1",
        )
        for s, v in views.items()
    }
    built = build_state(PLAN, views)
    assert built.errors == ()
    assert built.state.anchors
    assert built.state.issuer is not None
    assert built.state.policy is not None
    assert built.state.proxies


CERTIFICATE = _one("Certificate")


@FUZZ
@given(obj=mutated(CERTIFICATE, most=6).map(_dict))
def test_cert_manager_certificate_never_raises(obj: dict[str, Any]) -> None:
    from monitor.sources.mesh.certmanager import certificate, issuer_certificate

    managed, problems = certificate(obj)
    assert all(isinstance(p, str) for p in problems)
    issuer_certificate([obj, CERTIFICATE], "linkerd-identity-issuer")
    del managed


REQUEST = _one("CertificateRequest")


@FUZZ
@given(request=mutated(REQUEST, most=6).map(_dict), certificate=mutated(CERTIFICATE, most=3))
def test_certificate_request_never_raises(request: dict[str, Any], certificate: Any) -> None:
    """The issued certificate from a damaged request (or Certificate): an issuer, or None
    and a note; never an exception, never a note without bound."""
    from monitor.sources.mesh.certrequest import issued_certificate, request_record

    for requests in ([request], [request_record(request)], [REQUEST, request]):
        cert = _dict(certificate)
        issuer, note = issued_certificate(requests, cert, "kubernetes.io/tls")
        assert isinstance(note, str)
        assert len(note) < 2000
        assert issuer is not None or note


def test_the_undamaged_request_gives_the_issuer() -> None:
    from monitor.sources.mesh.certrequest import issued_certificate

    issuer, note = issued_certificate([REQUEST], CERTIFICATE, "kubernetes.io/tls")
    assert (issuer is not None, note) == (True, "")


@FUZZ
@given(
    text=st.text(max_size=30)
    | st.sampled_from(ODD_TEXT)
    | st.sampled_from(["9999999999999h", "1e400h", "v" + "9" * 5000, "v1beta" + "9" * 5000])
    | st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]),
    code=JSON,
)
def test_durations_times_versions_and_status_never_raise(text: str, code: Any) -> None:
    """Found by fuzzing: a Go duration beyond timedelta's range, a time whose offset takes
    it past year 1 or 9999, a discovery version of thousands of digits, a Status code of
    1e400 (OverflowError or ValueError each)."""
    from monitor.sources.kube.transport import status_event
    from monitor.sources.mesh.certmanager import go_duration, rfc3339
    from monitor.sources.mesh.discovery import version_key

    go_duration(text)
    moment = rfc3339(text)
    assert moment is None or moment.utcoffset() is not None
    version_key(text)
    status_event({"code": code, "message": text}, "watch pods", "")
