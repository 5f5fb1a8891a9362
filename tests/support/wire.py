"""A TCP relay in front of a simulated server, to break the network between it and the monitor.

`Wire(port)` listens on its own 127.0.0.1 port and relays every connection to `port`; a test
points the monitor at the wire and switches its mode:
- `pass`: bytes relayed both ways;
- `refuse`: the listening socket is closed and live connections are cut, so a connect gets
  ECONNREFUSED, as from a device that is down; back to `pass`, the same port listens again;
- `foreign`: every new connection is answered by a TLS server with a certificate of a CA the
  monitor does not know, as after a device's management certificate was replaced.
Leaving `pass` cuts the live connections, as the restart or outage behind it would.
"""

from __future__ import annotations

import contextlib
import select
import socket
import ssl
import threading

from monitor.simulate.httpserver import server_tls_context, sim_server_identity
from tests.support.sim_bigip import NOW


class Wire:
    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._mode = "pass"
        self._stopped = threading.Event()
        _, leaf = sim_server_identity(NOW, "a-foreign-ca")
        self._foreign = server_tls_context(leaf)
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._thread = threading.Thread(target=self._accept, name="wire", daemon=True)
        self._thread.start()

    def _listen(self, port: int) -> socket.socket:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(64)
        sock.settimeout(0.1)
        return sock

    def set_mode(self, mode: str) -> None:
        with self._lock:
            was, self._mode = self._mode, mode
            if mode != "pass":  # a restart or an outage: live connections end
                self._cut_locked()
            if mode == "refuse" and was != "refuse":
                self._listener.close()
            elif was == "refuse" and mode != "refuse":
                self._listener = self._listen(self.port)

    def cut(self) -> None:
        """End the live connections (the next request connects again)."""
        with self._lock:
            self._cut_locked()

    def _cut_locked(self) -> None:
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._conns.clear()

    def stop(self) -> None:
        self._stopped.set()
        self.set_mode("refuse")
        self._thread.join(timeout=2)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            with self._lock:
                listener, mode = self._listener, self._mode
            if mode == "refuse":
                self._stopped.wait(0.05)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            handler = self._answer_foreign if self._mode == "foreign" else self._relay
            threading.Thread(target=handler, args=(client,), daemon=True).start()

    def _answer_foreign(self, client: socket.socket) -> None:
        client.settimeout(5)
        with contextlib.suppress(OSError, ssl.SSLError):
            tls = self._foreign.wrap_socket(client, server_side=True)
            tls.close()
        with contextlib.suppress(OSError):
            client.close()

    def _relay(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(("127.0.0.1", self._target), timeout=5)
        except OSError:
            client.close()
            return
        with self._lock:
            self._conns |= {client, upstream}
        try:
            pair = {client: upstream, upstream: client}
            while not self._stopped.is_set():
                readable, _, _ = select.select(list(pair), [], [], 0.2)
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    pair[sock].sendall(data)
        except (OSError, ValueError):
            return
        finally:
            with self._lock:
                self._conns -= {client, upstream}
            for sock in (client, upstream):
                with contextlib.suppress(OSError):
                    sock.close()
