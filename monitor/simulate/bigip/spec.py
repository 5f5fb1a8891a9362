"""The typed specs of a simulated BIG-IP configuration, and the reader that checks references.

`spec_config.parse_config` turns the scenario's `bigip.config` section into a
`ConfigSpec`; the renderers (`render_*`) consume it.  `Reader` carries the
parsing state shared by all sections: the declared partitions and every path seen
per namespace (ssl-cert, profile, pool, virtual), so that duplicates and
references to missing objects are reported at their place
(`bigip.config.virtuals[0].pool: no pool "/k8s/Shared/x" in bigip.config.pools`).
Field values are kept in REST form ("none" for an unset reference, "true"/"false"
strings for BIG-IP's string booleans).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from monitor.simulate.bigip.builtins import CERT_PATHS
from monitor.simulate.bigip.links import ObjPath
from monitor.simulate.spec import Node


@dataclass(frozen=True)
class CertFile:
    """An ssl-cert object: one certificate or a bundle file (by certificate ids)."""

    path: ObjPath
    cert_ids: tuple[str, ...]
    bundle: bool


@dataclass(frozen=True)
class Manager:
    path: ObjPath
    include: tuple[str, ...]  # full paths of sslCerts entries
    description: str | None


@dataclass(frozen=True)
class SslProfile:
    path: ObjPath
    fields: Mapping[str, Any]  # REST field → value, only what the scenario set
    chains: tuple[Mapping[str, str], ...] = ()  # client-ssl certKeyChain: name/cert/key/chain


@dataclass(frozen=True)
class Member:
    path: ObjPath  # /<partition>/<node>:<port> (IPv6: <node>.<port>)
    address: str
    session: str
    state: str


@dataclass(frozen=True)
class Pool:
    path: ObjPath
    monitor: str | None
    load_balancing_mode: str
    description: str | None
    members: tuple[Member, ...]


@dataclass(frozen=True)
class ProfileRef:
    path: ObjPath
    context: str
    type: str


@dataclass(frozen=True)
class Virtual:
    path: ObjPath
    destination: str
    ipv6: bool
    route_domain: str  # "" or "%2"
    pool: str | None
    enabled: bool
    profiles: tuple[ProfileRef, ...]
    description: str | None
    snat: str


@dataclass(frozen=True)
class ConfigSpec:
    partitions: tuple[str, ...]
    cert_files: tuple[CertFile, ...] = ()
    managers: tuple[Manager, ...] = ()
    client_ssl: tuple[SslProfile, ...] = ()
    server_ssl: tuple[SslProfile, ...] = ()
    pools: tuple[Pool, ...] = ()
    virtuals: tuple[Virtual, ...] = ()
    builtin_ca_bundle: str = "sample"  # sample (~440 KB) | real (the captured 4,735,518 bytes)


@dataclass
class Reader:
    """Parsing state: declared partitions and the paths seen per namespace."""

    root: Node
    cert_ids: frozenset[str]
    partitions: tuple[str, ...] = ()
    seen: dict[str, dict[str, str]] = field(default_factory=dict)

    def path(self, node: Node, namespace: str | None = None) -> ObjPath:
        try:
            obj = ObjPath.parse(node.text())
        except ValueError as err:
            raise node.fail(str(err)) from None
        if obj.partition not in self.partitions:
            raise node.fail(
                f'partition "{obj.partition}" is not in {self.root.child_path("partitions")}'
            )
        if namespace is not None:
            seen = self.seen.setdefault(namespace, {})
            if obj.full in seen:
                raise node.fail(f'duplicate path "{obj.full}" (also {seen[obj.full]})')
            seen[obj.full] = node.path
        return obj

    def ref(self, node: Node, namespace: str, what: str, section: str) -> str:
        """A reference to an existing object; null/"none" → "none"."""
        text = node.opt_text()
        if text is None or text == "none":
            return "none"
        builtin = namespace == "ssl-cert" and text in CERT_PATHS  # every device has them
        if text not in self.seen.get(namespace, {}) and not builtin:
            raise node.fail(f'no {what} "{text}" in {self.root.child_path(section)}')
        return text


def check_unique(nodes: list[Node], key: str, what: str) -> None:
    """`key` values of the list items must be unique (e.g. device names)."""
    seen: dict[str, str] = {}
    for n in nodes:
        value = n.require(key)
        if value.text() in seen:
            raise value.fail(f'duplicate {what} "{value.value}" (also {seen[value.text()]})')
        seen[value.text()] = value.path
