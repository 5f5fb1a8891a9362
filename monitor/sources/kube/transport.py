"""The HTTP side of the watch layer: raw GETs through an `ApiClient`, failures as reason codes.

Owns `open_get` (one GET through the client's own connection pool, auth and TLS settings,
the body left unread so a LIST can be decoded with `json.loads` and a WATCH streamed),
`read_body` (a whole body, bounded in size and time), `lines` (a streaming body split into
newline-delimited JSON documents, each bounded), `problem` (an
error status, from the HTTP response or a watch `ERROR` event, as what the watch loop
does next: `Expired` → relist, `NotServed` → the kind is absent, anything else a
`SourceFailure` with a reason code), and `WatchSpec`'s path helpers.

Messages take only the apiserver's `Status.message` (or an HTML page's title); request
headers, tokens and response bodies are never part of them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from typing import Any

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from monitor.model import SourceError
from monitor.sources.errors import SourceFailure, body_text, clip, loads
from monitor.sources.kube.errors import read_error

MAX_LINE = 64 * 1024 * 1024  # bytes of one watch event; longer is a broken stream
MAX_BODY = 64 * 1024 * 1024  # default bytes of a LIST page or discovery answer
READ_SIZE = 64 * 1024


class Expired(Exception):
    """410 Gone: the resourceVersion is older than the apiserver's history; relist."""


class NotServed(Exception):
    """404 on a collection: the apiserver does not serve this resource kind."""


def open_get(
    api: client.ApiClient,
    path: str,
    query: Sequence[tuple[str, str]],
    timeout: float | tuple[float, float],
) -> Any:
    """The urllib3 response of `GET path?query`, headers read, body not yet read.

    Uses the client's auth settings (bearer token, refreshed by the client when it
    refreshes) and connection pool; raises what the client raises (ApiException with
    status 0 for TLS failures, urllib3 errors for transport failures).
    """
    method, url, headers, _, _ = api.param_serialize(
        "GET",
        path,
        query_params=list(query),
        header_params={"Accept": "application/json"},
        auth_settings=["BearerToken"],
    )
    rest = api.call_api(method, url, header_params=headers, _request_timeout=timeout)
    return rest.response


def _segments(resp: Any) -> Iterator[bytes]:
    """The body as it arrives: chunk by chunk, or whatever a plain body has ready."""
    if resp.chunked and resp.supports_chunked_reads():
        yield from resp.read_chunked(READ_SIZE, decode_content=True)
        return
    while segment := resp.read1(READ_SIZE):  # stream() would wait for READ_SIZE bytes
        yield segment


def read_body(resp: Any, target: str, limit: int, within: float) -> bytes:
    """The whole body of a LIST page or discovery answer: at most `limit` bytes
    (`response_too_large`, not parsed), read by `within` seconds from now however slowly
    it arrives (`timeout`; each read also has the request's own read timeout)."""
    deadline = time.monotonic() + within
    announced = resp.headers.get("content-length", "") if resp.headers else ""
    if announced.isascii() and announced.isdigit() and int(announced[:19]) > limit:
        raise SourceFailure(_too_large(target, limit))
    body = bytearray()
    for chunk in _segments(resp):
        body.extend(chunk)
        if len(body) > limit:
            raise SourceFailure(_too_large(target, limit))
        if time.monotonic() > deadline:
            message = f"{target}: timed out: the body took longer than {within:g}s"
            raise SourceFailure(SourceError("timeout", message, target))
    return bytes(body)


def _too_large(target: str, limit: int) -> SourceError:
    message = f"{target}: the response is larger than the limit of {limit} bytes; not read"
    return SourceError("response_too_large", message, target)


