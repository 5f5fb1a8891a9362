"""The HTTP(S) plumbing shared by the simulated BIG-IP and the simulated Kubernetes API.

A threaded stdlib server bound to 127.0.0.1 on an ephemeral port, with TLS whose
handshake runs in the connection's own thread (a stuck client never blocks the
accept loop), plus the few raw-socket tricks that fault injection needs:
an abrupt TCP reset and a truncated body.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import tempfile
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from monitor.simulate.certgen import CertSpec, GeneratedCert, generate_all


def sim_server_identity(now: datetime, seed: str) -> tuple[GeneratedCert, GeneratedCert]:
    """(CA, server certificate) for the simulated APIs: valid for localhost and 127.0.0.1."""
    specs = {
        "sim-ca": CertSpec(
            "sim-ca", "f5-linkerd-monitor simulation CA", ca=True, not_after="+3650d"
        ),
        "sim-server": CertSpec(
            "sim-server",
            "localhost",
            sans=("localhost", "IP:127.0.0.1"),
            signer="sim-ca",
            not_after="+3650d",
            eku=("serverAuth",),
        ),
    }
    made = generate_all(specs, now, f"{seed}/sim-tls")
    return made["sim-ca"], made["sim-server"]


def server_tls_context(
    leaf: GeneratedCert, chain: tuple[GeneratedCert, ...] = ()
) -> ssl.SSLContext:
    """A server-side context presenting `leaf` (and its chain) with its key."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # load_cert_chain only reads files; the key never leaves a private temp dir.
    with tempfile.TemporaryDirectory(prefix="f5lm-tls-") as tmp:
        cert_path = Path(tmp) / "cert.pem"
        key_path = Path(tmp) / "key.pem"
        cert_path.write_text(leaf.pem + "".join(c.pem for c in chain))
        key_path.touch(mode=0o600)
        key_path.write_text(leaf.key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


class SimServer:
    """One listening server; `handler` is a BaseHTTPRequestHandler subclass."""

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        tls: ssl.SSLContext | None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._httpd = _Server((host, port), handler)
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(
                self._httpd.socket, server_side=True, do_handshake_on_connect=False
            )
        self._tls = tls is not None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        scheme = "https" if self._tls else "http"
        return f"{scheme}://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=f"sim-server-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class SimHandler(BaseHTTPRequestHandler):
    """Common helpers for the simulated APIs' request handlers."""

    protocol_version = "HTTP/1.1"
    server_version = "sim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the simulation's request log is kept by the simulators themselves."""

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without NODELAY every keep-alive
        # request would wait ~40 ms for a delayed ACK, which real servers do not
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)
            try:
                self.connection.do_handshake()
            except (OSError, ssl.SSLError):
                self.close_connection = True
                raise

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def send_bytes(
        self,
        status: int,
        body: bytes,
        content_type: str = "application/json; charset=UTF-8",
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        """Send a complete response, or with `truncate` only half of the body, then close."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if truncate else body)
        if truncate:
            self.wfile.flush()
            self.close_connection = True

    def send_head(
        self,
        status: int,
        length: int,
        content_type: str = "application/json; charset=UTF-8",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Status line and headers only, flushed: the body follows with `write_now`."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.flush()

    def write_now(self, data: bytes) -> None:
        """Part of a body, flushed at once (OSError when the client has gone)."""
        self.wfile.write(data)
        self.wfile.flush()

    def send_json(
        self,
        status: int,
        payload: Any,
        headers: dict[str, str] | None = None,
        truncate: bool = False,
    ) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), headers=headers, truncate=truncate)

    def reset_connection(self) -> None:
        """Drop the connection with a TCP RST, as a crashed or overloaded peer does."""
        sock = self.connection
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            sock.close()
