"""The simulated world: one scenario rendered into a running BIG-IP and Kubernetes API.

`Scenario.load` reads and fully validates a scenario file, including a dry run of
every timeline step, so that a mistake anywhere is reported before anything
starts.  `World` generates the certificates, starts the simulated BIG-IP devices,
the simulated Kubernetes API and the simulated identity providers on 127.0.0.1,
plays the timeline (patches on the scenario document and faults), and writes
what a client needs to reach them: a kubeconfig, the CA of the simulated
servers, credential files and an expected-state config file.
"""

from __future__ import annotations

import copy
import os
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from monitor.config.schema import ConfigError, parse_config
from monitor.simulate.bigip.model import BigipWorld, render_bigip
from monitor.simulate.bigip.server import SimulatedBigip
from monitor.simulate.certgen import CertSpecError, GeneratedCert, generate_all
from monitor.simulate.faults import Fault
from monitor.simulate.httpserver import server_tls_context, sim_server_identity
from monitor.simulate.idp import IdpWorld, SimulatedIdps, render_idps
from monitor.simulate.kube.model import KubeWorld, render_kubernetes
from monitor.simulate.kube.server import SimulatedKubernetes
from monitor.simulate.scenario import (
    TimelineEvent,
    apply_patch,
    cert_specs,
    load_document,
    timeline,
)
from monitor.simulate.spec import Node, ScenarioError

KUBE_TARGET = "kubernetes"
PLACEHOLDER_IDP_BASE = "https://127.0.0.1:443"  # the IdPs' root while validating
# The first line of every config file a world writes (how `check` recognises one).
CONFIG_HEADER = "# Expected state for the simulated world of scenario "


@dataclass(frozen=True)
class Rendered:
    """One state of the world: the document and everything rendered from it."""

    doc: Mapping[str, Any]
    certs: Mapping[str, GeneratedCert]
    bigip: BigipWorld
    kube: KubeWorld
    idps: Mapping[str, IdpWorld]


def render(
    doc: Mapping[str, Any],
    now: datetime,
    password: str,
    token: str,
    idp_base: str = PLACEHOLDER_IDP_BASE,
) -> Rendered:
    specs = cert_specs(doc)
    seed = str(doc.get("seed") or doc["name"])
    try:
        certs = generate_all(specs, now, seed)
    except CertSpecError as err:
        raise ScenarioError("certificates", str(err)) from None
    idps = render_idps(Node(doc.get("identityProviders"), "identityProviders"), certs, idp_base)
    bigip = render_bigip(Node(doc.get("bigip") or {}, "bigip"), certs, now, password, idps)
    kube = render_kubernetes(Node(doc.get("kubernetes") or {}, KUBE_TARGET), certs, now, token)
    return Rendered(doc=doc, certs=certs, bigip=bigip, kube=kube, idps=idps)


@dataclass(frozen=True)
class Scenario:
    """A validated scenario: its initial state and its timeline."""

    path: Path
    doc: Mapping[str, Any]
    events: tuple[TimelineEvent, ...]

    @property
    def name(self) -> str:
        return str(self.doc["name"])

    @classmethod
    def load(cls, path: Path, now: datetime | None = None) -> Scenario:
        doc = load_document(path)
        events = timeline(doc)
        scenario = cls(path=path, doc=doc, events=events)
        scenario.validate(now or datetime.now(UTC))
        return scenario

    def validate(self, now: datetime) -> None:
        """Render the initial state and every timeline step once, without serving."""
        state = render(self.doc, now, "validate", "validate")
        targets = {*state.bigip.devices, KUBE_TARGET, *state.idps}
        doc: Mapping[str, Any] = self.doc
        for event in self.events:
            if event.patch:
                doc = apply_patch(doc, event.patch)
                state = render(doc, now, "validate", "validate")
                targets = {*state.bigip.devices, KUBE_TARGET, *state.idps}
            if event.fault is not None and event.fault.target not in targets:
                raise ScenarioError(
                    f"{event.where}.fault.target",
                    f'unknown target "{event.fault.target}" (a device name, an identity'
                    f' provider or "{KUBE_TARGET}")',
                )
        self._validate_expected(tuple(state.bigip.devices), state.idps)

    def _validate_expected(self, devices: tuple[str, ...], idps: Mapping[str, IdpWorld]) -> None:
        """The expected-state file that `simulate` will write must itself be valid."""
        urls = {name: "https://127.0.0.1:443" for name in devices}
        try:
            parse_config(expected_config(self.doc, urls, idps), self.path.parent)
        except ConfigError as err:
            where = f"expected.{err.path}" if err.path else "expected"
            raise ScenarioError(where, err.message) from None


