"""A plain TCP peer on 127.0.0.1 that answers every connection with fixed bytes, at once
or one byte per `every` seconds: a dripping HTTP server, or an HTTP proxy (absolute-form
requests and CONNECT alike) that drips or refuses. `heard` keeps the start of what each
connection sent first (the request line shows whether a request came through it)."""

from __future__ import annotations

import socket
import threading
from types import TracebackType


class Dripper:
    def __init__(self, answer: bytes, every: float = 0.0) -> None:
        self.answer = answer
        self.every = every
        self.heard: list[bytes] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> Dripper:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                self.heard.append(conn.recv(65536)[:200])
                if not self.every:
                    conn.sendall(self.answer)
                    return
                for byte in self.answer:
                    if self._stop.wait(self.every):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return
