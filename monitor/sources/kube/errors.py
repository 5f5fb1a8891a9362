"""How a failed Kubernetes API read becomes a reason code and a message a person can read.

Owns the mapping from the `kubernetes` client's `ApiException`, urllib3's transport
exceptions, client-construction failures (`ConfigException`, unreadable kubeconfig files)
and undecodable bodies to the fixed reason codes of `monitor.model.REASONS` (DESIGN
section 2). Failures travel as `monitor.sources.errors.SourceFailure`. Pure: no I/O,
no logging.

Messages name the object (`configmap linkerd/linkerd-identity-trust-roots: ...`) and take
only the apiserver's `Status.message` from error bodies; they never include request
headers, tokens, kubeconfig contents or Secret data (`str(ApiException)` would include
headers and the body, so it is never used).
"""

from __future__ import annotations

import ssl
from pathlib import Path

import urllib3.exceptions as u3
import yaml
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from monitor.config.kubeconfig import UnusableFile
from monitor.model import SourceError
from monitor.sources.errors import body_text, causes, clip, status_reason

# Reasons after which every further request of the poll would fail the same way.
FATAL_REASONS = frozenset({"http_401", "tls_error", "connect_error", "timeout"})


def _body_text(body: object) -> str:
    """The apiserver's `Status.message`, or what kind of body it was."""
    if isinstance(body, str):
        body = body.encode("utf-8", errors="replace")
    return body_text(body) if isinstance(body, bytes) else "empty body"


def api_error(err: ApiException, target: str) -> SourceError:
    """An `ApiException`: an HTTP error status, or (status 0) the client's own failure."""
    status = int(err.status or 0)
    if status == 0:
        reason_text = str(err.reason or "")
        if reason_text.startswith("SSLError"):
            detail = reason_text.partition("\n")[2] or reason_text
            return SourceError("tls_error", f"{target}: TLS failure: {clip(detail)}", target)
        return SourceError("protocol_error", f"{target}: {clip(reason_text)}", target)
    reason = status_reason(status)
    return SourceError(reason, f"{target}: HTTP {status}: {_body_text(err.body)}", target)


def transport_reason(err: BaseException) -> str:
    """The reason code of a failure without an HTTP response (urllib3, sockets, SSL)."""
    for e in causes(err):
        if isinstance(e, ssl.SSLError | u3.SSLError):
            return "tls_error"
    for e in causes(err):
        # NewConnectionError subclasses ConnectTimeoutError in urllib3 2: test it first.
        if isinstance(e, u3.NewConnectionError | ConnectionRefusedError | u3.LocationParseError):
            return "connect_error"
        if isinstance(e, u3.TimeoutError | TimeoutError):
            return "timeout"
        if isinstance(e, u3.ProtocolError | u3.IncompleteRead | ConnectionError):
            return "protocol_error"
    if isinstance(err, u3.MaxRetryError):
        return "connect_error"
    return "protocol_error"


def transport_error(err: BaseException, target: str) -> SourceError:
    words = {
        "tls_error": "TLS failure",
        "connect_error": "cannot connect",
        "timeout": "timed out",
        "protocol_error": "connection failed",
    }
    reason = transport_reason(err)
    detail = clip(str(err)) or type(err).__name__
    return SourceError(reason, f"{target}: {words[reason]}: {detail}", target)


def read_error(err: BaseException, target: str) -> SourceError:
    """Any failure of one request: HTTP status, transport, or an undecodable body."""
    if isinstance(err, ApiException):
        return api_error(err, target)
    if isinstance(err, ValueError) and not isinstance(err, u3.HTTPError):
        # json.JSONDecodeError / UnicodeDecodeError; their text holds positions, not content
        return SourceError("bad_json", f"{target}: response is not JSON ({clip(str(err))})", target)
    return transport_error(err, target)


def client_error(err: BaseException, kubeconfig: Path | None, context: str | None) -> SourceError:
    """Why the API client could not be built; names the file, never echoes its content."""
    if kubeconfig is None:
        target = "in-cluster config"
        text = clip(str(err)) or type(err).__name__
        if isinstance(err, ConfigException) and "host/port" in str(err):
            # KUBERNETES_SERVICE_HOST/PORT unset: not running in a pod, nowhere to connect
            return SourceError("connect_error", f"{target}: {text}", target)
        return SourceError("credentials_unreadable", f"{target}: {text}", target)
    target = f"kubeconfig {kubeconfig}"
    if isinstance(err, UnusableFile):
        text = str(err)  # the entry and the path it names, why it cannot be read
    elif isinstance(err, FileNotFoundError):
        text = "file not found"
    elif isinstance(err, OSError):
        text = f"cannot read the file: {err.strerror or type(err).__name__}"
    elif isinstance(err, yaml.YAMLError):
        mark = getattr(err, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        text = f"not valid YAML{where}"  # YAML errors quote the file: never echo them
    elif isinstance(err, ConfigException):
        text = clip(str(err))
    else:
        text = f"cannot load it ({type(err).__name__})"
    if context:
        text += f" (context {context})"
    return SourceError("credentials_unreadable", f"{target}: {text}", target)
