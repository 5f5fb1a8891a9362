"""The HTTP server: `/` (status page), `/metrics`, `/api/findings`, `/api/rotation`,
`/healthz`, `/readyz`.

Everything served is rendered once per cycle (`Published`) and swapped in whole; a request
only copies bytes from memory, so scrapes are cheap and never reach BIG-IP or Kubernetes.

`/readyz` answers 200 once the first cycle has produced a snapshot, whether or not every
source was up: a source that is down is what the monitor reports (on the page, in
`f5_linkerd_source_up`), not a reason to hide it. Before that it answers 503. A follower
(leader election) is ready at once: it serves its own metrics and never has a snapshot.

Security (`server.webConfig`, `monitor.webconfig`) applies to every endpoint, probes
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

import base64
import binascii
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import socket
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Final

import bcrypt
from cryptography import x509
from prometheus_client import CONTENT_TYPE_LATEST

from monitor import __version__, metrics
from monitor.page import render_page
from monitor.report import findings_document
from monitor.rotation_report import rotation_document
from monitor.state import Snapshot
from monitor.webconfig import WebConfig, WebConfigError, load_web_config

log = logging.getLogger("f5_linkerd_monitor")

TEXT: Final = "text/plain; charset=utf-8"
HANDSHAKE_TIMEOUT: Final = 10.0  # seconds a client has to finish the TLS handshake
IDLE_TIMEOUT: Final = 30.0  # seconds a kept-alive connection may sit idle
RELOAD_CHECK: Final = 1.0  # seconds between checks of the web config files for changes
# Served with every response unless the web config sets the same header.
DEFAULT_HEADERS: Final = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"))
# The page has inline CSS and nothing else: no scripts, no external assets.
PAGE_POLICY: Final = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none';"
    " form-action 'none'; frame-ancestors 'none'"
)
UNAUTHORIZED: Final = 'Basic realm="f5-linkerd-monitor", charset="UTF-8"'


@dataclass(frozen=True)
class Published:
    """What the server hands out until the next cycle replaces it."""

    snapshot: Snapshot | None
    metrics: bytes
    findings_json: bytes
    index_html: bytes
    rotation_json: bytes = b'{"boundaries": []}'
    ready: bool = False  # `/readyz`: a snapshot, or a follower (which never has one)

    @staticmethod
    def follower(metrics_text: bytes, holder: str) -> Published:
        """A follower's view: no snapshot, its own metrics, and ready."""
        return replace(
            Published.of(None),
            metrics=metrics_text,
            index_html=render_page(None, follower_of=holder),
            ready=True,
        )

    @staticmethod
    def of(snapshot: Snapshot | None) -> Published:
        document: dict[str, Any] = findings_document(snapshot) if snapshot else {"findings": []}
        rotation: dict[str, Any] = rotation_document(snapshot) if snapshot else {"boundaries": []}
        return Published(
            snapshot=snapshot,
            metrics=metrics.render(snapshot),
            findings_json=json.dumps(document, indent=2).encode(),
            index_html=render_page(snapshot),
            rotation_json=json.dumps(rotation, indent=2).encode(),
            ready=snapshot is not None,
        )


