"""The simulated Kubernetes API server: HTTPS on 127.0.0.1, used by the real `kubernetes` client.

Owns the HTTP side: bearer-token authentication (401), fault injection for target
`kubernetes` (503, HTML 500, latency, TCP reset, truncated body; `watchExpire`
compacts the history, so open and later watches from older resourceVersions get
410), discovery (`/version`, `/api`, `/apis`, group and resource lists), the
SelfSubjectAccessReviews and SelfSubjectReviews of `whoami`, the dispatch
of GET/LIST to `api`, of lease writes (create, update, patch, delete) to `writes` and of
WATCH to `watch`, the kubeconfig, and request statistics. Every request body is read
(also a DELETE's DeleteOptions), so a kept-alive connection stays in step.

`update(world)` diffs the next rendering against the store: ADDED / MODIFIED /
DELETED events with new resourceVersions, unchanged objects keep theirs, and objects
the clients created (leases) stay.  Faults listed in a `KubeWorld` are armed by the
caller through `inject()` (the world orchestrator does so at start).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from ssl import SSLContext
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from monitor.simulate.faults import COMMON_FAULTS, KUBE_FAULTS, Fault, FaultPlan
from monitor.simulate.httpserver import SimHandler, SimServer
from monitor.simulate.kube.api import (
    Target,
    check_access,
    get_object,
    list_objects,
    narrowed_name,
    parse_path,
)
from monitor.simulate.kube.meta import timestamp
from monitor.simulate.kube.model import KubeWorld
from monitor.simulate.kube.negotiate import Obj, event_shaper, form, shape
from monitor.simulate.kube.resources import (
    ResourceIndex,
    api_group_doc,
    api_group_list_doc,
    api_versions_doc,
    resource_list_doc,
    version_doc,
)
from monitor.simulate.kube.rootca import root_ca_configmaps
from monitor.simulate.kube.status import NOT_SERVED, VERBS, ApiError, forbidden_message, status_doc
from monitor.simulate.kube.store import Key, KubeStore, key_of
from monitor.simulate.kube.validation import field_validation
from monitor.simulate.kube.watch import WatchStream, parse_watch
from monitor.simulate.kube.whoami import PATHS as REVIEW_PATHS
from monitor.simulate.kube.whoami import answer as answer_review
from monitor.simulate.kube.writes import Write, write_object

TARGET = "kubernetes"
_HTML_500 = (
    b"<html><head><title>500 Internal Server Error</title></head><body>"
    b"<center><h1>500 Internal Server Error</h1></center><hr><center>nginx</center>"
    b"</body></html>\n"
)


@dataclass(frozen=True)
class KubeStats:
    requests: Mapping[tuple[str, str], int]  # (verb, resource) → count; see SimulatedKubernetes
    open_watches: int
    resource_version: int


def _keyed(
    world: KubeWorld, index: ResourceIndex, ca_pem: str | None = None
) -> list[tuple[Key, dict[str, Any]]]:
    out = []
    for obj in [*world.objects, *(root_ca_configmaps(world, ca_pem) if ca_pem else [])]:
        res = index.by_kind(str(obj.get("apiVersion")), str(obj.get("kind")))
        if res is None:
            raise ValueError(f"{obj.get('apiVersion')} {obj.get('kind')} is not served")
        out.append((key_of(res.group, res.plural, obj), obj))
    return out


class SimulatedKubernetes:
    """A Kubernetes API server serving one `KubeWorld` (see the module docstring)."""

    bookmark_interval = 60.0  # seconds between BOOKMARK events on watches that allow them
    default_watch_timeout = 1800.0  # seconds, when the client gives no timeoutSeconds

    def __init__(self, world: KubeWorld, tls: SSLContext, ca_pem: str | None = None) -> None:
        self._world = world
        self._ca_pem = ca_pem  # published as kube-root-ca.crt in every namespace
        self._index = ResourceIndex(world.resources)
        self.store = KubeStore()
        keyed = _keyed(world, self._index, ca_pem)
        self.store.sync(keyed, set())
        self._managed = {k for k, _ in keyed}
        self.faults = FaultPlan()
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._open_watches = 0
        handler = type("KubeHandler", (_KubeHandler,), {"sim": self})
        self._server = SimServer(handler, tls)

    # -- lifecycle and control ---------------------------------------------------------
    @property
    def url(self) -> str:
        return self._server.url

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def world(self) -> KubeWorld:
        return self._world

    @property
    def index(self) -> ResourceIndex:
        return self._index

    def start(self) -> None:
        self._server.start()

    def stop(self) -> None:
        self.store.close()
        self._server.stop()

    def update(self, world: KubeWorld) -> None:
        index = ResourceIndex(world.resources)
        keyed = _keyed(world, index, self._ca_pem)
        with self._lock:
            self._world, self._index = world, index
        self.store.sync(keyed, self._managed)
        self._managed = {k for k, _ in keyed}

    def clear_faults(self) -> None:
        """End every armed request fault now."""
        self.faults.clear()

    def inject(self, fault: Fault) -> None:
        if fault.target != TARGET:
            raise ValueError(f'fault for "{fault.target}" sent to the Kubernetes API')
        if fault.type == "watchExpire":
            self.store.compact()
        elif fault.type == "watchDrop":
            self.store.drop_watches()
        elif fault.type in COMMON_FAULTS + KUBE_FAULTS:
            self.faults.arm(fault)
        else:
            raise ValueError(f"{fault.type} does not apply to the Kubernetes API")

    def write_kubeconfig(self, path: Path, ca_pem: str, namespace: str = "default") -> None:
        """A kubeconfig with one context: this server, its CA, the bearer token."""
        doc = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "simulated",
                    "cluster": {
                        "server": self.url,
                        "certificate-authority-data": base64.b64encode(ca_pem.encode()).decode(),
                    },
                }
            ],
            "users": [{"name": "f5-linkerd-monitor", "user": {"token": self._world.token}}],
            "contexts": [
                {
                    "name": "simulated",
                    "context": {
                        "cluster": "simulated",
                        "user": "f5-linkerd-monitor",
                        "namespace": namespace,
                    },
                }
            ],
            "current-context": "simulated",
            "preferences": {},
        }
        path.touch(mode=0o600)
        os.chmod(path, 0o600)
        path.write_text(yaml.safe_dump(doc, sort_keys=False))

    def stats(self) -> KubeStats:
        """Requests per (verb, resource): verbs get/list/watch/create/update/patch/delete with the
        resource as `plural[.group]`; ("discovery", path); ("not_served", path) for a
        resource path the server does not serve (404); ("unauthorized", path);
        ("fault", type)."""
        with self._lock:
            return KubeStats(dict(self._counts), self._open_watches, self.store.rv)

    # -- used by the handler ------------------------------------------------------------
    def current(self) -> tuple[KubeWorld, ResourceIndex]:
        with self._lock:
            return self._world, self._index

    def count(self, verb: str, what: str) -> None:
        with self._lock:
            self._counts[(verb, what)] += 1

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        with self._lock:
            self._open_watches += 1
        try:
            yield
        finally:
            with self._lock:
                self._open_watches -= 1


class _KubeHandler(SimHandler):
    sim: ClassVar[SimulatedKubernetes]
    _truncate = False

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    # -- plumbing -------------------------------------------------------------------------
    def _send(self, code: int, payload: Any, warnings: tuple[str, ...] = ()) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = {"Audit-Id": str(uuid.uuid4()), "Cache-Control": "no-cache, private"}
        if warnings:  # one header per warning in Go; joined as RFC 9110 allows (one line)
            headers["Warning"] = ", ".join(f"299 - {json.dumps(w)}" for w in warnings)
        self.send_bytes(code, body, "application/json", headers, truncate=self._truncate)

    def _serve(self, method: str) -> None:
        self._truncate = False
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        body = self.read_body()  # always, even a GET's or DELETE's: keep-alive stays in step
        sim = self.sim
        fault = sim.faults.take()
        if fault is not None:
            sim.count("fault", fault.type)
            if fault.type == "reset":
                self.reset_connection()
                return
            if fault.type == "http503":
                message = "the server is currently unable to handle the request"
                self._send(503, status_doc(503, "ServiceUnavailable", message))
                return
            if fault.type == "http500html":
                self.send_bytes(500, _HTML_500, "text/html")
                return
            if fault.type == "http403":  # RBAC: the grant for this request is missing
                self._send(403, status_doc(403, "Forbidden", forbidden_message(method, url.path)))
                return
            if fault.type == "latency":
                time.sleep(fault.delay)
            self._truncate = fault.type == "truncate"
        path = url.path.rstrip("/") or "/"
        if path in ("/healthz", "/livez", "/readyz"):
            self.send_bytes(200, b"ok", "text/plain; charset=utf-8", truncate=self._truncate)
            return
        if self.headers.get("Authorization", "") != f"Bearer {sim.world.token}":
            sim.count("unauthorized", path)
            self._send(401, status_doc(401, "Unauthorized", "Unauthorized"))
            return
        parts = [unquote(p) for p in path.strip("/").split("/")]
        try:
            if path in REVIEW_PATHS:  # SelfSubjectAccessReview, SelfSubjectReview
                if method == "POST":
                    sim.count("create", REVIEW_PATHS[path])
                world, index = sim.current()
                content_type = self.headers.get("Content-Type", "")
                got = answer_review(path, method, content_type, query, body, world, index)
                self._send(got.code, got.doc, got.warnings)
                return
            if self._discovery(method, path, parts):
                return
            self._resource(method, parts, query, body)
        except ApiError as err:
            self._send(err.code, err.status())

    def _discovery(self, method: str, path: str, parts: list[str]) -> bool:
        sim = self.sim
        index = sim.index
        doc: dict[str, Any] | None = None
        if path == "/version":
            doc = version_doc(sim.world.server_version)
        elif path == "/api":
            doc = api_versions_doc(f"127.0.0.1:{sim.port}")
        elif path == "/apis":
            doc = api_group_list_doc(index)
        elif parts[0] == "api" and len(parts) == 2:
            doc = resource_list_doc(index, "", parts[1])
        elif parts[0] == "apis" and len(parts) == 2:
            doc = api_group_doc(index, parts[1])
        elif parts[0] == "apis" and len(parts) == 3:
            doc = resource_list_doc(index, parts[1], parts[2])
        else:
            return False
        sim.count("discovery", path)
        if doc is None:
            raise NOT_SERVED
        if method != "GET":
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on "
                           "the requested resource", {})  # fmt: skip
        self._send(200, doc)
        return True

    def _resource(
        self, method: str, parts: list[str], query: Mapping[str, str], body: bytes
    ) -> None:
        sim = self.sim
        world, index = sim.current()
        try:
            target = parse_path(parts, index)
        except ApiError:
            sim.count("not_served", "/" + "/".join(parts))  # a kind (or path) not served: 404
            raise
        if method == "GET":
            watch = query.get("watch", "").lower() in ("true", "1")
            verb = "get" if target.name else ("watch" if watch else "list")
        else:
            verb = VERBS[method]
            if target.name is None and verb != "create":
                verb = "deletecollection" if verb == "delete" else verb
        sim.count(verb, target.resource.group_resource)
        name = target.name
        if verb in ("list", "watch"):
            name = narrowed_name(query)
        if verb == "create":
            with contextlib.suppress(ValueError, AttributeError):
                name = (json.loads(body or b"{}").get("metadata") or {}).get("name")
        check_access(world.withhold, world.user, verb, target, name)
        res = target.resource
        if verb in ("get", "list", "watch"):  # negotiated first, as the handlers do
            answer = form(self.headers.get("Accept", ""), verb, res.group, res.plural)
        if verb in ("get", "list"):
            doc = (get_object(sim.store, target) if verb == "get"
                   else list_objects(sim.store, target, query))  # fmt: skip
            self._send(200, shape(doc, answer, res.group, res.plural))
        elif verb == "watch":
            self._watch(target, query, event_shaper(answer))
        elif verb in ("create", "update", "delete", "patch"):
            directive = field_validation(query, verb) if verb != "delete" else "Ignore"
            now = timestamp(datetime.now(UTC))
            req = Write(verb, body, directive, self.headers.get("Content-Type", ""), now)
            written = write_object(sim.store, target, req)
            self._send(written.code, written.doc, written.warnings)
        else:
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on "
                           "the requested resource", {})  # fmt: skip

    # -- watch ----------------------------------------------------------------------------
    def _watch(
        self, target: Target, query: Mapping[str, str], shaper: Callable[[Obj], Obj] | None
    ) -> None:
        sim = self.sim
        req = parse_watch(target, query, sim.default_watch_timeout)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", str(uuid.uuid4()))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        with sim.watching():
            stream = WatchStream(self.wfile, self.connection, sim.store, self._truncate)
            stream.shaper = shaper
            if not stream.run(req, sim.bookmark_interval):
                self.close_connection = True
