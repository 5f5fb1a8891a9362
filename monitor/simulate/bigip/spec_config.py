"""Reading the `bigip.config` section of a scenario into a validated `ConfigSpec`.

Everything an operator can get wrong is caught here and reported with its place:
unknown keys, malformed paths, undeclared partitions, duplicate paths, unknown
certificate ids, SSL profiles naming ssl-certs that do not exist, virtuals naming
missing pools or profiles, bad destinations (`ADDRESS:PORT`, `ADDRESS%RD:PORT`,
`IPV6.PORT`) and bad member addresses.  A virtual may name the common built-in
profiles (`/Common/tcp`, `/Common/http`, ...) without defining them; others need
`type:` because the profile type only shows in `nameReference.link`.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from typing import Any

from monitor.simulate.bigip.links import ObjPath
from monitor.simulate.bigip.spec import (
    CertFile,
    ConfigSpec,
    Manager,
    Member,
    Pool,
    ProfileRef,
    Reader,
    SslProfile,
    Virtual,
)
from monitor.simulate.spec import Node

CONFIG_KEYS = (
    "partitions",
    "sslCerts",
    "caBundleManagers",
    "clientSslProfiles",
    "serverSslProfiles",
    "pools",
    "virtuals",
    "oauthProviders",  # APM: read by monitor.simulate.bigip.apm
    "builtinCaBundle",
)
# Built-in profiles a virtual may name without defining them, with their type
# (the type only shows in nameReference.link: /ltm/profile/<type>/...).
BUILTIN_PROFILES = {
    "/Common/tcp": "tcp",
    "/Common/f5-tcp-progressive": "tcp",
    "/Common/f5-tcp-lan": "tcp",
    "/Common/f5-tcp-wan": "tcp",
    "/Common/tcp-legacy": "tcp",
    "/Common/http": "http",
    "/Common/http2": "http2",
    "/Common/udp": "udp",
    "/Common/fastL4": "fastl4",
    "/Common/oneconnect": "one-connect",
    "/Common/websocket": "websocket",
    "/Common/clientssl": "client-ssl",
    "/Common/serverssl": "server-ssl",
}
_V4_DEST = re.compile(r"^(\d{1,3}(?:\.\d{1,3}){3})(%\d+)?:(\d+|any)$")
_V6_DEST = re.compile(r"^([0-9A-Fa-f:]+)(%\d+)?\.(\d+|any)$")
_TM_OPTIONS = re.compile(r"^\{(?: [a-z0-9.-]+)* \}$")
_TYPE = re.compile(r"^[a-z0-9-]+$")


def parse_config(node: Node, cert_ids: frozenset[str]) -> ConfigSpec:
    node.mapping(CONFIG_KEYS)
    partitions = ("Common", *(p for p in node.get("partitions").texts() if p != "Common"))
    r = Reader(node, cert_ids, partitions)
    files = tuple(_cert_file(r, n) for n in node.get("sslCerts").items())
    managers = tuple(_manager(r, n) for n in node.get("caBundleManagers").items())
    client = tuple(
        _profile(r, n, _CLIENT_FIELDS, client=True) for n in node.get("clientSslProfiles").items()
    )
    server = tuple(
        _profile(r, n, _SERVER_FIELDS, client=False) for n in node.get("serverSslProfiles").items()
    )
    pools = tuple(_pool(r, n) for n in node.get("pools").items())
    types = {p.path.full: "client-ssl" for p in client} | {
        p.path.full: "server-ssl" for p in server
    }
    virtuals = tuple(_virtual(r, n, types) for n in node.get("virtuals").items())
    bundle = node.get("builtinCaBundle").choice(("sample", "real"), "sample")
    return ConfigSpec(partitions, files, managers, client, server, pools, virtuals, bundle)


def _cert_file(r: Reader, node: Node) -> CertFile:
    node.mapping(("path", "cert", "bundle"))
    path = r.path(node.require("path"), "ssl-cert")
    single, bundle = node.get("cert"), node.get("bundle")
    if (single.value is None) == (bundle.value is None):
        raise node.fail("give exactly one of cert (a certificate id) or bundle (a list of ids)")
    ids_nodes = [single] if single.value is not None else list(bundle.items())
    if not ids_nodes:
        raise bundle.fail("a bundle needs at least one certificate")
    for id_node in ids_nodes:
        if id_node.text() not in r.cert_ids:
            raise id_node.fail(f'unknown certificate "{id_node.value}"')
    return CertFile(path, tuple(n.text() for n in ids_nodes), bundle.value is not None)


def _manager(r: Reader, node: Node) -> Manager:
    node.mapping(("path", "includeBundle", "description"))
    files = dict(r.seen.get("ssl-cert", {}))  # managers may include sslCerts entries only
    path = r.path(node.require("path"), "ssl-cert")
    include = []
    for item in node.require("includeBundle").items():
        if item.text() not in files:
            raise item.fail(f'no ssl-cert "{item.value}" in {r.root.child_path("sslCerts")}')
        include.append(item.text())
    if not include:
        raise node.get("includeBundle").fail("must name at least one ssl-cert")
    return Manager(path, tuple(include), node.get("description").opt_text())


def _cert_ref(r: Reader, node: Node) -> str:
    return r.ref(node, "ssl-cert", "ssl-cert", "sslCerts")


def _key_ref(r: Reader, node: Node) -> str:
    text = node.opt_text()
    if text is None or text == "none":
        return "none"
    r.path(node)
    return text


def _name(_: Reader, node: Node) -> str:
    return node.opt_text() or "none"


def _flag(_: Reader, node: Node) -> str:
    return "true" if node.boolean() else "false"


def _tm_options(_: Reader, node: Node) -> Any:
    if isinstance(node.value, list):
        return list(node.texts())
    text = node.text()
    if not _TM_OPTIONS.match(text):
        raise node.fail('expected a list of options or the string form "{ a b }"')
    return text


def _choice(*options: str) -> Callable[[Reader, Node], Any]:
    return lambda _, node: node.choice(options)


def _text(_: Reader, node: Node) -> Any:
    return node.text()


def _integer(_: Reader, node: Node) -> Any:
    return node.integer()


_COMMON_FIELDS: Mapping[str, Callable[[Reader, Node], Any]] = {
    "caFile": _cert_ref,
    "peerCertMode": _choice("ignore", "require", "request"),
    "serverName": _name,
    "sniDefault": _flag,
    "sniRequire": _flag,
    "ciphers": _text,
    "tmOptions": _tm_options,
    "description": _name,
    "authenticateDepth": _integer,
}
_SERVER_FIELDS = {
    **_COMMON_FIELDS,
    "authenticateName": _name,
    "cert": _cert_ref,
    "key": _key_ref,
    "chain": _cert_ref,
    "expireCertResponseControl": _choice("drop", "ignore"),
    "untrustedCertResponseControl": _choice("drop", "ignore"),
}
_CLIENT_FIELDS = {**_COMMON_FIELDS, "clientCertCa": _cert_ref}


def _profile(
    r: Reader, node: Node, fields: Mapping[str, Callable[[Reader, Node], Any]], client: bool
) -> SslProfile:
    node.mapping(("path", *fields, *(("certKeyChain",) if client else ())))
    path = r.path(node.require("path"), "profile")
    values = {k: fields[k](r, node.get(k)) for k in fields if k in node.mapping()}
    if not client and (values.get("cert", "none") == "none") != (
        values.get("key", "none") == "none"
    ):
        raise node.fail("cert and key go together (both set or both none)")
    chains = []
    for i, entry in enumerate(node.get("certKeyChain").items()):
        entry.mapping(("name", "cert", "key", "chain"))
        cert = _cert_ref(r, entry.require("cert"))
        default_name = cert.rsplit("/", 1)[-1].removesuffix(".crt") or f"set{i}"
        chains.append(
            {
                "name": entry.get("name").text(default_name),
                "cert": cert,
                "key": _key_ref(r, entry.require("key")),
                "chain": _cert_ref(r, entry.get("chain")),
            }
        )
    return SslProfile(path, values, tuple(chains))


def _address(node: Node) -> tuple[str, bool]:
    """`10.0.0.1`, `10.0.0.1%2` or an IPv6 address; returns (text, is_ipv6)."""
    text = node.text()
    bare, _, rd = text.partition("%")
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        raise node.fail(
            f'"{text}" is not an IP address (optionally with %<route domain>)'
        ) from None
    if rd and not rd.isdigit():
        raise node.fail(f'"{text}": the route domain after % must be a number')
    return text, ip.version == 6


def _pool(r: Reader, node: Node) -> Pool:
    node.mapping(("path", "monitor", "loadBalancingMode", "description", "members"))
    path = r.path(node.require("path"), "pool")
    monitor = node.get("monitor").opt_text()
    members: list[Member] = []
    seen: dict[str, str] = {}
    for m in node.get("members").items():
        m.mapping(("address", "port", "name", "partition", "session", "state"))
        address, ipv6 = _address(m.require("address"))
        port = m.require("port").integer()
        if not 0 <= port <= 65535:
            raise m.get("port").fail("must be between 0 and 65535")
        node_name = m.get("name").text(address)
        partition = m.get("partition").text(path.partition)
        if partition not in r.partitions:
            raise m.get("partition").fail(
                f'partition "{partition}" is not in {r.root.child_path("partitions")}'
            )
        member = ObjPath(partition, None, f"{node_name}{'.' if ipv6 else ':'}{port}")
        if member.full in seen:
            raise m.fail(f'duplicate member "{member.full}" (also {seen[member.full]})')
        seen[member.full] = m.path
        session = m.get("session").choice(
            ("user-enabled", "user-disabled", "monitor-enabled"),
            "monitor-enabled" if monitor else "user-enabled",
        )
        state = m.get("state").choice(
            ("up", "down", "unchecked", "user-down", "checking"), "up" if monitor else "unchecked"
        )
        members.append(Member(member, address, session, state))
    return Pool(
        path,
        monitor,
        node.get("loadBalancingMode").text("round-robin"),
        node.get("description").opt_text(),
        tuple(members),
    )


def _destination(node: Node, partition: str) -> tuple[str, bool, str]:
    text = node.text()
    if text.startswith("/"):
        partition, _, text = text[1:].partition("/")
    for pattern, version in ((_V4_DEST, 4), (_V6_DEST, 6)):
        m = pattern.match(text)
        if m:
            try:
                ok = ipaddress.ip_address(m.group(1)).version == version
            except ValueError:
                ok = False
            port = m.group(3)
            if ok and (port == "any" or int(port) <= 65535):
                return f"/{partition}/{text}", version == 6, m.group(2) or ""
    raise node.fail(
        f'invalid destination "{node.value}" (expected ADDRESS:PORT, ADDRESS%RD:PORT '
        "or IPV6.PORT, optionally after /Partition/)"
    )


def _virtual(r: Reader, node: Node, ssl_types: Mapping[str, str]) -> Virtual:
    node.mapping(
        (
            "path",
            "destination",
            "pool",
            "enabled",
            "profiles",
            "description",
            "sourceAddressTranslation",
        )
    )
    path = r.path(node.require("path"), "virtual")
    dest, ipv6, rd = _destination(node.require("destination"), path.partition)
    pool = r.ref(node.get("pool"), "pool", "pool", "pools")
    profiles: list[ProfileRef] = []
    names: set[str] = set()
    for p in node.get("profiles").items():
        p.mapping(("path", "context", "type"))
        pnode = p.require("path")
        ppath = pnode.text()
        kind = p.get("type").opt_text() or ssl_types.get(ppath) or BUILTIN_PROFILES.get(ppath)
        if kind is None:
            raise pnode.fail(
                f'no profile "{ppath}" in clientSslProfiles or serverSslProfiles '
                "(built-in profiles other than the common ones need type:)"
            )
        if not _TYPE.match(kind):
            raise p.get("type").fail(f'"{kind}" is not a profile type (e.g. tcp, http)')
        if ppath in names:
            raise pnode.fail(f'profile "{ppath}" is listed twice')
        names.add(ppath)
        try:
            obj = ObjPath.parse(ppath)
        except ValueError as err:
            raise pnode.fail(str(err)) from None
        default = {"client-ssl": "clientside", "server-ssl": "serverside"}.get(kind, "all")
        context = p.get("context").choice(("all", "clientside", "serverside"), default)
        profiles.append(ProfileRef(obj, context, kind))
    snat = node.get("sourceAddressTranslation").choice(("automap", "none"), "automap")
    return Virtual(
        path,
        dest,
        ipv6,
        rd,
        None if pool == "none" else pool,
        node.get("enabled").boolean(True),
        tuple(profiles),
        node.get("description").opt_text(),
        snat,
    )
