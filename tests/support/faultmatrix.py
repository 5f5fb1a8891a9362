"""The fault matrix: every kind of fault a source can meet, armed on a running simulated world.

Each `Kind` names the source it hits, how it is armed and ended (simulator faults, the
`Wire` in front of a server, a name that stops resolving, an object of the cluster made
unreadable), and what the monitor must report while it lasts: the source down with
`reason`, or nothing at all (`reason` None: the fault is absorbed, e.g. a token refused
mid-poll costs one re-login, a `410 Gone` one relist).

`Rig` holds the world, the wires and one `Monitor` built from the world's config with short
poll settings; `Rig.cycle` runs one cycle. The table in docs/operations.md ("Fault
matrix") is checked against `KINDS` by tests/e2e/test_fault_matrix.py.
"""

from __future__ import annotations

import contextlib
import copy
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from monitor.config.schema import load_config
from monitor.daemon.cycle import Monitor, build_monitor
from monitor.simulate.faults import Fault
from monitor.simulate.kube.store import key_of
from monitor.simulate.world import Scenario, World
from monitor.sources.kube.collection import MIN_WATCH_SECONDS
from monitor.state.snapshot import Snapshot
from tests.support.paths import ROOT
from tests.support.wire import Wire

DEMO = ROOT / "monitor" / "simulate" / "scenarios" / "demo.yaml"
DEVICE = "bigip-a"  # the device every BIG-IP fault hits; bigip-b stays healthy
KUBE = "kubernetes"
LONG = 3600.0  # seconds: a fault lasts until the test ends it
INTERVAL, TIMEOUT = 4, 2  # poll settings of the rig (seconds)
TRUST_ROOTS = ("", "configmaps", "linkerd", "linkerd-identity-trust-roots")
ISSUER = ("", "secrets", "linkerd", "linkerd-identity-issuer")
LINKERD_CONFIG = ("", "configmaps", "linkerd", "linkerd-config")
ObjectKey = tuple[str, str, str, str]  # (group, plural, namespace, name)
Change = Callable[[dict[str, Any]], None]


class Rig:
    """The demo world, a `Wire` in front of bigip-a and of the API server, and a Monitor."""

    def __init__(self, out: Path) -> None:
        self.world = World(Scenario.load(DEMO))
        self.world.start(play_timeline=False)
        files = self.world.write_outputs(out)
        self.wires = {
            DEVICE: Wire(_port(self.world.bigip.url(DEVICE))),
            KUBE: Wire(self.world.kube.port),
        }
        doc = yaml.safe_load(files["config"].read_text())
        for device in doc["bigip"]:
            if device["name"] == DEVICE:  # by name: the "dns" kind makes it unresolvable
                device["url"] = f"https://localhost:{self.wires[DEVICE].port}"
        doc["poll"] = {"interval": f"{INTERVAL}s", "timeout": f"{TIMEOUT}s", "f5PageSize": 2}
        doc.pop("server", None)
        kubeconfig = yaml.safe_load(files["kubeconfig"].read_text())
        kubeconfig["clusters"][0]["cluster"]["server"] = (
            f"https://127.0.0.1:{self.wires[KUBE].port}"
        )
        files["kubeconfig"].write_text(yaml.safe_dump(kubeconfig))
        files["config"].write_text(yaml.safe_dump(doc))
        self.monitor: Monitor = build_monitor(load_config(files["config"]), persist=False)
        self.unresolvable: set[str] = set()

    def cycle(self) -> Snapshot:
        with _resolving(self.unresolvable):
            return self.monitor.cycle()

    def inject(self, type: str, **kwargs: Any) -> None:
        target = KUBE if type in ("watchExpire", "watchDrop", "http403") else DEVICE
        if "count" not in kwargs and type not in ("expireTokens", "watchExpire", "watchDrop"):
            kwargs["seconds"] = LONG
        self.world.inject(Fault(target, type, **kwargs))

    def clear(self) -> None:
        self.world.bigip.clear_faults(DEVICE)
        self.world.kube.clear_faults()
        for wire in self.wires.values():
            wire.set_mode("pass")
        self.unresolvable.clear()
        self.world.kube.update(self.world.state.kube)  # objects back as the world has them

    def corrupt(
        self, key: tuple[str, str, str, str], change: Callable[[dict[str, Any]], None]
    ) -> None:
        """Rewrite one object of the simulated cluster with `change` (a MODIFIED event)."""
        store = self.world.kube.store
        group, plural = key[:2]
        current = next(o for o in store.list_at((group, plural)) if key_of(group, plural, o) == key)
        obj = copy.deepcopy(current)
        change(obj)
        store.update(key, obj, None)

    def close(self) -> None:
        self.monitor.close()
        for wire in self.wires.values():
            wire.stop()
        self.world.stop()


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@contextlib.contextmanager
def _resolving(unresolvable: set[str]) -> Iterator[None]:
    """Name resolution in which the names of `unresolvable` do not exist (NXDOMAIN)."""
    if not unresolvable:
        yield
        return
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host in unresolvable:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


@dataclass(frozen=True)
class Kind:
    """One fault kind: `arm` starts it on the rig; while it lasts, `source` is down with
    `reason` (None: absorbed, every source stays up)."""

    name: str
    source: str
    reason: str | None
    arm: Callable[[Rig], None]
    what: str
    settle: float = 0.0  # seconds between arming and the cycle (watches meet it as they reconnect)
    # seconds the watch streams must have lived before the fault: a stream cut younger than
    # MIN_WATCH_SECONDS counts as a server that refuses streams, not as a routine drop
    age: float = 0.0


