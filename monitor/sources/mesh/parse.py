"""Pure parsing for the mesh source: Kubernetes/Linkerd JSON → the model (`monitor.model`).

Owns the meaning of the objects the mesh source reads (research/linkerd.md §1–3):
`linkerd-config` `values` (YAML: `identityTrustAnchorsPEM`, `identity.issuer.scheme`),
trust bundles (parsed PEM, never compared as text), the issuer Secret's certificates by
scheme, and a Service port's endpoints from its EndpointSlices and the pods they target.
No I/O, no logging; problems come back as `SourceFailure` / `SourceError` values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from monitor.certs import CertFacts, parse_pem_bundle
from monitor.model import Endpoint, Issuer, SourceError
from monitor.sources.errors import SourceFailure, clip, failure
from monitor.sources.mesh.records import (
    PodFacts,
    ServiceRecord,
    SliceRecord,
    as_service,
    slice_records,
)

DEFAULT_SCHEME = "linkerd.io/tls"
EXTERNAL_SCHEME = "kubernetes.io/tls"
PROXY = "linkerd-proxy"
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


def _map(obj: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """`obj[key]` when it is an object, else empty: a field of another type reads as unset."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _list(obj: Mapping[str, Any], key: str) -> list[Any]:
    """`obj[key]` when it is a list, else empty."""
    value = obj.get(key)
    return value if isinstance(value, list) else []


def parse_values(text: str, target: str) -> Mapping[str, Any]:
    """`linkerd-config` `values`: the chart's values as YAML (a mapping)."""
    try:
        doc = yaml.load(text, Loader=_LOADER)  # a safe loader (C or Python)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise failure("bad_json", f"{target}: values is not valid YAML{where}", target) from None
    except (ValueError, TypeError, OverflowError) as err:
        # the safe constructors raise these for scalars that parse but do not construct:
        # an impossible date (2025-02-30), an int beyond Python's digit limit, `!!float x`
        why = clip(str(err))
        raise failure("bad_json", f"{target}: values holds a bad scalar ({why})", target) from None
    except RecursionError:
        raise failure("bad_json", f"{target}: values is nested too deeply", target) from None
    if not isinstance(doc, dict):
        raise failure("bad_json", f"{target}: values is not a YAML mapping", target)
    return doc


def issuer_scheme(values: Mapping[str, Any]) -> str:
    """`identity.issuer.scheme`; empty or absent means `linkerd.io/tls` (as `linkerd check`)."""
    identity = values.get("identity")
    issuer = identity.get("issuer") if isinstance(identity, dict) else None
    scheme = issuer.get("scheme") if isinstance(issuer, dict) else None
    return scheme if isinstance(scheme, str) and scheme.strip() else DEFAULT_SCHEME


def issuer_keys(scheme: str) -> tuple[str, str | None]:
    """(certificate key, CA key) of the issuer Secret; like the identity controller, any
    scheme but `linkerd.io/tls` reads the `kubernetes.io/tls` keys."""
    return ("crt.pem", None) if scheme == DEFAULT_SCHEME else ("tls.crt", "ca.crt")


def certificates(text: str | bytes, target: str, what: str) -> tuple[CertFacts, ...]:
    """Every certificate of a PEM bundle; any error, or none at all, is `bad_pem`."""
    parsed = parse_pem_bundle(text)
    if parsed.errors or not parsed.certs:
        problems = "; ".join(f"{e.code}: {e.message}" for e in parsed.errors[:3])
        if not problems:
            problems = "no certificate"
        raise failure("bad_pem", f"{target}: {what}: {clip(problems)}", target)
    return parsed.certs