class World:
    """A running simulation of one scenario."""

    def __init__(
        self,
        scenario: Scenario,
        now: datetime | None = None,
        clock: Callable[[], float] = time.monotonic,
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.scenario = scenario
        self.started_at = (now or datetime.now(UTC)).replace(microsecond=0)
        self._clock = clock
        self._log = log
        self._password = secrets.token_urlsafe(18)
        self._token = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._ca, server = sim_server_identity(self.started_at, str(scenario.name))
        tls = server_tls_context(server)
        self.idps = SimulatedIdps(tls)  # bound now: the BIG-IP objects name its URLs
        self._state = self._render(scenario.doc)
        self.idps.update(self._state.idps)
        self.bigip = SimulatedBigip(self._state.bigip, tls)
        self.kube = SimulatedKubernetes(self._state.kube, tls, self._ca.pem)
        self._stop = threading.Event()
        self._timeline: threading.Thread | None = None
        self.applied: list[TimelineEvent] = []

    def _render(self, doc: Mapping[str, Any]) -> Rendered:
        return render(doc, self.started_at, self._password, self._token, self.idps.base)

    @property
    def state(self) -> Rendered:
        with self._lock:
            return self._state

    @property
    def ca_pem(self) -> str:
        """The CA that signed the simulated servers' TLS certificates."""
        return self._ca.pem

    def start(self, play_timeline: bool = True) -> None:
        """Serve; with `play_timeline` the timeline runs by the clock, else by `step()`."""
        self.bigip.start()
        self.kube.start()
        self.idps.start()
        for fault in (*self._state.bigip.faults, *self._state.kube.faults):
            self.inject(fault)
        if play_timeline:
            self._timeline = threading.Thread(target=self._play, name="sim-timeline", daemon=True)
            self._timeline.start()

    def step(self) -> TimelineEvent | None:
        """Apply the next timeline event that has not been applied yet (manual timelines)."""
        pending = self.scenario.events[len(self.applied) :]
        if not pending:
            self._log("timeline: nothing left to apply")
            return None
        self.apply(pending[0])
        return pending[0]

    def stop(self) -> None:
        self._stop.set()
        if self._timeline is not None:
            self._timeline.join(timeout=5)
        self.bigip.stop()
        self.kube.stop()
        self.idps.stop()

    def inject(self, fault: Fault) -> None:
        if fault.target == KUBE_TARGET:
            self.kube.inject(fault)
        elif fault.target in self.idps.names():
            self.idps.inject(fault)
        else:
            self.bigip.inject(fault)

    def apply(self, event: TimelineEvent) -> None:
        """Apply one timeline event now (also used by tests to step the world by hand)."""
        if event.patch:
            with self._lock:
                doc = apply_patch(self._state.doc, event.patch)
                self._state = self._render(doc)
                state = self._state
            self.idps.update(state.idps)
            self.bigip.update(state.bigip)
            self.kube.update(state.kube)
        if event.fault is not None:
            self.inject(event.fault)
        self.applied.append(event)
        label = event.description or (event.fault.type if event.fault else "patch")
        self._log(f"timeline: t+{event.at.total_seconds():g}s {label}")

    def _play(self) -> None:
        start = self._clock()
        for event in self.scenario.events:
            delay = start + event.at.total_seconds() - self._clock()
            if delay > 0 and self._stop.wait(delay):
                return
            if self._stop.is_set():
                return
            self.apply(event)

    # -- what clients need -------------------------------------------------------------

    def write_outputs(self, out: Path) -> dict[str, Path]:
        """Write kubeconfig, CA, credentials and config.yaml into `out`; return their paths."""
        out.mkdir(parents=True, exist_ok=True)
        files = {
            "kubeconfig": out / "kubeconfig",
            "ca": out / "bigip-ca.pem",
            "username": out / "bigip-username",
            "password": out / "bigip-password",
            "config": out / "config.yaml",
        }
        self.kube.write_kubeconfig(files["kubeconfig"], self.ca_pem)
        files["ca"].write_text(self.ca_pem)
        creds = self._state.bigip.credentials
        _write_private(files["username"], creds.username + "\n")
        _write_private(files["password"], creds.password + "\n")
        config = expected_config(
            self.scenario.doc,
            {d: self.bigip.url(d) for d in self.bigip_devices},
            self._state.idps,
        )
        files["config"].write_text(
            f"{CONFIG_HEADER}{self.scenario.name!r}; written by `f5-linkerd-monitor simulate`.\n"
            + yaml.safe_dump(config, sort_keys=False)
        )
        return files

    @property
    def bigip_devices(self) -> tuple[str, ...]:
        return tuple(self._state.bigip.devices)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def expected_config(
    doc: Mapping[str, Any],
    urls: Mapping[str, str],
    idps: Mapping[str, IdpWorld] | None = None,
) -> dict[str, Any]:
    """The expected-state document for a scenario: its `expected` section plus connections.

    Connection details (URLs, credential files, CA, kubeconfig) are filled in; a
    `bigip` entry in `expected` with the same name adds settings such as `haGroup`; an
    `identityProviders` entry named like a simulated IdP gets its `issuer` (unless given),
    its `kind` and `appid`, and the simulation CA as `caFile`.
    Relative paths resolve against the directory the file is written to.
    """
    cfg = copy.deepcopy(dict(doc.get("expected") or {}))
    kube = doc.get("kubernetes") or {}
    linkerd = kube.get("linkerd") or {}
    mesh = cfg.setdefault("mesh", {})
    mesh.setdefault("kubeconfig", "kubeconfig")
    mesh.setdefault("linkerdNamespace", linkerd.get("namespace", "linkerd"))
    mesh.setdefault("trustDomain", linkerd.get("trustDomain", "cluster.local"))
    extra = {str(entry.get("name")): entry for entry in cfg.get("bigip") or []}
    partitions = list(((doc.get("bigip") or {}).get("config") or {}).get("partitions") or [])
    if "Common" not in partitions:
        partitions.insert(0, "Common")
    cfg["bigip"] = [
        {
            "name": name,
            "url": url,
            "usernameFile": "bigip-username",
            "passwordFile": "bigip-password",
            "caFile": "bigip-ca.pem",
            "partitions": partitions,
            **{k: v for k, v in extra.get(name, {}).items() if k != "name"},
        }
        for name, url in urls.items()
    ]
    for entry in cfg.get("identityProviders") or []:
        sim = (idps or {}).get(str(entry.get("name")))
        if sim is None:
            continue
        entry.setdefault("issuer", sim.issuer)
        entry.setdefault("kind", sim.flavor)
        if sim.app_discovery_url is not None:
            entry.setdefault("appid", sim.app_discovery_url.rsplit("appid=", 1)[1])
        entry.setdefault("caFile", "bigip-ca.pem")
    ordered = {key: cfg[key] for key in ("mesh", "bigip") if key in cfg}
    ordered.update({k: v for k, v in cfg.items() if k not in ordered})
    return ordered