def _sim(type: str, **kwargs: Any) -> Callable[[Rig], None]:
    return lambda rig: rig.inject(type, **kwargs)


def _kube(type: str) -> Callable[[Rig], None]:
    return lambda rig: rig.world.inject(Fault(KUBE, type, seconds=LONG))


def _wire(name: str, mode: str) -> Callable[[Rig], None]:
    return lambda rig: rig.wires[name].set_mode(mode)


def _dns(rig: Rig) -> None:
    """The device's name stops resolving; connections made before it stay up until cut."""
    rig.unresolvable.add("localhost")
    rig.wires[DEVICE].cut()


def _both(*arms: Callable[[Rig], None]) -> Callable[[Rig], None]:
    def arm(rig: Rig) -> None:
        for one in arms:
            one(rig)

    return arm


def _garbage_roots(obj: dict[str, Any]) -> None:
    obj["data"]["ca-bundle.crt"] = (
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
    )


def _issuer_without_crt(obj: dict[str, Any]) -> None:
    obj["data"].pop("tls.crt", None)


def _impossible_date(obj: dict[str, Any]) -> None:
    obj["data"]["values"] = obj["data"]["values"] + "\nmaintenanceWindow: 2025-02-30\n"


def _kube_object(
    key: tuple[str, str, str, str], change: Callable[[dict[str, Any]], None]
) -> Callable[[Rig], None]:
    return lambda rig: rig.corrupt(key, change)


KINDS: tuple[Kind, ...] = (
    Kind("http503", DEVICE, "http_5xx", _sim("http503"), "503 on every request"),
    Kind("http500html", DEVICE, "http_5xx", _sim("http500html"), "Jetty's HTML 500 page"),
    Kind("html200", DEVICE, "bad_json", _sim("html200"), "200 with an HTML login page"),
    Kind("truncate", DEVICE, "bad_json", _sim("truncate"), "half of every JSON body"),
    Kind("reset", DEVICE, "protocol_error", _sim("reset"), "TCP reset instead of an answer"),
    Kind("timeout", DEVICE, "timeout", _sim("latency", delay=TIMEOUT + 3.0), "answers late"),
    Kind("redirect", DEVICE, "protocol_error", _sim("redirect"), "302 to a login page"),
    Kind("token401", DEVICE, None, _sim("expireTokens"), "token refused mid-poll"),
    Kind(
        "tokenLimit",
        DEVICE,
        "auth_failed",
        _both(_sim("tokenLimit"), _sim("expireTokens")),
        "login: 100 tokens held",
    ),
    Kind("denied", DEVICE, "http_401", _sim("denied"), "role may not read (RBAC 401)"),
    Kind("nextLinkLoop", DEVICE, "paging_loop", _sim("nextLinkLoop"), "nextLink to itself"),
    Kind("nextLinkForeign", DEVICE, None, _sim("nextLinkForeign"), "nextLink on another host"),
    Kind("refused", DEVICE, "connect_error", _wire(DEVICE, "refuse"), "device down"),
    Kind("unknownCa", DEVICE, "tls_error", _wire(DEVICE, "foreign"), "certificate of another CA"),
    Kind("dns", DEVICE, "connect_error", _dns, "its name does not resolve"),
    Kind("clockSkew", DEVICE, None, _sim("clockSkew", delay=-7200.0), "device clock 2 h off"),
    Kind("deepJson", DEVICE, "bad_json", _sim("deepJson"), "JSON nested 200,000 deep"),
    Kind("drip", DEVICE, "timeout", _sim("drip", delay=1.0), "body at one byte a second"),
    Kind("hugeBody", DEVICE, "response_too_large", _sim("hugeBody"), "a 300 MiB body"),
    Kind(
        "kubeHttp503",
        KUBE,
        "http_5xx",
        _both(_kube("http503"), _sim("watchDrop")),
        "503 on every request",
        settle=1.0,
    ),
    Kind(
        "kubeForbidden",
        KUBE,
        "http_403",
        _both(_sim("http403"), _sim("watchDrop")),
        "RBAC grant missing",
        settle=1.0,
    ),
    Kind("kubeDown", KUBE, "connect_error", _wire(KUBE, "refuse"), "API server down", settle=1.0),
    Kind("watchExpire", KUBE, None, _sim("watchExpire"), "410 Gone on every watch"),
    Kind(
        "watchDrop",
        KUBE,
        None,
        _sim("watchDrop"),
        "watches cut without a word",
        settle=0.5,
        age=MIN_WATCH_SECONDS + 0.2,
    ),
    Kind(
        "garbageRoots",
        KUBE,
        "bad_pem",
        _kube_object(TRUST_ROOTS, _garbage_roots),
        "trust roots not PEM",
        settle=0.5,
    ),
    Kind(
        "issuerNoKey",
        KUBE,
        "bad_pem",
        _kube_object(ISSUER, _issuer_without_crt),
        "issuer Secret without tls.crt",
        settle=0.5,
    ),
    Kind(
        "valuesDate",
        KUBE,
        "bad_json",
        _kube_object(LINKERD_CONFIG, _impossible_date),
        "linkerd-config values: 2025-02-30",
        settle=0.5,
    ),
)
