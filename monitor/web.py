"""The HTTP server: /metrics, /healthz, /readyz, /api/findings, /api/rotation and an index page.

Everything served is rendered once per cycle (`Published`) and swapped in whole;
a request only copies bytes from memory, so scrapes are cheap and never reach
BIG-IP or Kubernetes.
"""

from __future__ import annotations

import html
import json
import socket
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST

from monitor import __version__, metrics
from monitor.report import findings_document
from monitor.rotation_report import rotation_document
from monitor.state import Snapshot


@dataclass(frozen=True)
class Published:
    """What the server hands out until the next cycle replaces it."""

    snapshot: Snapshot | None
    metrics: bytes
    findings_json: bytes
    index_html: bytes
    rotation_json: bytes = b'{"boundaries": []}'

    @staticmethod
    def of(snapshot: Snapshot | None) -> Published:
        document: dict[str, Any] = findings_document(snapshot) if snapshot else {"findings": []}
        rotation: dict[str, Any] = rotation_document(snapshot) if snapshot else {"boundaries": []}
        return Published(
            snapshot=snapshot,
            metrics=metrics.render(snapshot),
            findings_json=json.dumps(document, indent=2).encode(),
            index_html=_index(snapshot).encode(),
            rotation_json=json.dumps(rotation, indent=2).encode(),
        )


def parse_listen(listen: str) -> tuple[str, int]:
    """`:9879`, `127.0.0.1:9879`, `[::1]:9879` → (host, port); empty host = all interfaces."""
    host, _, port = listen.rpartition(":")
    return host.strip("[]"), int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class WebServer:
    def __init__(self, listen: str) -> None:
        host, port = parse_listen(listen)
        server_cls: type[_Server] = _Server6 if ":" in host else _Server
        self._published = Published.of(None)
        self._lock = threading.Lock()
        self._httpd = server_cls((host, port), self._handler())
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

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
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        web = self

        class Handler(BaseHTTPRequestHandler):
            server_version = f"f5-linkerd-monitor/{__version__}"
            sys_version = ""
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                """Requests are not logged; the cycle log line is the daemon's voice."""

            def do_GET(self) -> None:
                published = web.current()
                path = self.path.split("?", 1)[0]
                if path == "/metrics":
                    self._send(200, published.metrics, CONTENT_TYPE_LATEST)
                elif path == "/healthz":
                    self._send(200, b"ok\n", "text/plain; charset=utf-8")
                elif path == "/readyz":
                    ready = published.snapshot is not None
                    body = b"ready\n" if ready else b"waiting for the first complete cycle\n"
                    self._send(200 if ready else 503, body, "text/plain; charset=utf-8")
                elif path == "/api/findings":
                    self._send(200, published.findings_json, "application/json")
                elif path == "/api/rotation":
                    self._send(200, published.rotation_json, "application/json")
                elif path == "/":
                    self._send(200, published.index_html, "text/html; charset=utf-8")
                else:
                    self._send(404, b"not found\n", "text/plain; charset=utf-8")

            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

        return Handler


def _index(snapshot: Snapshot | None) -> str:
    if snapshot is None:
        rows = "<p>Waiting for the first cycle.</p>"
    else:
        items = "".join(
            f"<li><b>{html.escape(t.finding.severity)}</b> "
            f"{html.escape(t.finding.check)} ({html.escape(t.finding.boundary)}): "
            f"{html.escape(t.finding.message)}"
            + (
                f" <i>(ignored: {html.escape(t.ignore.reason)})</i>"
                if t.ignore and t.ignored
                else ""
            )
            + "</li>"
            for t in snapshot.findings
        )
        rows = f"<ul>{items}</ul>" if items else "<p>No findings.</p>"
        phases = "".join(
            f"<li>{html.escape(p.boundary)}: <b>{html.escape(p.phase)}</b> "
            f"{html.escape(p.next_steps[0] if p.next_steps else '')}</li>"
            for p in snapshot.rotation
        )
        if phases:
            rows += f"<h2>Trust-anchor rotation</h2><ul>{phases}</ul>"
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>f5-linkerd-monitor</title>"
        "</head><body><h1>f5-linkerd-monitor</h1>"
        f"{rows}<p><a href='/metrics'>metrics</a> · <a href='/api/findings'>findings (JSON)</a>"
        " · <a href='/api/rotation'>rotation (JSON)</a></p></body></html>"
    )