def lines(resp: Any, target: str, limit: int = MAX_LINE) -> Iterator[bytes]:
    """The non-empty lines of a streaming body, as they arrive, each at most `limit`."""
    buffer = bytearray()
    for chunk in _segments(resp):
        buffer.extend(chunk)
        start = 0
        while (end := buffer.find(b"\n", start)) >= 0:
            if end > start:
                yield bytes(buffer[start:end])
            start = end + 1
        del buffer[:start]
        if len(buffer) > limit:
            message = f"{target}: a watch event is longer than {limit} bytes"
            raise SourceFailure(SourceError("protocol_error", message, target))
    if buffer.strip():
        yield bytes(buffer)


def decode(raw: bytes, target: str) -> dict[str, Any]:
    """A JSON object; `bad_json` otherwise (the message never quotes the text)."""
    try:
        doc = loads(raw)
    except ValueError as err:  # "nested too deeply" too: a hostile body
        raise SourceFailure(read_error(err, target)) from None
    if not isinstance(doc, dict):
        raise SourceFailure(SourceError("bad_json", f"{target}: not a JSON object", target))
    return doc


def problem(status: int, raw: bytes, reason: str, target: str, rbac: str) -> Exception:
    """What an error status means for the watch loop (raise the result)."""
    if status == 410:
        return Expired()
    if status == 404:
        return NotServed()
    if status == 403:
        message = f"{target}: forbidden: {body_text(raw)}; the monitor needs {rbac}"
        return SourceFailure(SourceError("http_403", message, target))
    err = ApiException(status=status, reason=reason, body=raw.decode("utf-8", errors="replace"))
    return SourceFailure(read_error(err, target))


def status_event(obj: Any, target: str, rbac: str) -> Exception:
    """A watch `ERROR` event's Status object as `problem` sees it."""
    if not isinstance(obj, dict):
        return SourceFailure(SourceError("bad_json", f"{target}: ERROR event without a Status",
                                         target))  # fmt: skip
    try:
        code = int(obj.get("code") or 0)
    except (TypeError, ValueError, OverflowError):  # OverflowError: a code of 1e400
        code = 0
    message = obj.get("message")
    raw = json.dumps({"message": clip(message) if isinstance(message, str) else ""}).encode()
    if code < 400:
        text = f"{target}: watch ERROR event without an error code"
        return SourceFailure(SourceError("protocol_error", text, target))
    return problem(code, raw, str(obj.get("reason") or ""), target, rbac)


def split_path(api_path: str) -> tuple[str, str, str | None, str]:
    """(group, version, namespace or None, plural) of a collection path; ValueError else."""
    parts = api_path.strip("/").split("/")
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        raise ValueError(f"not a Kubernetes collection path: {api_path!r}")
    if len(rest) == 3 and rest[0] == "namespaces":
        namespace, plural = rest[1], rest[2]
    elif len(rest) == 1:
        namespace, plural = None, rest[0]
    else:
        raise ValueError(f"not a Kubernetes collection path: {api_path!r}")
    if not all((version, plural, namespace is None or namespace)):
        raise ValueError(f"not a Kubernetes collection path: {api_path!r}")
    return group, version, namespace, plural


def collection_path(plural: str, namespace: str | None, group: str, version: str) -> str:
    base = f"/apis/{group}/{version}" if group else f"/api/{version}"
    return f"{base}/namespaces/{namespace}/{plural}" if namespace else f"{base}/{plural}"


def selected_name(field_selector: str) -> str | None:
    """The name a `metadata.name=x` term of a field selector pins, if any."""
    for term in field_selector.split(","):
        key, sep, value = term.partition("==") if "==" in term else term.partition("=")
        if sep and key.strip() == "metadata.name":  # "metadata.name!=x" keeps a "!"
            return value.strip()
    return None


def rbac_hint(api_path: str, field_selector: str) -> str:
    """The read-only grant a LIST + WATCH of the collection needs, for a 403 message."""
    group, _, namespace, plural = split_path(api_path)
    resource = f"{plural}.{group}" if group else plural
    text = f'"list" and "watch" on {resource}'
    name = selected_name(field_selector)
    if name:
        text += f" (resourceNames: {name})"
    return text + (f" in namespace {namespace}" if namespace else " cluster-wide")
