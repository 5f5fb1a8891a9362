"""The simulated BIG-IP devices on the wire: one HTTPS server per device.

Serves iControl REST as the real devices do (research/f5.md): token and basic
authentication with restjavad-shaped 401s (`authn`), read-only `/mgmt/tm` collections,
objects, subcollections and stats documents (`query`), the `util/bash`
certificate reader (`bash`), and injected faults.  Faults apply to every
request, login included:

| fault        | what the client sees                                                        |
|--------------|-----------------------------------------------------------------------------|
| http503      | 503, restjavad shape, "There is an active asynchronous task executing."     |
| http500html  | 500, Jetty's HTML page "Error 500 AsyncContext timeout", text/html          |
| latency      | the normal response after `delay` seconds                                   |
| reset        | a TCP RST instead of a response                                             |
| truncate     | the normal status with the first half of the JSON body (a complete HTTP     |
|              | response whose Content-Length matches: the client gets invalid JSON)        |
| expireTokens | (on inject) every live token of the device is gone: 401 on next use         |

and the hostile answers of `hostile` (HTML 200, redirect, RBAC denial, token limit,
`nextLink` loop or foreign host, deep JSON, a drip, a huge body, clock skew).

`update()` swaps in a re-rendered world atomically per device; tokens survive.
Writes below /mgmt/tm are refused per the device's role (`restjavad`): 401 for a
read-only role, 405 otherwise (util/bash aside): the monitor must never change a
BIG-IP.  `BigipWorld.faults` are NOT armed here; the world orchestrator injects them
after `start()`.
"""

from __future__ import annotations

import itertools
import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import urlsplit

from monitor.simulate.bigip import hostile, restjavad
from monitor.simulate.bigip.auth import TokenStore
from monitor.simulate.bigip.authn import Authn, Response, parse_json
from monitor.simulate.bigip.bash import BashRefused, run_bash
from monitor.simulate.bigip.links import icrd_error, iso_time, restjavad_error
from monitor.simulate.bigip.model import BigipWorld, DeviceConfig
from monitor.simulate.bigip.query import (
    QueryError,
    Snapshot,
    build_snapshot,
    collection_body,
    object_body,
    parse_query,
    resolve,
    served,
)
from monitor.simulate.faults import BIGIP_FAULTS, COMMON_FAULTS, Fault, FaultPlan
from monitor.simulate.httpserver import SimHandler, SimServer


@dataclass(frozen=True)
class RequestStats:
    """What one device has been asked (counted before faults apply)."""

    total: int
    by_endpoint: dict[tuple[str, str], int]  # (method, path without query) → count
    max_in_flight: int
    in_flight: int
    live_tokens: int


@dataclass
class _Device:
    name: str
    snapshot: Snapshot
    tokens: TokenStore
    plan: FaultPlan
    server: SimServer | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    total: int = 0
    counts: dict[tuple[str, str], int] = field(default_factory=dict)
    in_flight: int = 0
    max_in_flight: int = 0
    op_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(2_000_001))

    def begin(self, method: str, path: str) -> None:
        with self.lock:
            self.total += 1
            key = (method, path)
            self.counts[key] = self.counts.get(key, 0) + 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self) -> None:
        with self.lock:
            self.in_flight -= 1


class SimulatedBigip:
    """The BIG-IP devices of a scenario, each on its own 127.0.0.1 HTTPS port."""

    def __init__(
        self, world: BigipWorld, tls: ssl.SSLContext, clock: Callable[[], float] = time.time
    ) -> None:
        self._world = world
        self._tls = tls
        self._clock = clock
        self._lock = threading.Lock()
        self._started = False
        self._devices = {name: self._new_device(cfg) for name, cfg in world.devices.items()}

    @property
    def world(self) -> BigipWorld:
        return self._world

    def _new_device(self, cfg: DeviceConfig) -> _Device:
        return _Device(
            cfg.name, build_snapshot(cfg, None, ""), TokenStore(self._clock), FaultPlan(self._clock)
        )

    def _serve(self, device: _Device) -> None:
        handler = type(
            f"BigipHandler_{device.name}", (_Handler,), {"device": device, "owner": self}
        )
        device.server = SimServer(handler, self._tls)
        device.server.start()

    def start(self) -> None:
        with self._lock:
            for device in self._devices.values():
                self._serve(device)
            self._started = True

    def stop(self) -> None:
        with self._lock:
            servers = [d.server for d in self._devices.values() if d.server is not None]
            for device in self._devices.values():
                device.server = None
            self._started = False
        stoppers = [threading.Thread(target=s.stop) for s in servers]  # in parallel
        for t in stoppers:
            t.start()
        for t in stoppers:
            t.join()

    def url(self, device: str) -> str:
        server = self._device(device).server
        if server is None:
            raise RuntimeError("the simulated BIG-IP is not running (call start() first)")
        return server.url

    def update(self, world: BigipWorld) -> None:
        """Serve a re-rendered world; changed objects get generation+1, tokens survive."""
        now_iso = iso_time(datetime.fromtimestamp(self._clock(), UTC))
        with self._lock:
            for name in list(self._devices):
                if name not in world.devices:
                    gone = self._devices.pop(name)
                    if gone.server is not None:
                        gone.server.stop()
            for name, cfg in world.devices.items():
                device = self._devices.get(name)
                if device is None:
                    device = self._devices[name] = self._new_device(cfg)
                    if self._started:
                        self._serve(device)
                else:
                    device.snapshot = build_snapshot(cfg, device.snapshot, now_iso)
            self._world = world

    def clear_faults(self, device: str) -> None:
        """End every armed request fault of `device` now."""
        self._device(device).plan.clear()

    def inject(self, fault: Fault) -> None:
        device = self._device(fault.target)
        if fault.type == "expireTokens":
            device.tokens.expire_all()
        elif fault.type in COMMON_FAULTS + BIGIP_FAULTS:
            device.plan.arm(fault)
        else:
            raise ValueError(f"fault {fault.type} does not apply to a BIG-IP")

    def stats(self, device: str) -> RequestStats:
        d = self._device(device)
        with d.lock:
            return RequestStats(
                d.total, dict(d.counts), d.max_in_flight, d.in_flight, d.tokens.live()
            )

    def _device(self, name: str) -> _Device:
        try:
            return self._devices[name]
        except KeyError:
            raise ValueError(f'no simulated BIG-IP device "{name}"') from None


