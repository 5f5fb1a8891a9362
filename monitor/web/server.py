"""The HTTP server: `/` (status page), `/metrics`, `/api/findings`, `/api/rotation`,
`/healthz`, `/readyz`.

Everything served is rendered once per cycle (`Published`) and swapped in whole; a request
only copies bytes from memory, so scrapes are cheap and never reach BIG-IP or Kubernetes.
`/metrics`, `/`, `/api/findings` and `/api/rotation` go out gzipped (a copy made once per
cycle) to clients whose `Accept-Encoding` allows it, as Prometheus' always does.

`/healthz` (liveness) answers 200 `ok` unless `WebServer.liveness`, asked at each request,
gives a reason: then 503 with that one line (the daemon's: a replica that should poll has
completed no cycle for a while, or a follower's election loop is stuck), so that
Kubernetes restarts it.

`/readyz` answers 200 once the first cycle has produced a snapshot, whether or not every
source was up: a source that is down is what the monitor reports (on the page, in
`f5_linkerd_source_up`), not a reason to hide it. Before that it answers 503. A follower
(leader election) is ready at once: it serves its own metrics and never has a snapshot.

Security (`server.webConfig`: read by `monitor.web.config`, enforced with
`monitor.web.security`) applies to every endpoint, probes
included: each connection is wrapped in TLS with the context in force when it is accepted
(the handshake runs on the connection's own thread), client certificates are verified by
OpenSSL and their SANs matched to `client_allowed_sans`, and every request needs basic
auth when users are configured (401 with `WWW-Authenticate: Basic`). The file and the files
it names are checked for changes at most once a second; a changed certificate, key, CA or
user list applies to new connections and requests without a restart (turning TLS on or off
does need one). A reload that fails keeps the previous settings and logs a warning.
Credentials are never logged.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

from prometheus_client import CONTENT_TYPE_LATEST

from monitor import __version__
from monitor.render import exposition
from monitor.render.findings import findings_json
from monitor.render.page import page_document
from monitor.render.parts import Document
from monitor.render.rotation import rotation_document
from monitor.state.snapshot import Snapshot
from monitor.web.config import WebConfig, load_web_config
from monitor.web.security import RELOAD_CHECK, Security, peer_allowed

log = logging.getLogger(__name__)

TEXT: Final = "text/plain; charset=utf-8"
HANDSHAKE_TIMEOUT: Final = 10.0  # seconds a client has to finish the TLS handshake
IDLE_TIMEOUT: Final = 30.0  # seconds a kept-alive connection may sit idle
# Served with every response unless the web config sets the same header.
DEFAULT_HEADERS: Final = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
# The page has inline CSS and nothing else: no scripts, no external assets.
PAGE_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
UNAUTHORIZED: Final = 'Basic realm="f5-linkerd-monitor", charset="UTF-8"'


_NO_FINDINGS: Final = Document.plain(json.dumps({"findings": []}, indent=2).encode())
_NO_PLANS: Final = Document.plain(json.dumps({"boundaries": []}, indent=2).encode())


@dataclass(frozen=True)
class Published:
    """What the server hands out until the next cycle replaces it: each document's bytes
    and their gzip copy, both made once (`monitor.render.parts`)."""

    snapshot: Snapshot | None
    metrics_doc: Document
    findings_doc: Document
    page_doc: Document
    rotation_doc: Document = _NO_PLANS
    ready: bool = False  # `/readyz`: a snapshot, or a follower (which never has one)

    @property
    def metrics(self) -> bytes:
        return self.metrics_doc.text

    @property
    def findings_json(self) -> bytes:
        return self.findings_doc.text

    @property
    def index_html(self) -> bytes:
        return self.page_doc.text

    @property
    def rotation_json(self) -> bytes:
        return self.rotation_doc.text

    @staticmethod
    def follower(metrics: Document, holder: str) -> Published:
        """A follower's view: no snapshot, its own metrics, and ready."""
        page = page_document(None, follower_of=holder)
        return replace(Published.of(None, metrics, page), ready=True)

    @staticmethod
    def of(
        snapshot: Snapshot | None, metrics: Document | None = None, page: Document | None = None
    ) -> Published:
        """The documents of `snapshot` (`metrics`, `page`: instead of the snapshot's
        exposition and page), gzip copies included."""
        published = Published(
            snapshot=snapshot,
            metrics_doc=metrics or exposition.document(snapshot),
            findings_doc=findings_json(snapshot) if snapshot else _NO_FINDINGS,
            page_doc=page or page_document(snapshot),
            rotation_doc=(
                Document.plain(json.dumps(rotation_document(snapshot), indent=2).encode())
                if snapshot
                else _NO_PLANS
            ),
            ready=snapshot is not None,
        )
        for document in published.documents():
            document.gzip()  # made here, in the cycle, never while a client waits
        return published

    def documents(self) -> tuple[Document, ...]:
        return (self.metrics_doc, self.findings_doc, self.page_doc, self.rotation_doc)


def parse_listen(listen: str) -> tuple[str, int]:
    """`:9879`, `127.0.0.1:9879`, `[::1]:9879` → (host, port); empty host = all interfaces."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # connections waiting to be accepted (default 5)
    security: Security

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        _, context = self.security.current()
        if context is None:
            return sock, address
        return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket) and not _handshake(request, self.security):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("request from %s failed", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handshake(conn: ssl.SSLSocket, security: Security) -> bool:
    """Finish the TLS handshake on the connection's own thread; False drops the connection."""
    conn.settimeout(HANDSHAKE_TIMEOUT)
    try:
        conn.do_handshake()
    except (ssl.SSLError, OSError) as err:
        log.debug("TLS handshake failed: %s", err)
        return False
    config, _ = security.current()
    allowed = config.tls.client_allowed_sans if config.tls is not None else ()
    if not peer_allowed(conn.getpeercert(binary_form=True), allowed):
        log.debug("client certificate has none of client_allowed_sans; connection closed")
        return False
    return True


