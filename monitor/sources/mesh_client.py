"""The Kubernetes API access of the mesh source: building the client, and one poll's reads.

Owns `build_api_client` (kubeconfig file and context, or in-cluster config; the client's
own urllib3 retries disabled so one failure is one error) and `KubeReader`, the plain
GET/LIST reads of one poll: every read goes through a typed API method with
`_preload_content=False` and is decoded with `json.loads` (the generated models' decoding
is slow for large lists), carries the request timeout, is counted by HTTP status (or
"error"), and fails as a `SourceFailure` with a fixed reason code. After a failure that
every later request would repeat (401, TLS, connect, timeout) the reader stops sending
and raises `Skipped`, so a dead API server costs one error and one timeout, not ten.

`MeshReads` is the interface the poll uses; a watch-based cache (a later issue) provides
the same methods from informers without touching the poll logic. Objects are returned as
the API's JSON (`dict`), the same shape a watch event's `raw_object` has.

Key material: `secret()` decodes the response with a JSON hook that drops every private
key entry (`key.pem`, `tls.key`, `*.key`) and all annotations (kubectl's
last-applied-configuration annotation repeats the whole Secret) while parsing, and
returns only the entries asked for, base64-decoded; nothing else of the Secret is kept.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from monitor.config import MeshConfig
from monitor.sources.errors import SourceFailure, failure
from monitor.sources.mesh_errors import FATAL_REASONS, client_error, read_error

Json = dict[str, Any]
PAGE_SIZE = 500  # items per LIST page (limit/continue)
_DROPPED = frozenset({"annotations", "managedFields", "key.pem", "tls.key"})


class Skipped(Exception):
    """A read that was not sent: an earlier failure of this poll applies to it too."""


class NotFound(Exception):
    """The object does not exist (404): a fact for some reads, an error for others."""


def build_api_client(mesh: MeshConfig) -> client.ApiClient:
    """An `ApiClient` for `mesh.kubeconfig` (+ context), or in-cluster when it is None.

    Raises `SourceFailure` (credentials_unreadable / connect_error) instead of the client
    library's exceptions; the kubeconfig is never written back (`persist_config=False`).
    """
    configuration = client.Configuration()
    try:
        if mesh.kubeconfig is None:
            config.load_incluster_config(  # type: ignore[no-untyped-call]
                client_configuration=configuration
            )
        else:
            if not mesh.kubeconfig.is_file():
                raise FileNotFoundError(str(mesh.kubeconfig))
            config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(mesh.kubeconfig),
                context=mesh.context,
                client_configuration=configuration,
                persist_config=False,
            )
    except Exception as err:  # ConfigException, OSError, YAMLError, exec plugin failures
        raise SourceFailure(client_error(err, mesh.kubeconfig, mesh.context)) from None
    configuration.retries = False  # no urllib3 retries: one failure is one error, quickly
    return client.ApiClient(configuration)


@dataclass(frozen=True, slots=True)
class SecretView:
    """The entries of a Secret that were asked for, base64-decoded; nothing else."""

    type: str
    data: Mapping[str, bytes]


class MeshReads(Protocol):
    """The reads one poll makes; every method raises SourceFailure or Skipped on failure."""

    def config_map(self, namespace: str, name: str) -> Mapping[str, str]:
        """The ConfigMap's `data`; raises NotFound."""
        ...

    def secret(self, namespace: str, name: str, keys: Sequence[str]) -> SecretView:
        """Only `keys` of the Secret's `data`; raises NotFound."""
        ...

    def service(self, namespace: str, name: str) -> Json:
        """The Service; raises NotFound."""
        ...

    def endpoint_slices(self, namespace: str, service: str) -> list[Json]: ...

    def pods(self, namespace: str, label_selector: str, field_selector: str) -> list[Json]: ...


def _drop_private(pairs: list[tuple[str, Any]]) -> Json:
    """JSON object hook: private keys and annotations never become Python objects."""
    return {k: v for k, v in pairs if k not in _DROPPED and not k.endswith(".key")}


