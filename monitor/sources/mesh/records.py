"""What the mesh source's watch caches keep of each object: a few facts, not the object.

Owns the transforms of the watches (`WatchSpec.transform`), run once when an object
arrives (LIST page or watch event), so that the cache holds compact, comparable records
and every poll reads facts instead of re-parsing JSON:
- `pod_record`: a pod's key, labels, `PodInfo` (`monitor.policy.pods.pod_info`), its
  ServiceAccount and mesh membership, whether it is terminating, and its proxy's frozen
  trust bundle as fingerprints (`proxy_env`: resolved now when the env holds the PEM, at
  build time when it names the trust-roots ConfigMap). A pod whose parsing raises
  something unforeseen keeps the exception, which the build raises again inside its
  guard (the pod is unknown, not the collection);
- `slice_record`: an EndpointSlice's Service, address type, ports and endpoints
  (address, ready, the targeted pod);
- `service_record`: a Service's selector and ports;
- `slim_object`: any other object without `managedFields` and kubectl's
  last-applied-configuration annotation (which repeats the whole object);
- `Keep`: a transform that drops the objects of namespaces (or keys) the monitor does not
  need, for watches wider than the backends (cluster-wide, or a namespace's every Service).
Equal inputs give equal records, so a MODIFIED event that changes nothing the monitor
reads changes nothing in the cache. Strings and maps many objects share (namespaces,
label sets, port maps, ServiceAccounts, bundles) are shared, not copied. Pure: no I/O.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from monitor.certs import parse_pem_bundle
from monitor.model import ProxyBundle
from monitor.policy.model import PodInfo
from monitor.policy.pods import pod_info
from monitor.sources.errors import clip
from monitor.sources.kube.spec import object_key
from monitor.sources.mesh.names import ANCHORS_ENV, PROXY, TRUST_ROOTS, TRUST_ROOTS_KEY

Json = Mapping[str, Any]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def _map(obj: Any, key: str) -> Json:
    value = obj.get(key) if isinstance(obj, Mapping) else None
    return value if isinstance(value, Mapping) else {}


def _dicts(raw: Any) -> list[Json]:
    return [x for x in raw if isinstance(x, Mapping)] if isinstance(raw, list) else []


@functools.lru_cache(maxsize=8192)
def _shared(items: tuple[tuple[Any, Any], ...]) -> dict[Any, Any]:
    """One dict per distinct content (label sets, port maps): shared, never mutated."""
    return dict(items)


def share(mapping: Mapping[Any, Any]) -> dict[Any, Any]:
    """The shared dict equal to `mapping` (treat it as read-only)."""
    return _shared(tuple(mapping.items()))


def intern(text: Any) -> Any:
    return sys.intern(text) if isinstance(text, str) else text


@functools.lru_cache(maxsize=256)
def bundle_fingerprints(text: str) -> tuple[tuple[str, ...] | None, str]:
    """(fingerprints, problem) of a frozen bundle; pods share a few bundles, parse each once."""
    parsed = parse_pem_bundle(text)
    if parsed.errors or not parsed.certs:
        problems = "; ".join(f"{e.code}: {e.message}" for e in parsed.errors[:3])
        return None, f"unparseable trust bundle: {clip(problems or 'no certificate')}"
    return tuple(intern(c.fingerprint_sha256) for c in parsed.certs), ""


# --- pods ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def _facts(service_account: str | None, meshed: bool) -> PodFacts:
    return PodFacts(service_account, meshed)


ROOTS_REF = "roots"  # proxy_env: the env names the trust-roots ConfigMap


def proxy_env(pod: Json) -> tuple[str, str] | None:
    """The trust-anchors env of the pod's `linkerd-proxy` (in `containers` or, as a native
    sidecar, `initContainers`): None when the pod is not meshed; ("pem", text) when the
    env holds the bundle; (ROOTS_REF, "") when it is the trust-roots ConfigMap's
    `ca-bundle.crt`; ("problem", why) otherwise."""
    spec = _map(pod, "spec")
    containers = [*_dicts(spec.get("containers")), *_dicts(spec.get("initContainers"))]
    proxy = next((c for c in containers if c.get("name") == PROXY), None)
    if proxy is None:
        return None
    env = next((e for e in _dicts(proxy.get("env")) if e.get("name") == ANCHORS_ENV), None)
    if env is None:
        return "problem", f"{PROXY} has no {ANCHORS_ENV} env"
    text = env.get("value")
    if isinstance(text, str):
        return "pem", text
    ref = _map(env, "valueFrom").get("configMapKeyRef")
    if not isinstance(ref, Mapping):
        return "problem", f"{ANCHORS_ENV} is neither a value nor a ConfigMap key"
    if (ref.get("name"), ref.get("key")) != (TRUST_ROOTS, TRUST_ROOTS_KEY):
        where = f"ConfigMap {ref.get('name')} key {ref.get('key')}"
        return "problem", f"{ANCHORS_ENV} comes from {where}, which is not read"
    return ROOTS_REF, ""


def resolved_bundle(
    key: str, env: tuple[str, str], roots_text: str | None, roots: str
) -> ProxyBundle:
    """The `ProxyBundle` of a meshed pod's `proxy_env`, with the trust-roots bundle text
    (None: unknown) for an env that names it (`roots` names that ConfigMap)."""
    kind, value = env
    if kind == "problem":
        return ProxyBundle(key, None, value)
    if kind == ROOTS_REF:
        if roots_text is None:
            problem = f"{ANCHORS_ENV} comes from ConfigMap {roots}, which could not be read"
            return ProxyBundle(key, None, problem)
        value = roots_text
    anchors, problem = bundle_fingerprints(value)
    return ProxyBundle(key, anchors, problem)


@dataclass(frozen=True, slots=True)
class PodFacts:
    service_account: str | None  # spec.serviceAccountName (or serviceAccount); None: unset
    meshed: bool  # runs linkerd-proxy (a container, or a native sidecar in initContainers)


@dataclass(frozen=True, slots=True)
class PodRecord:
    """What the monitor keeps of a pod (module docstring). `info` is None, with
    `failure` set, when parsing raised; `problems` are the pod's own (bad annotations)."""

    key: str  # namespace/name
    labels: Mapping[str, str]
    info: PodInfo | None
    problems: tuple[str, ...]
    facts: PodFacts
    terminating: bool
    bundle: ProxyBundle | None  # resolved already; None: not meshed, or see `roots_ref`
    roots_ref: bool = False  # the bundle is the trust-roots ConfigMap's: resolved per build
    failure: Exception | None = dataclasses.field(default=None, compare=False)
    trace: TracebackType | None = dataclasses.field(default=None, compare=False, repr=False)

    @property
    def namespace(self) -> str:
        return self.key.partition("/")[0]

    def proxy(self, roots_text: str | None, roots: str) -> ProxyBundle | None:
        """The pod's frozen bundle; None when it is not meshed or is terminating."""
        if self.failure is not None:  # the same stack each time, not one growing per raise
            raise self.failure.with_traceback(self.trace)
        if self.terminating:
            return None
        if self.roots_ref:
            return resolved_bundle(self.key, (ROOTS_REF, ""), roots_text, roots)
        return self.bundle


