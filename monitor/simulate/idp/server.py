"""The simulated identity providers on the wire: one HTTPS server for all of them.

Serves each IdP's discovery document(s) and JWK Set(s) at the paths its flavor uses
(`model`), `application/json; charset=utf-8`, with `Cache-Control: max-age=<cacheMaxAge>,
must-revalidate` (Okta's form; `no-cache` at 0) — the header values are UNVERIFIED beyond
Okta's documented behaviour (research/oidc.md 1.5). Anything else is a 404 JSON error.
Only GET is answered (405 otherwise). The request query must match exactly (`?appid=`).

Faults (`COMMON_FAULTS`: http503, http500html, latency, reset, truncate) are armed per IdP
(the scenario's fault `target` is the IdP's name) and apply to its paths only.
`update()` swaps in a re-rendered set of IdPs atomically (a key rotation step).
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from typing import ClassVar
from urllib.parse import urlsplit

from monitor.simulate.faults import COMMON_FAULTS, Fault, FaultPlan
from monitor.simulate.httpserver import SimHandler, SimServer
from monitor.simulate.idp.model import IdpWorld


class SimulatedIdps:
    """Every simulated IdP of a scenario, on one 127.0.0.1 HTTPS port (bound at creation,
    so the IdPs' URLs are known before the BIG-IP objects that name them are rendered)."""

    def __init__(self, tls: ssl.SSLContext, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._idps: dict[str, IdpWorld] = {}
        self._plans: dict[str, FaultPlan] = {}
        self._clock = clock
        self.requests: dict[tuple[str, str], int] = {}  # (idp, path) → count
        handler = type("IdpHandler", (_Handler,), {"owner": self})
        self._server = SimServer(handler, tls)
        self._started = False

    @property
    def base(self) -> str:
        """`https://127.0.0.1:<port>`: the root of every IdP's URLs."""
        return self._server.url

    def start(self) -> None:
        self._server.start()
        self._started = True

    def stop(self) -> None:
        if self._started:
            self._server.stop()
            self._started = False

    def update(self, idps: Mapping[str, IdpWorld]) -> None:
        with self._lock:
            self._idps = dict(idps)
            for name in idps:
                self._plans.setdefault(name, FaultPlan(self._clock))

    def inject(self, fault: Fault) -> None:
        if fault.type not in COMMON_FAULTS:
            raise ValueError(f"fault {fault.type} does not apply to an identity provider")
        with self._lock:
            plan = self._plans.setdefault(fault.target, FaultPlan(self._clock))
        plan.arm(fault)

    def clear_faults(self, name: str) -> None:
        with self._lock:
            plan = self._plans.get(name)
        if plan is not None:
            plan.clear()

    def names(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._idps)

    def find(self, path: str, query: str) -> tuple[IdpWorld, object] | None:
        with self._lock:
            for idp in self._idps.values():
                if (path, query) in idp.documents:
                    return idp, idp.documents[(path, query)]
        return None

    def plan(self, name: str) -> FaultPlan | None:
        with self._lock:
            return self._plans.get(name)

    def count(self, name: str, path: str) -> None:
        with self._lock:
            self.requests[(name, path)] = self.requests.get((name, path), 0) + 1


class _Handler(SimHandler):
    owner: ClassVar[SimulatedIdps]

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        found = self.owner.find(url.path, url.query)
        if found is None:
            self._error(404, "Not found")
            return
        idp, body = found
        self.owner.count(idp.name, url.path)
        plan = self.owner.plan(idp.name)
        fault = plan.take() if plan is not None else None
        kind = fault.type if fault is not None else ""
        if kind == "reset":
            self.reset_connection()
            return
        if kind == "latency" and fault is not None:
            time.sleep(fault.delay)
        if kind == "http503":
            self._error(503, "Service Unavailable")
            return
        if kind == "http500html":
            page = b"<html><head><title>Error 500</title></head><body>Error</body></html>"
            self.send_bytes(500, page, content_type="text/html")
            return
        cache = f"max-age={idp.max_age}, must-revalidate" if idp.max_age else "no-cache, no-store"
        data = json.dumps(body).encode()
        self.send_bytes(
            200,
            data,
            content_type="application/json; charset=utf-8",
            headers={"Cache-Control": cache},
            truncate=kind == "truncate",
        )

    def do_POST(self) -> None:
        self._error(405, "Method not allowed")

    def _error(self, status: int, message: str) -> None:
        body = json.dumps({"errorCode": str(status), "errorSummary": message}).encode()
        self.send_bytes(status, body, content_type="application/json")
