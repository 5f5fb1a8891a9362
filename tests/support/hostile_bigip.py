"""A hostile BIG-IP for tests: a TLS server on 127.0.0.1 that answers every request (the
login included) the way a broken or compromised management plane might.

Modes:
- `deep`: 200 with JSON nested 200,000 levels (`[[[…]]]`), Content-Length given;
- `drip`: 200 headers at once, then the body one byte a second, for as long as the client
  stays;
- `huge`: 200 with a 300 MB body, chunked (no Content-Length to refuse it by), sent as fast
  as the client reads.
Its certificate is a self-signed one for 127.0.0.1 (`monitor.simulate.httpserver`), its CA
written where the test wants it.
"""

from __future__ import annotations

import socket
import ssl
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from monitor.simulate.bigip.hostile import deep_json
from monitor.simulate.httpserver import server_tls_context, sim_server_identity

Mode = Literal["deep", "drip", "huge"]
HUGE = 300 * 1000 * 1000
CHUNK = 1024 * 1024


class HostileBigip:
    """One hostile device; `url` once started; `requests` counts the requests it met."""

    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.requests = 0
        self.bytes_sent = 0
        ca, leaf = sim_server_identity(datetime.now(UTC), f"hostile-{mode}")
        self.ca_pem = ca.pem
        self._tls = server_tls_context(leaf)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self.url = f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> HostileBigip:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self._listener.close()

    def write_ca(self, path: Path) -> Path:
        path.write_text(self.ca_pem)
        return path

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            with self._tls.wrap_socket(raw, server_side=True) as conn:
                while not self._stop.is_set() and self._read_request(conn):
                    with self._lock:
                        self.requests += 1
                    getattr(self, f"_{self.mode}")(conn)
        except (OSError, ssl.SSLError):
            return  # the client went away: what a hostile server expects

    @staticmethod
    def _read_request(conn: ssl.SSLSocket) -> bool:
        """Read one request (headers, and a Content-Length body); False at EOF."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return False
            body += chunk
        return True

    def _send(self, conn: ssl.SSLSocket, data: bytes) -> None:
        conn.sendall(data)
        with self._lock:
            self.bytes_sent += len(data)

    def _deep(self, conn: ssl.SSLSocket) -> None:
        body = deep_json()
        head = (
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        self._send(conn, head.encode() + body)

    def _drip(self, conn: ssl.SSLSocket) -> None:
        self._send(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",
        )
        for byte in b'{"token": {"token": "' + b"A" * 99_000:
            if self._stop.wait(1.0):
                return
            self._send(conn, bytes([byte]))

    def _huge(self, conn: ssl.SSLSocket) -> None:
        self._send(
            conn,
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n",
        )
        chunk = f"{CHUNK:x}\r\n".encode() + b" " * CHUNK + b"\r\n"
        for _ in range(HUGE // CHUNK):
            if self._stop.is_set():
                return
            self._send(conn, chunk)
        self._send(conn, b"0\r\n\r\n")
