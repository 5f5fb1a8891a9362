"""The mesh source: what the Kubernetes API says about Linkerd and the backends, per poll.

Owns `MeshSource`, the poll of one cluster (DESIGN section 4, research/linkerd.md §1–3):
the trust anchors, the identity issuer, the Linkerd version and, for every backend Service
of the boundaries, its endpoints with their pods' ServiceAccount and mesh membership, as
a `MeshState` plus a `SourceStatus`. Reads go through `MeshReads` (`mesh_client`), the
meaning of the objects is in `mesh_parse`, the reason codes in `mesh_errors`.

Requests per poll (plain GET/LIST; a later issue swaps `KubeReader` for watches):
1. GET ConfigMap `<l5d-ns>/linkerd-identity-trust-roots` (`ca-bundle.crt`; on 404, as
   on Linkerd 2.10, the anchors come from `linkerd-config` `identityTrustAnchorsPEM`);
2. GET ConfigMap `<l5d-ns>/linkerd-config` (`values`: the issuer scheme);
3. GET Secret `<l5d-ns>/linkerd-identity-issuer` (only the certificate entries are kept);
4. LIST pods in `<l5d-ns>` with `linkerd.io/control-plane-component` (the version);
5. per backend Service: GET the Service, LIST its EndpointSlices
   (`kubernetes.io/service-name=<name>`);
6. per backend namespace: ONE LIST of pods, narrowed by the label pairs the Services'
   selectors share and by `status.phase` (no per-pod GETs).

Unknown versus absent: a part that could not be read is None in the `MeshState` with its
error in the status (`anchors`, `issuer`, `services[key]`). A Service that does not exist
(404), or that has no such port, is a fact: `ServiceEndpoints(..., endpoints=())` and no
error, so the pool's members show as extra. When `linkerd-config` cannot be read the
issuer scheme is unknown, so the issuer is too (the Secret is not read). A pod LIST that
fails leaves the endpoints known with `service_account`/`meshed` None. The Linkerd
version is best effort: its failure is an error but leaves anchors and issuer known.
After a failure every later request would repeat (401, TLS, connect, timeout) the rest
of the poll is not sent: those parts are None, explained by that one error.

Key material is never kept or logged (see `mesh_client.KubeReader.secret`).
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from kubernetes import client

from monitor.certs import CertFacts
from monitor.config import Config
from monitor.model import Issuer, MeshState, ServiceEndpoints, SourceError, SourceStatus
from monitor.sources.errors import SourceFailure, failure
from monitor.sources.mesh_client import (
    KubeReader,
    MeshReads,
    NotFound,
    Skipped,
    build_api_client,
)
from monitor.sources.mesh_parse import (
    LIVE_PODS,
    PodFacts,
    SliceEndpoint,
    anchors_from_values,
    certificates,
    endpoints,
    issuer_from_secret,
    issuer_keys,
    issuer_scheme,
    label_selector,
    parse_values,
    pod_facts,
    port_name,
    proxy_versions,
    slice_endpoints,
)

log = logging.getLogger("f5_linkerd_monitor.mesh")

SOURCE = "kubernetes"
TRUST_ROOTS = "linkerd-identity-trust-roots"
TRUST_ROOTS_KEY = "ca-bundle.crt"
LINKERD_CONFIG = "linkerd-config"
ISSUER = "linkerd-identity-issuer"
CONTROL_PLANE = "linkerd.io/control-plane-component"

T = TypeVar("T")


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


class MeshSource:
    """Polls one Kubernetes cluster; `poll()` never raises for remote faults."""

    def __init__(
        self,
        cfg: Config,
        api_client: client.ApiClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cfg = cfg
        self._clock = clock
        self._timeout = cfg.poll.timeout.total_seconds()
        self._backends = backends(cfg)
        self._api = api_client
        self._client_error: SourceError | None = None
        if api_client is None:
            self._connect()

    def _connect(self) -> None:
        try:
            self._api = build_api_client(self._cfg.mesh)
            self._client_error = None
        except SourceFailure as fail:
            self._client_error = fail.error

    def poll(self) -> tuple[MeshState, SourceStatus]:
        """Read everything once; what could not be read is None, with its error."""
        started = self._clock()
        if self._api is None:
            self._connect()  # the kubeconfig may have appeared since (a mounted Secret)
        if self._api is None:
            assert self._client_error is not None
            error = self._client_error
            log.debug("mesh poll: %s", error.message)
            status = SourceStatus(SOURCE, "kubernetes", False, (error,), self._clock() - started)
            return MeshState(), status
        reader = KubeReader(self._api, self._timeout)
        state, errors = _Poll(reader, self._cfg.mesh.linkerd_namespace, self._backends).run()
        for error in errors:
            log.debug("mesh poll: %s: %s", error.reason, error.message)
        status = SourceStatus(
            source=SOURCE,
            kind="kubernetes",
            up=not errors,
            errors=errors,
            duration_seconds=self._clock() - started,
            requests=dict(reader.requests),
        )
        return state, status

    def close(self) -> None:
        """Close the API client's connection pools."""
        if self._api is not None:
            self._api.close()  # type: ignore[no-untyped-call]
            self._api = None


