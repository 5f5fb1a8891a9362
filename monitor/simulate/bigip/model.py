"""The simulated BIG-IP as data: what each device serves, rendered from the scenario.

Pure: no I/O and no clock reads (`now` is the world's start time, used for
`createTime`/`creationTime`).  `render_bigip` reads the scenario's `bigip:` section
(docs/scenario.md), validates it with path-named errors, and renders every object
each device serves, once, in the exact shapes of the real iControl REST API:

- `collections`: REST collection path → items, e.g. `ltm/virtual`, `ltm/pool`,
  `ltm/profile/server-ssl`, `sys/file/ssl-cert`, and subcollections such as
  `ltm/pool/~k8s~Shared~p/members` and `ltm/virtual/~k8s~Shared~v/profiles`;
- `stats`: the stats-shaped documents `cm/sync-status`, `cm/failover-status`, `sys/version`,
  and each virtual's and pool's `.../stats` (`stats`);
- `filestore`: path on the box → PEM text, for the `util/bash` reader.

Devices without `overrides` share the rendered configuration objects (they are
never mutated); `server` serves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from monitor.simulate.bigip.apm import render_apm, render_provision
from monitor.simulate.bigip.certs import render_certificates
from monitor.simulate.bigip.cm import (
    DeviceSpec,
    default_sync,
    parse_device,
    render_device,
    render_partitions,
    render_stats,
)
from monitor.simulate.bigip.ltm import render_ltm
from monitor.simulate.bigip.spec import ConfigSpec, check_unique
from monitor.simulate.bigip.spec_config import parse_config
from monitor.simulate.bigip.stats import render_ltm_stats
from monitor.simulate.certgen import GeneratedCert
from monitor.simulate.faults import Fault
from monitor.simulate.idp.model import IdpWorld
from monitor.simulate.scenario import PatchOp, apply_patch
from monitor.simulate.spec import Node

SECTION_KEYS = ("credentials", "tokenTimeout", "devices", "config")
MAX_TOKEN_TIMEOUT = 36000


@dataclass(frozen=True)
class BigipCredentials:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password
        return f"BigipCredentials(username={self.username!r}, password='***')"


@dataclass
class DeviceConfig:
    """Everything one device serves; the server treats it as read-only."""

    name: str
    hostname: str
    management_ip: str
    version: str
    build: str
    edition: str
    failover_state: str
    bash_allowed: bool
    role: str
    collections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    filestore: dict[str, str] = field(default_factory=dict)


@dataclass
class BigipWorld:
    devices: dict[str, DeviceConfig]
    credentials: BigipCredentials
    token_timeout: int
    faults: tuple[Fault, ...]  # armed from the start (bigip.devices[].faults)


def render_bigip(
    section: Node,
    certs: Mapping[str, GeneratedCert],
    now: datetime,
    default_password: str,
    idps: Mapping[str, IdpWorld] | None = None,
) -> BigipWorld:
    """Render the `bigip:` section; a ScenarioError names the place of any mistake."""
    section.mapping(SECTION_KEYS)
    cred = section.get("credentials", {})
    cred.mapping(("username", "password"))
    credentials = BigipCredentials(
        cred.get("username").text("monitor"), cred.get("password").text(default_password)
    )
    timeout_node = section.get("tokenTimeout")
    token_timeout = timeout_node.integer(1200)
    if not 1 <= token_timeout <= MAX_TOKEN_TIMEOUT:
        raise timeout_node.fail(f"must be between 1 and {MAX_TOKEN_TIMEOUT} seconds")
    device_nodes = list(section.get("devices").items())  # none: a Kubernetes-only world
    check_unique(device_nodes, "name", "device name")
    devices = tuple(parse_device(n, i) for i, n in enumerate(device_nodes))
    cert_ids = frozenset(certs)
    config_node = section.get("config", {})
    base = parse_config(config_node, cert_ids)
    shared_sync = default_sync(devices)
    rendered: dict[tuple[int, str], tuple[dict[str, list[dict[str, Any]]], dict[str, str]]] = {}
    out: dict[str, DeviceConfig] = {}
    for i, d in enumerate(devices):
        spec, own_config = base, config_node
        if d.overrides:
            patched = apply_patch({"config": dict(config_node.mapping())}, _rooted(d))
            own_config = Node(patched["config"], f"bigip.devices[{i}].config")
            spec = parse_config(own_config, cert_ids)
        key = (id(spec), d.version)
        if key not in rendered:
            rendered[key] = _render_config(spec, certs, d.version, now)
        collections, filestore = rendered[key]
        own = dict(collections)
        own["cm/device"] = [render_device(other, d, d.version) for other in devices]
        own["sys/provision"] = render_provision(d.apm, d.version)
        if d.apm != "none":
            apm = render_apm(own_config.get("oauthProviders"), idps or {}, certs, d.version)
            own.update(apm)
        out[d.name] = DeviceConfig(
            name=d.name,
            hostname=d.hostname,
            management_ip=d.management_ip,
            version=d.version,
            build=d.build,
            edition=d.edition,
            failover_state=d.failover_state,
            bash_allowed=d.bash_allowed,
            role=d.role,
            collections=own,
            stats={**render_stats(d, d.sync or shared_sync), **render_ltm_stats(own, d.version)},
            filestore=filestore,
        )
    faults = tuple(f for d in devices for f in d.faults)
    return BigipWorld(out, credentials, token_timeout, faults)


def _rooted(d: DeviceSpec) -> tuple[PatchOp, ...]:
    """Override paths are relative to `config`; root them for the shared patch engine."""
    return tuple(PatchOp(op.op, "/config" + op.path, op.value, op.where) for op in d.overrides)


def _render_config(
    spec: ConfigSpec, certs: Mapping[str, GeneratedCert], version: str, now: datetime
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    cert_collections, filestore = render_certificates(spec, certs, version, now)
    collections = {**cert_collections, **render_ltm(spec, version, now)}
    collections["auth/partition"] = render_partitions(spec.partitions, version)
    return collections, filestore