def issuer_from_secret(
    scheme: str,
    data: Mapping[str, bytes],
    target: str,
    keys: tuple[str, str | None] | None = None,
) -> tuple[Issuer, tuple[SourceError, ...]]:
    """The issuer (first certificate), its chain (the rest) and, for kubernetes.io/tls,
    `ca.crt`. A missing or bad certificate entry raises; a bad `ca.crt` is an error next
    to a known issuer. `keys` (certificate key, CA key) overrides the scheme's keys (a
    ConfigMap publishing the certificate)."""
    crt_key, ca_key = keys or issuer_keys(scheme)
    if crt_key not in data:
        where = f"scheme {scheme}" if keys is None else "the published certificate"
        raise failure("bad_pem", f"{target}: no {crt_key} entry ({where})", target)
    certs = certificates(data[crt_key], target, crt_key)
    errors: tuple[SourceError, ...] = ()
    ca_bundle: tuple[CertFacts, ...] = ()
    if ca_key is not None and ca_key in data:
        try:
            ca_bundle = certificates(data[ca_key], target, ca_key)
        except SourceFailure as fail:
            errors = (fail.error,)
    return Issuer(scheme, certs[0], tuple(certs[1:]), ca_bundle), errors


def proxy_versions(pods: Iterable[Mapping[str, Any]]) -> str:
    """The control plane's `linkerd.io/proxy-version` annotations; several during an
    upgrade (joined with ","), "" when none carries it."""
    versions = set()
    for pod in pods:
        version = _map(_map(pod, "metadata"), "annotations").get("linkerd.io/proxy-version")
        if isinstance(version, str) and version:
            versions.add(version)
    return ",".join(sorted(versions))


# --- Services and their endpoints -----------------------------------------------------------


def port_name(service: Mapping[str, Any] | ServiceRecord, port: int | str) -> str | None:
    """The name ("" when unnamed) of the Service port configured as `port` (a number
    matches `spec.ports[].port`, a name `spec.ports[].name`); None: no such port."""
    for name, number in as_service(service).ports:
        if (isinstance(port, int) and number == port) or (isinstance(port, str) and name == port):
            return name
    return None


@dataclass(frozen=True, slots=True)
class SliceEndpoint:
    """An endpoint of the wanted port before its pod is known."""

    address: str
    port: int
    ready: bool
    pod: tuple[str, str] | None  # (namespace, name) of the targeted Pod


def slice_endpoints(
    slices: Iterable[Mapping[str, Any] | SliceRecord], namespace: str, name: str
) -> list[SliceEndpoint]:
    """The endpoints of the port called `name` ("" = unnamed) across EndpointSlices (as
    served, or as `records` keeps them), each address once (a ready copy wins), in
    address order. `conditions.ready` unset counts as ready (API docs: "nil ... should be
    interpreted as ready"); FQDN slices are skipped."""
    found: dict[tuple[str, int], SliceEndpoint] = {}
    for piece in slice_records(slices, namespace):
        if piece.address_type not in ("IPv4", "IPv6"):
            continue
        port = next((number for label, number in piece.ports if label == name), None)
        if not isinstance(port, int):
            continue  # these endpoints do not serve the port (or "all ports": unusable)
        for ep in piece.endpoints:
            if ep.address is None:
                continue
            item = SliceEndpoint(ep.address, port, ep.ready, ep.pod)
            key = (item.address, port)
            if key not in found or (item.ready and not found[key].ready):
                found[key] = item
    return [found[k] for k in sorted(found)]


def pod_facts(pod: Mapping[str, Any]) -> PodFacts:
    """A pod's ServiceAccount and whether it runs `linkerd-proxy` (as a container, or as
    a native sidecar in `initContainers`)."""
    spec = _map(pod, "spec")
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    containers = [*_list(spec, "containers"), *_list(spec, "initContainers")]
    meshed = any(isinstance(c, dict) and c.get("name") == PROXY for c in containers)
    return PodFacts(str(account) if account else None, meshed)


def endpoints(
    found: Iterable[SliceEndpoint], pods: Mapping[tuple[str, str], PodFacts] | None
) -> tuple[Endpoint, ...]:
    """Endpoints with their pods' facts; `pods` None (the pods could not be read) or a
    pod missing from it leaves `service_account` and `meshed` unknown (None)."""
    out = []
    for ep in found:
        facts = None if pods is None or ep.pod is None else pods.get(ep.pod)
        out.append(
            Endpoint(
                address=ep.address,
                port=ep.port,
                ready=ep.ready,
                pod=None if ep.pod is None else f"{ep.pod[0]}/{ep.pod[1]}",
                service_account=None if facts is None else facts.service_account,
                meshed=None if facts is None else facts.meshed,
            )
        )
    return tuple(out)