class _Poll:
    """One poll's reads and the errors they gave."""

    def __init__(self, reads: MeshReads, namespace: str, wanted: tuple[Backend, ...]) -> None:
        self.reads = reads
        self.ns = namespace
        self.wanted = wanted
        self.errors: list[SourceError] = []

    def attempt(self, target: str, step: Callable[[], T]) -> T | None:
        """`step()`, or None with its error recorded (none for a Skipped read)."""
        try:
            return step()
        except SourceFailure as fail:
            self.errors.append(fail.error)
        except NotFound:
            self.errors.append(SourceError("http_404", f"{target}: not found", target))
        except Skipped:
            pass
        except (AttributeError, TypeError, KeyError, IndexError):  # a JSON shape we did not expect
            message = f"{target}: unexpected object structure"
            self.errors.append(SourceError("bad_json", message, target))
        return None

    def run(self) -> tuple[MeshState, tuple[SourceError, ...]]:
        anchors, anchors_from = self.anchors()
        config_target = f"configmap {self.ns}/{LINKERD_CONFIG}"
        values = self.attempt(config_target, self.values)
        if anchors_from.endswith(f"/{LINKERD_CONFIG}") and values is not None:
            anchors = self.attempt(
                config_target, lambda: anchors_from_values(values, config_target)
            )
        issuer = None if values is None else self.issuer(issuer_scheme(values))
        version = self.attempt(f"pods {self.ns} ({CONTROL_PLANE})", self.version) or ""
        services: dict[str, ServiceEndpoints | None] = {}
        namespaces = dict.fromkeys(b.namespace for b in self.wanted)
        for namespace in namespaces:
            services.update(self.namespace(namespace))
        state = MeshState(
            anchors=anchors,
            issuer=issuer,
            services={b.key: services.get(b.key) for b in self.wanted},
            linkerd_version=version,
            anchors_from=anchors_from,
            issuer_from=f"{self.ns}/{ISSUER}",
        )
        return state, tuple(self.errors)

    # -- Linkerd ---------------------------------------------------------------------------
    def anchors(self) -> tuple[tuple[CertFacts, ...] | None, str]:
        """The trust-roots ConfigMap's bundle and where it was read; when that ConfigMap
        does not exist (Linkerd 2.10) None and `linkerd-config`, which the caller reads."""
        where = f"{self.ns}/{TRUST_ROOTS}"
        target = f"configmap {where}"
        missing = False

        def read() -> tuple[CertFacts, ...] | None:
            nonlocal missing
            try:
                data = self.reads.config_map(self.ns, TRUST_ROOTS)
            except NotFound:
                missing = True
                return None
            if TRUST_ROOTS_KEY not in data:
                raise failure("bad_pem", f"{target}: no {TRUST_ROOTS_KEY} key", target)
            return certificates(data[TRUST_ROOTS_KEY], target, TRUST_ROOTS_KEY)

        anchors = self.attempt(target, read)
        return (None, f"{self.ns}/{LINKERD_CONFIG}") if missing else (anchors, where)

    def values(self) -> Mapping[str, Any]:
        target = f"configmap {self.ns}/{LINKERD_CONFIG}"
        data = self.reads.config_map(self.ns, LINKERD_CONFIG)
        if "values" not in data:
            raise failure("bad_json", f"{target}: no values key", target)
        return parse_values(data["values"], target)

    def issuer(self, scheme: str) -> Issuer | None:
        target = f"secret {self.ns}/{ISSUER}"

        def read() -> Issuer:
            crt_key, ca_key = issuer_keys(scheme)
            keys = (crt_key,) if ca_key is None else (crt_key, ca_key)
            secret = self.reads.secret(self.ns, ISSUER, keys)
            issuer, errors = issuer_from_secret(scheme, secret.data, target)
            self.errors.extend(errors)
            return issuer

        return self.attempt(target, read)

    def version(self) -> str:
        return proxy_versions(self.reads.pods(self.ns, CONTROL_PLANE, LIVE_PODS))

    # -- backends --------------------------------------------------------------------------
    def namespace(self, namespace: str) -> dict[str, ServiceEndpoints | None]:
        """The backends of one namespace: each Service and its slices, then ONE pod LIST."""
        out: dict[str, ServiceEndpoints | None] = {}
        found: dict[str, list[SliceEndpoint]] = {}
        read: list[Mapping[str, Any]] = []
        for backend in (b for b in self.wanted if b.namespace == namespace):
            result = self.attempt(f"service {backend.key}", functools.partial(self.slices, backend))
            if result is None:
                out[backend.key] = None
                continue
            service, endpoints_found = result
            if service is not None and endpoints_found:
                read.append(service)
            found[backend.key] = endpoints_found
        pods: dict[tuple[str, str], PodFacts] | None = {}
        if any(ep.pod is not None for eps in found.values() for ep in eps):
            selector = label_selector(read)
            pods = self.attempt(f"pods {namespace}", lambda: self.pods(namespace, selector))
        for backend in self.wanted:
            if backend.key in found:
                eps = endpoints(found[backend.key], pods)
                out[backend.key] = ServiceEndpoints(
                    backend.namespace, backend.name, str(backend.port), eps
                )
        return out

    def slices(self, backend: Backend) -> tuple[Mapping[str, Any] | None, list[SliceEndpoint]]:
        """The Service (None if it does not exist) and its port's endpoints."""
        try:
            service = self.reads.service(backend.namespace, backend.name)
        except NotFound:
            return None, []
        name = port_name(service, backend.port)
        if name is None:
            return service, []
        found = self.reads.endpoint_slices(backend.namespace, backend.name)
        return service, slice_endpoints(found, backend.namespace, name)

    def pods(self, namespace: str, selector: str) -> dict[tuple[str, str], PodFacts]:
        listed = self.reads.pods(namespace, selector, LIVE_PODS)
        out = {}
        for pod in listed:
            meta = pod.get("metadata") or {}
            out[(str(meta.get("namespace") or namespace), str(meta.get("name")))] = pod_facts(pod)
        return out