def parse_listen(listen: str) -> tuple[str, int]:
    """`:9879`, `127.0.0.1:9879`, `[::1]:9879` → (host, port); empty host = all interfaces."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class Security:
    """The web config in force and its TLS context, reloaded when its files change."""

    def __init__(self, config: WebConfig) -> None:
        self._config = config
        self._context = config.tls.context() if config.tls is not None else None
        self._lock = threading.Lock()
        self._stamp = _stamp(config)
        self._checked = time.monotonic()
        self.auth = Authenticator()
        self.tls = config.tls is not None

    def current(self) -> tuple[WebConfig, ssl.SSLContext | None]:
        with self._lock:
            if time.monotonic() - self._checked >= RELOAD_CHECK:
                self._checked = time.monotonic()
                self._reload()
            return self._config, self._context

    def _reload(self) -> None:
        path = self._config.path
        stamp = _stamp(self._config)
        if path is None or stamp == self._stamp:
            return
        self._stamp = stamp  # a broken file is reported once, until it changes again
        try:
            config = load_web_config(path)
            if (config.tls is not None) != self.tls:
                raise WebConfigError("tls_server_config", "turning TLS on or off needs a restart")
            context = config.tls.context() if config.tls is not None else None
        except WebConfigError as err:
            log.warning("web config not reloaded, the previous one stays in force: %s", err)
            return
        self._config, self._context = config, context
        self._stamp = _stamp(config)
        log.info("web config %s reloaded: %s", path, config.summary())
        for warning in config.warnings:
            log.warning("web config %s: %s", path, warning)


def _stamp(config: WebConfig) -> tuple[tuple[str, int, int, int], ...]:
    """What identifies the files' contents cheaply: path, inode, size, mtime (ns)."""
    stamps = []
    for path in config.files():
        try:
            st = path.stat()
            stamps.append((str(path), st.st_ino, st.st_size, st.st_mtime_ns))
        except OSError:
            stamps.append((str(path), -1, -1, -1))
    return tuple(stamps)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
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

    def __init__(self, listen: str, web_config: WebConfig | Path | None = None) -> None:
        if isinstance(web_config, Path):
            web_config = load_web_config(web_config)
        config = web_config if web_config is not None else WebConfig()
        self._security = Security(config)
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

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are not logged; the cycle log line is the daemon's voice."""

            def do_GET(self) -> None:
                self._serve(head=False)

            def do_HEAD(self) -> None:
                self._serve(head=True)

            def _serve(self, head: bool) -> None:
                config, _ = web._security.current()
                headers = dict(DEFAULT_HEADERS)
                if not web._security.auth.check(config.users, self.headers.get("Authorization")):
                    headers["WWW-Authenticate"] = UNAUTHORIZED
                    answer = (401, b"unauthorized\n", TEXT)
                else:
                    answer = _route(self.path.split("?", 1)[0], web.current())
                if answer[2].startswith("text/html"):
                    headers["Content-Security-Policy"] = PAGE_POLICY
                headers.update(config.headers)
                self._send(*answer, headers=headers, head=head)

            def _send(
                self,
                status: int,
                body: bytes,
                content_type: str,
                headers: dict[str, str],
                head: bool,
            ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                if not head:
                    self.wfile.write(body)

        return Handler


def _route(path: str, published: Published) -> tuple[int, bytes, str]:
    """(status, body, content type) for a GET of `path`."""
    if path == "/metrics":
        return 200, published.metrics, CONTENT_TYPE_LATEST
    if path == "/healthz":
        return 200, b"ok\n", TEXT
    if path == "/readyz":
        if not published.ready:
            return 503, b"waiting for the first complete cycle\n", TEXT
        return 200, b"ready\n", TEXT
    if path == "/api/findings":
        return 200, published.findings_json, "application/json"
    if path == "/api/rotation":
        return 200, published.rotation_json, "application/json"
    if path == "/":
        return 200, published.index_html, "text/html; charset=utf-8"
    return 404, b"not found\n", TEXT


def peer_allowed(der: bytes | None, allowed: tuple[str, ...]) -> bool:
    """True when `allowed` is empty or the client certificate has one of these SANs exactly
    (DNS, IP address, e-mail or URI, as the toolkit's `client_allowed_sans`)."""
    if not allowed:
        return True
    if der is None:
        return False
    try:
        sans = x509.load_der_x509_certificate(der).extensions.get_extension_for_class(
            x509.SubjectAlternativeName
        )
    except (ValueError, x509.ExtensionNotFound):
        return False
    names: list[str] = []
    names += sans.value.get_values_for_type(x509.DNSName)
    names += sans.value.get_values_for_type(x509.RFC822Name)
    names += sans.value.get_values_for_type(x509.UniformResourceIdentifier)
    names += [str(ip) for ip in sans.value.get_values_for_type(x509.IPAddress)]
    return any(_same_name(name, wanted) for name in names for wanted in allowed)


def _same_name(name: str, wanted: str) -> bool:
    try:
        return ipaddress.ip_address(name) == ipaddress.ip_address(wanted)
    except ValueError:
        return name == wanted


# bcrypt (cost 10) of a random password nobody knows: unknown users cost as much as known ones.
_NO_USER_HASH: Final = b"$2b$10$UIc8G9aHJv0voUceEXKlUOiGX6WNejWwCv3AExNLVAAMiOrkr.75G"


class Authenticator:
    """Checks `Authorization: Basic` against bcrypt hashes.

    bcrypt is slow on purpose (about 70 ms at cost 10), so results are cached, both ways,
    under an HMAC (keyed per process) of user, hash and password: a scrape with the same
    credentials costs one HMAC. A changed hash in the file misses the cache. bcrypt runs one
    at a time, so a flood of wrong passwords costs one core at most. Unknown users are
    checked against a fixed hash, so their answer takes as long as a wrong password.
    """

    def __init__(self, max_entries: int = 256) -> None:
        self._key = secrets.token_bytes(32)
        self._max = max_entries
        self._cache: OrderedDict[bytes, bool] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._bcrypt_lock = threading.Lock()

    def check(self, users: Mapping[str, bytes], authorization: str | None) -> bool:
        """True when no users are configured, or the header names a user and their password."""
        if not users:
            return True
        credentials = _basic_credentials(authorization)
        if credentials is None:
            return False
        user, password = credentials
        stored = users.get(user)
        hashed = stored if stored is not None else _NO_USER_HASH
        mac = hmac.new(self._key, digestmod=hashlib.sha256)
        for part in (user.encode(), hashed, password):
            mac.update(len(part).to_bytes(4, "big") + part)
        key = mac.digest()
        with self._cache_lock:
            known = self._cache.get(key)
            if known is not None:
                self._cache.move_to_end(key)
        if known is None:
            with self._bcrypt_lock:
                try:
                    known = bcrypt.checkpw(password, hashed)
                except ValueError:  # e.g. a password bcrypt refuses
                    known = False
            with self._cache_lock:
                self._cache[key] = known
                while len(self._cache) > self._max:
                    self._cache.popitem(last=False)
        return known and stored is not None


def _basic_credentials(header: str | None) -> tuple[str, bytes] | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, colon, password = raw.partition(b":")
    if not colon:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None