def pod_record(pod: Json) -> PodRecord | None:
    """The `PodRecord` of a pod (the transform of every pod watch); None without a name."""
    key = object_key(dict(pod))
    if key is None:
        return None
    meta, spec = _map(pod, "metadata"), _map(pod, "spec")
    raw_labels = _map(meta, "labels")
    labels = share({str(k): str(v) for k, v in raw_labels.items()})
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    containers = [*_dicts(spec.get("containers")), *_dicts(spec.get("initContainers"))]
    meshed = any(c.get("name") == PROXY for c in containers)
    terminating = bool(meta.get("deletionTimestamp"))
    facts = _facts(intern(str(account)) if account else None, meshed)
    try:
        info, found = pod_info(pod)
        if info is not None:
            info = dataclasses.replace(
                info,
                namespace=intern(info.namespace),
                labels=labels if info.labels == labels else share(info.labels),
                service_account=intern(info.service_account),
                container_ports=share(info.container_ports),
            )
        env = proxy_env(pod)
        bundle = None
        if env is not None and env[0] != ROOTS_REF:
            bundle = resolved_bundle(key, env, None, "")
        roots_ref = env is not None and env[0] == ROOTS_REF
        problems = tuple(message for _, message in found)
        return PodRecord(key, labels, info, problems, facts, terminating, bundle, roots_ref)
    except Exception as err:  # raised again in the build's guard: the pod is unknown
        # where it was raised, without what: the frames' locals hold the raw pod (its
        # containers' env may hold secrets), and this record lives in the watch cache. This
        # frame still runs, so it is left out of the stack; the parsers' are cleared.
        inner = err.__traceback__.tb_next if err.__traceback__ is not None else None
        traceback.clear_frames(inner)
        return PodRecord(key, labels, None, (), facts, terminating, None, False,
                         err.with_traceback(inner), inner)  # fmt: skip


# --- EndpointSlices ---------------------------------------------------------------------------

SERVICE_NAME = "kubernetes.io/service-name"