class _Handler(SimHandler):
    device: ClassVar[_Device]
    owner: ClassVar[SimulatedBigip]
    skew = 0.0

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    @property
    def _ip(self) -> str:
        return str(self.client_address[0])

    def _error(self, status: int, message: str) -> Response:
        return status, restjavad_error(status, message, self._ip, next(self.device.op_ids)), {}

    def _handle(self, method: str) -> None:
        device = self.device
        url = urlsplit(self.path)
        self.skew = 0.0
        device.begin(method, url.path)
        try:
            body = self.read_body()
            fault = device.plan.take()
            if fault is not None and fault.type == "reset":
                self.reset_connection()
                return
            if fault is not None and fault.type == "latency":
                time.sleep(fault.delay)
            kind = fault.type if fault is not None else ""
            if kind in hostile.NOT_REST:
                hostile.answer(self, kind, url.path)
                return
            login = url.path == "/mgmt/shared/authn/login"
            if kind == "http503":
                status, payload, headers = self._error(
                    503, "There is an active asynchronous task executing."
                )
            elif refusal := hostile.refusal(kind, login, self.owner.world.credentials.username,
                                            url.path, self._ip):  # fmt: skip
                status, payload, headers = self._error(*refusal)
            else:
                status, payload, headers = self._route(method, url.path, url.query, body)
            if kind in ("nextLinkLoop", "nextLinkForeign"):
                payload = hostile.rewrite_links(payload, url.path, url.query, kind)
            if kind == "clockSkew" and fault is not None:
                payload = hostile.skew_times(payload, fault.delay)
                self.skew = fault.delay
            data = json.dumps(payload, separators=(",", ":")).encode()
            if kind == "truncate":
                data = data[: len(data) // 2]
            if kind == "drip" and fault is not None:
                hostile.drip(self, status, data, fault.delay, headers)
                return
            self.send_bytes(status, data, headers=headers)
        finally:
            device.end()

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header, by the device's clock (off by `skew` under a clockSkew fault)."""
        if self.skew:
            return hostile.skewed_date(self.skew)
        return super().date_time_string(timestamp)

    def _route(self, method: str, raw_path: str, query: str, body: bytes) -> Response:
        path = restjavad.normal_path(raw_path)
        world = self.owner.world
        authn = Authn(self.device.tokens, world.credentials, self._ip, self._error)
        if path == "/mgmt/shared/authn/login":
            if method != "POST":
                return self._error(405, "Method not allowed")
            return authn.login(body, world.token_timeout)
        token = self.headers.get("X-F5-Auth-Token")
        user = authn.user(token, self.headers.get("Authorization") or "", path)
        if not isinstance(user, str):
            return user
        if path.startswith("/mgmt/shared/authz/tokens/"):
            return authn.token(method, path.rsplit("/", 1)[-1], user, body)
        if path == restjavad.ECHO_QUERY and method == "GET":
            return 200, restjavad.echo_query(), {}
        if not path.startswith("/mgmt/tm/"):
            return self._not_registered(path)
        role = self.device.snapshot.config.role
        if refused := restjavad.write_refusal(role, user, path, method, self._ip):
            return self._error(401, refused)
        if path == "/mgmt/tm/util/bash":
            return self._bash(method, user, body)
        if method != "GET":
            return self._error(
                405, f"Method {method} not allowed: the simulated BIG-IP is read-only"
            )
        return self._get(path.removeprefix("/mgmt/tm/"), query)

    def _not_registered(self, path: str) -> Response:
        return self._error(
            404,
            f"URI path {path} not registered.  Please verify URI is supported and wait "
            "for /available suffix to be responsive.",
        )

    def _bash(self, method: str, user: str, body: bytes) -> Response:
        snap = self.device.snapshot
        if method != "POST":
            return self._error(405, f"Method {method} not allowed")
        if not snap.config.bash_allowed:
            return self._error(
                401, restjavad.authorization_failed(user, "/mgmt/tm/util/bash", "POST", self._ip)
            )
        try:
            return 200, run_bash(parse_json(body), snap.config.filestore), {}
        except BashRefused as err:
            return 400, icrd_error(400, str(err), 26214401), {}

    def _get(self, tm_path: str, query: str) -> Response:
        snap = self.device.snapshot  # one consistent snapshot for the whole request
        version = snap.config.version
        try:
            q = parse_query(query)
        except QueryError as err:
            return 400, {"code": 400, "message": str(err), "errorStack": [], "apiError": 1}, {}
        if organizing := restjavad.organizing_collection(tm_path, served(snap), version):
            return 200, organizing, {}
        target = resolve(snap, tm_path)
        if target.kind == "stats":
            return 200, snap.config.stats[target.path], {}
        if target.kind == "collection":
            return 200, collection_body(snap, target.path, q, version), {}
        if target.kind == "object" and target.item is not None:
            return 200, object_body(snap, target.item, q), {}
        if target.kind == "missing":
            return 404, icrd_error(404, target.message, 3), {}
        return self._not_registered(f"/mgmt/tm/{tm_path}")