class KubeReader:
    """`MeshReads` by plain GET/LIST requests (see the module docstring)."""

    def __init__(self, api: client.ApiClient, timeout: float) -> None:
        self._core = client.CoreV1Api(api)
        self._discovery = client.DiscoveryV1Api(api)
        self._timeout = timeout
        self.requests: Counter[str] = Counter()
        self.fatal: SourceFailure | None = None

    # -- plumbing --------------------------------------------------------------------------
    def _send(self, target: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
        """One request; its body. 404 raises NotFound, any other failure SourceFailure."""
        if self.fatal is not None:
            raise Skipped(target)
        try:
            resp = call(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
            try:
                body: bytes = resp.data
            finally:
                resp.release_conn()
        except ApiException as err:
            self.requests[str(err.status) if err.status else "error"] += 1
            if err.status == 404:
                raise NotFound(target) from None
            raise self._failed(SourceFailure(read_error(err, target))) from None
        except Exception as err:  # urllib3 / socket / SSL failures
            self.requests["error"] += 1
            raise self._failed(SourceFailure(read_error(err, target))) from None
        self.requests[str(resp.status)] += 1
        return body

    def _failed(self, fail: SourceFailure) -> SourceFailure:
        if fail.reason in FATAL_REASONS:
            self.fatal = fail
        return fail

    @staticmethod
    def _decode(body: bytes, target: str, hook: Callable[..., Json] | None = None) -> Json:
        try:
            doc = json.loads(body, object_pairs_hook=hook)
        except ValueError as err:
            raise SourceFailure(read_error(err, target)) from None
        if not isinstance(doc, dict):
            raise failure("bad_json", f"{target}: response is not a JSON object", target)
        return doc

    def _list(self, target: str, call: Callable[..., Any], *args: Any, **kwargs: Any) -> list[Json]:
        """Every item of a LIST, page by page (`limit` / `continue`)."""
        items: list[Json] = []
        token: str | None = None
        while True:
            page_args = dict(kwargs, limit=PAGE_SIZE)
            if token:
                page_args["_continue"] = token
            doc = self._decode(self._send(target, call, *args, **page_args), target)
            page = doc.get("items") or []
            if not isinstance(page, list):
                raise failure("bad_json", f"{target}: items is not a list", target)
            items.extend(i for i in page if isinstance(i, dict))
            token = (doc.get("metadata") or {}).get("continue") or None
            if not token:
                return items

    # -- MeshReads -------------------------------------------------------------------------
    def config_map(self, namespace: str, name: str) -> Mapping[str, str]:
        target = f"configmap {namespace}/{name}"
        doc = self._decode(
            self._send(target, self._core.read_namespaced_config_map, name, namespace), target
        )
        data = doc.get("data") or {}
        if not isinstance(data, dict):
            raise failure("bad_json", f"{target}: data is not a mapping", target)
        return {str(k): v for k, v in data.items() if isinstance(v, str)}

    def secret(self, namespace: str, name: str, keys: Sequence[str]) -> SecretView:
        target = f"secret {namespace}/{name}"
        body = self._send(target, self._core.read_namespaced_secret, name, namespace)
        doc = self._decode(body, target, _drop_private)
        del body
        data = doc.get("data") or {}
        if not isinstance(data, dict):
            raise failure("bad_json", f"{target}: data is not a mapping", target)
        out: dict[str, bytes] = {}
        for key in keys:
            value = data.get(key)
            if not isinstance(value, str):
                continue
            try:
                out[key] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise failure("bad_pem", f"{target}: {key} is not base64", target) from None
        return SecretView(str(doc.get("type") or ""), out)

    def service(self, namespace: str, name: str) -> Json:
        target = f"service {namespace}/{name}"
        return self._decode(
            self._send(target, self._core.read_namespaced_service, name, namespace), target
        )

    def endpoint_slices(self, namespace: str, service: str) -> list[Json]:
        target = f"endpointslices {namespace} (service {service})"
        try:
            return self._list(
                target,
                self._discovery.list_namespaced_endpoint_slice,
                namespace,
                label_selector=f"kubernetes.io/service-name={service}",
            )
        except NotFound:  # a namespace that does not exist lists as empty
            return []

    def pods(self, namespace: str, label_selector: str, field_selector: str) -> list[Json]:
        target = f"pods {namespace}"
        if label_selector:
            target += f" ({label_selector})"
        try:
            return self._list(
                target,
                self._core.list_namespaced_pod,
                namespace,
                label_selector=label_selector or None,
                field_selector=field_selector or None,
            )
        except NotFound:
            return []