@dataclass(frozen=True, slots=True)
class SliceEndpointRecord:
    address: str | None  # the first address; None: none given
    ready: bool  # conditions.ready unset counts as ready ("nil ... should be interpreted as ready")
    pod: tuple[str, str] | None  # (namespace, name) of the targeted Pod


@dataclass(frozen=True, slots=True)
class SliceRecord:
    """What the monitor keeps of an EndpointSlice."""

    key: str
    service: str | None  # its kubernetes.io/service-name label
    address_type: str | None
    ports: tuple[tuple[str, Any], ...]  # (name, port) of each entry of `ports`
    endpoints: tuple[SliceEndpointRecord, ...]

    @property
    def namespace(self) -> str:
        return self.key.partition("/")[0]


def slice_record(piece: Json, namespace: str = "") -> SliceRecord:
    """An EndpointSlice as a `SliceRecord`; a targetRef without a namespace is in the
    slice's own (or `namespace`, for a slice without one)."""
    meta = _map(piece, "metadata")
    own = meta.get("namespace")
    home = own if isinstance(own, str) and own else namespace
    name = meta.get("name")
    key = f"{home}/{name}" if home else str(name)
    label = _map(meta, "labels").get(SERVICE_NAME)
    ports = tuple((str(p.get("name") or ""), p.get("port")) for p in _dicts(piece.get("ports")))
    endpoints = []
    for ep in _dicts(piece.get("endpoints")):
        addresses = ep.get("addresses")
        address = str(addresses[0]) if isinstance(addresses, list) and addresses else None
        ref = _map(ep, "targetRef")
        pod = None
        if ref.get("kind") == "Pod" and ref.get("name"):
            pod = (intern(str(ref.get("namespace") or home)), str(ref["name"]))
        ready = _map(ep, "conditions").get("ready") is not False
        endpoints.append(SliceEndpointRecord(address, ready, pod))
    address_type = piece.get("addressType")
    return SliceRecord(
        key=key,
        service=intern(label) if isinstance(label, str) else None,
        address_type=intern(address_type) if isinstance(address_type, str) else None,
        ports=ports,
        endpoints=tuple(endpoints),
    )


def slice_records(slices: Iterable[Any], namespace: str = "") -> list[SliceRecord]:
    """Records as they are, dicts (EndpointSlices as served) made records."""
    return [s if isinstance(s, SliceRecord) else slice_record(s, namespace) for s in slices]


# --- Services ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    """What the monitor keeps of a Service: `spec.selector` (None: none, or empty) and
    (name, port) of each `spec.ports` entry."""

    key: str
    selector: Mapping[str, str] | None
    ports: tuple[tuple[str, Any], ...]


def service_record(service: Json) -> ServiceRecord:
    spec = _map(service, "spec")
    raw = spec.get("selector")
    selector = None
    if isinstance(raw, Mapping) and raw:
        selector = share({str(k): str(v) for k, v in raw.items()})
    ports = tuple((str(p.get("name") or ""), p.get("port")) for p in _dicts(spec.get("ports")))
    return ServiceRecord(object_key(dict(service)) or "", selector, ports)


def as_service(service: Any) -> ServiceRecord:
    return service if isinstance(service, ServiceRecord) else service_record(service)


# --- other objects and filters -----------------------------------------------------------------


def slim_object(obj: Json) -> Json:
    """The object without `metadata.managedFields` and kubectl's last-applied annotation."""
    meta = obj.get("metadata")
    if not isinstance(meta, dict) or not (
        "managedFields" in meta or LAST_APPLIED in _map(meta, "annotations")
    ):
        return dict(obj)
    slim = {k: v for k, v in meta.items() if k != "managedFields"}
    annotations = meta.get("annotations")
    if isinstance(annotations, dict) and LAST_APPLIED in annotations:
        slim["annotations"] = {k: v for k, v in annotations.items() if k != LAST_APPLIED}
    return {**obj, "metadata": slim}


@dataclass(frozen=True)
class Keep:
    """A transform: `reduce(obj)` for the objects in `namespaces` (when given) whose key is
    in `keys` (when given); None (not stored) for the others. Equal filters are equal, so
    the watch they belong to is the same watch from poll to poll."""

    reduce: Callable[[Json], Any]
    namespaces: frozenset[str] | None = None
    keys: frozenset[str] | None = None

    def __call__(self, obj: Json) -> Any:
        key = object_key(obj) if isinstance(obj, dict) else None
        if key is None:
            return None
        if self.keys is not None and key not in self.keys:
            return None
        if self.namespaces is not None:
            namespace, sep, _ = key.partition("/")
            if not sep or namespace not in self.namespaces:
                return None
        return self.reduce(obj)