class WebServer:
    """Serves what `publish` last handed it; `web_config`: a WebConfig, the path of a web
    config file (loaded here; WebConfigError when it is wrong), or None for plain HTTP
    without auth."""

    def __init__(
        self,
        listen: str,
        web_config: WebConfig | Path | None = None,
        *,
        reload_check: float = RELOAD_CHECK,
    ) -> None:
        if isinstance(web_config, Path):
            web_config = load_web_config(web_config)
        config = web_config if web_config is not None else WebConfig()
        self._security = Security(config, reload_check)
        for warning in config.warnings:
            log.warning("web config %s: %s", config.path, warning)
        if config.path is not None:
            log.info("web config %s: %s", config.path, config.summary())
        host, port = parse_listen(listen)
        server_cls: type[_Server] = _Server6 if ":" in host else _Server
        self._published = Published.of(None)
        self._lock = threading.Lock()
        self._httpd = server_cls((host, port), self._handler(), bind_and_activate=False)
        self._httpd.security = self._security
        try:
            self._httpd.server_bind()
            self._httpd.server_activate()
        except OSError:
            self._httpd.server_close()
            raise
        self._thread: threading.Thread | None = None
        # why the process should be restarted (`/healthz` 503), or None; must not block
        self.liveness: Callable[[], str | None] = lambda: None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def scheme(self) -> str:
        return "https" if self._security.tls else "http"

    def publish(self, published: Published) -> None:
        with self._lock:
            self._published = published

    def current(self) -> Published:
        with self._lock:
            return self._published

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="web", kwargs={"poll_interval": 0.2}
        )
        self._thread.daemon = True
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:  # shutdown() waits for serve_forever: only if it runs
            self._httpd.shutdown()
            self._thread.join(timeout=5)
        self._httpd.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = f"f5-linkerd-monitor/{__version__}"
            sys_version = ""
            protocol_version = "HTTP/1.1"
            timeout = IDLE_TIMEOUT
            # the headers and the body are two writes: never hold the body's last segment
            # back until the headers are acknowledged (Nagle and delayed ACKs)
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are not logged; the cycle log line is the daemon's voice."""

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def _serve(self, head: bool) -> None:
                config, _ = web._security.current()
                headers = dict(DEFAULT_HEADERS)
                answer: tuple[int, bytes | Document, str]
                if not web._security.auth.check(config.users, self.headers.get("Authorization")):
                    headers["WWW-Authenticate"] = UNAUTHORIZED
                    answer = (401, b"unauthorized\n", TEXT)
                else:
                    answer = _route(self.path.split("?", 1)[0], web.current(), web.liveness)
                status, served, content_type = answer
                if content_type.startswith("text/html"):
                    headers["Content-Security-Policy"] = PAGE_POLICY
                body: tuple[bytes, ...] = (served,) if isinstance(served, bytes) else ()
                if isinstance(served, Document):
                    headers["Vary"] = "Accept-Encoding"
                    if accepts_gzip(self.headers.get_all("Accept-Encoding") or ()):
                        body = (served.gzip(),)
                        headers["Content-Encoding"] = "gzip"
                    else:
                        body = served.chunks()
                headers.update(config.headers)
                self._send(status, body, content_type, headers=headers, head=head)

            def _send(
                self,
                status: int,
                body: tuple[bytes, ...],
                content_type: str,
                headers: dict[str, str],
                head: bool,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(sum(len(chunk) for chunk in body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not head:
                    for chunk in body:
                        self.wfile.write(chunk)

        return Handler


def accepts_gzip(fields: Iterable[str]) -> bool:
    """Whether `Accept-Encoding` (each of its header fields) accepts gzip (RFC 9110 12.5.3:
    `gzip` or `x-gzip`, else `*`, with a q-value above 0)."""
    weights: dict[str, float] = {}
    for field in fields:
        for entry in field.split(","):
            name, *params = (p.strip() for p in entry.split(";"))
            weight = 1.0
            for param in params:
                key, _, value = param.partition("=")
                if key.strip().lower() == "q":
                    try:
                        weight = float(value)
                    except ValueError:
                        weight = 0.0
            if name:
                weights[name.lower()] = weight
    for name in ("gzip", "x-gzip", "*"):
        if name in weights:
            return weights[name] > 0
    return False


def _route(
    path: str, published: Published, liveness: Callable[[], str | None]
) -> tuple[int, bytes | Document, str]:
    """(status, body, content type) for a GET of `path`; a `Document` is served gzipped to
    clients that accept it."""
    if path == "/metrics":
        return 200, published.metrics_doc, CONTENT_TYPE_LATEST
    if path == "/healthz":
        stuck = liveness()
        if stuck is not None:
            return 503, " ".join(stuck.split()).encode() + b"\n", TEXT
        return 200, b"ok\n", TEXT
    if path == "/readyz":
        if not published.ready:
            return 503, b"waiting for the first complete cycle\n", TEXT
        return 200, b"ready\n", TEXT
    if path == "/api/findings":
        return 200, published.findings_doc, "application/json"
    if path == "/api/rotation":
        return 200, published.rotation_doc, "application/json"
    if path == "/":
        return 200, published.page_doc, "text/html; charset=utf-8"
    return 404, b"not found\n", TEXT
