"""What one BIG-IP device holds, as the F5 source reads it: I/O-free dataclasses.

The objects the boundaries use (virtuals, pools and members, server-ssl and client-ssl
profiles, ssl-cert files and CA bundles) and the device's HA view (`cm/sync-status`,
`cm/device`), gathered per device in `F5State`. Filled by `monitor.sources.f5`; read
by the checks. A device holds tens of thousands of pool members that no boundary uses:
`Pool` keeps them packed in one string and makes `PoolMember`s of them on first use.
Nothing here does I/O or reads the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

from monitor.certs import CertFacts, CertNames
from monitor.model.oidc import ApmState


@dataclass(frozen=True, slots=True)
class SslCert:
    """A `sys/file/ssl-cert` object; for a bundle its top-level fields describe ONE member."""

    path: str
    is_bundle: bool
    fingerprint: str | None  # lowercase hex SHA-256 of the DER, from BIG-IP's "SHA256/AA:…"
    not_after: datetime | None
    subject: str
    issuer: str
    facts: CertFacts | None = None  # only when the PEM itself was read
    # From `subjectAlternativeName` (with the CN of `subject`); None when the field is
    # absent, which means "no SAN extension" only on a TMOS version that reports it
    # (`monitor.certs.reports_san` of `F5State.version`).
    alt_names: CertNames | None = None


@dataclass(frozen=True, slots=True)
class CaBundle:
    """The certificates a CA bundle file really holds, or why that is unknown."""

    path: str
    members: tuple[SslCert, ...] | None  # None: contents unknown
    reader: str  # "ca-bundle-manager", "bash", "none"
    unknown_reason: str = ""


@dataclass(frozen=True, slots=True)
class ServerSslProfile:
    path: str
    ca_file: str | None  # None for "none"
    peer_cert_mode: str
    server_name: str | None  # the SNI BIG-IP sends
    authenticate_name: str | None  # the name the server certificate must match
    expire_cert_response_control: str
    untrusted_cert_response_control: str
    tm_options: tuple[str, ...]
    cert: str | None
    key: str | None
    chain: str | None
    sni_default: bool = False  # REST "sniDefault": BIG-IP's fallback among a virtual's several


@dataclass(frozen=True, slots=True)
class CertKeyChain:
    name: str
    cert: str | None
    key: str | None
    chain: str | None


@dataclass(frozen=True, slots=True)
class ClientSslProfile:
    path: str
    cert_key_chain: tuple[CertKeyChain, ...]
    server_name: str | None
    sni_default: bool


@dataclass(frozen=True, slots=True)
class ProfileRef:
    path: str
    context: str  # clientside | serverside | all
    kind: str  # the profile type from nameReference.link: server-ssl, client-ssl, tcp, http, ...


@dataclass(frozen=True, slots=True)
class Virtual:
    path: str
    destination: str
    enabled: bool
    pool: str | None
    profiles: tuple[ProfileRef, ...]

    def serverside_ssl(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.profiles if p.kind == "server-ssl")

    def clientside_ssl(self) -> tuple[str, ...]:
        return tuple(p.path for p in self.profiles if p.kind == "client-ssl")

    def server_ssl_in_use(
        self, configured: str | None, profiles: Mapping[str, ServerSslProfile]
    ) -> str | None:
        """The server-ssl profile that carries this virtual's traffic to its pool, as the
        checks judge it (None: the virtual carries none).

        `configured` (a boundary's `serverSslProfile`) when the virtual carries it; else the
        virtual's only one; of several (BIG-IP chooses among them by SNI), the one marked
        `sniDefault` (BIG-IP's fallback for every connection no other profile's
        `serverName` matches), else the first in the virtual's order.
        """
        paths = self.serverside_ssl()
        if configured is not None and configured in paths:
            return configured
        defaults = [p for p in paths if (found := profiles.get(p)) and found.sni_default]
        if len(defaults) == 1:
            return defaults[0]
        return paths[0] if paths else None


@dataclass(frozen=True, slots=True)
class PoolMember:
    address: str  # without route domain
    port: int
    name: str
    partition: str
    session: str
    state: str

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


# A member's fields in `PoolMember`'s order: address, port, name, partition, session, state.
MemberFields = tuple[str, int, str, str, str, str]

# Pool members are kept packed: one string per pool, a record per member, fields apart.
_MEMBER_SEP: Final = "\x1e"
_FIELD_SEP: Final = "\x1f"
# A member's usual session and state (research/f5.md §2.8), one character each when packed;
# any other value is kept as it is.
_USUAL: Final = ("user-enabled", "user-disabled", "monitor-enabled", "up", "down", "unchecked")
_CODES: Final = {value: chr(1 + i) for i, value in enumerate(_USUAL)}
_VALUES: Final = {code: value for value, code in _CODES.items()}


def _member_name(address: str, port: int) -> str:
    """The name BIG-IP gives a member made from `address` and `port`: `10.0.0.1:443`,
    IPv6 `2001:db8::1.443`."""
    return f"{address}.{port}" if ":" in address else f"{address}:{port}"


def _pack(partition: str, members: Sequence[MemberFields]) -> str | None:
    """`members` of a pool in `partition` as one string (`Pool.packed`): a member costs its
    address and port, its session and state (one character when usual), and the fields
    that differ from what they usually are: its `name` when not `_member_name(address,
    port)`, its partition when not the pool's. None (the members stay objects) when a
    value would read as another: a separator in a field, an empty name or partition, a
    session or state that is a code."""
    records = []
    for address, port, name, part, session, state in members:
        if not name or not part or session in _VALUES or state in _VALUES:
            return None  # a value that would read as another ("" stands for the usual)
        if name == _member_name(address, port):
            name = ""
        records.append(
            f"{address}\x1f{port}\x1f{name}\x1f{'' if part == partition else part}"
            f"\x1f{_CODES.get(session, session)}\x1f{_CODES.get(state, state)}"
        )
    packed = _MEMBER_SEP.join(records)
    if packed.count(_FIELD_SEP) != 5 * len(records) or packed.count(_MEMBER_SEP) != max(
        0, len(records) - 1
    ):
        return None  # a field holds a separator
    return packed


def _unpack(partition: str, packed: str) -> tuple[PoolMember, ...]:
    members = []
    for record in packed.split(_MEMBER_SEP) if packed else ():
        address, port, name, part, session, state = record.split(_FIELD_SEP)
        number = int(port)
        members.append(
            PoolMember(
                address,
                number,
                name or _member_name(address, number),
                part or partition,
                _VALUES.get(session, session),
                _VALUES.get(state, state),
            )
        )
    return tuple(members)


class Pool:
    """A pool and its members.

    A device holds thousands of pools that no boundary uses: `Pool.packed` keeps a pool's
    members as one string (`_pack`), unpacked into `PoolMember`s on first use of
    `members` (for the few pools the boundaries read). Immutable; equal when the paths
    and members are."""

    __slots__ = ("_members", "_packed", "path")

    path: str
    _packed: str | None
    _members: tuple[PoolMember, ...] | None

    def __init__(self, path: str, members: Iterable[PoolMember] = ()) -> None:
        object.__setattr__(self, "path", path)
        object.__setattr__(self, "_packed", None)
        object.__setattr__(self, "_members", tuple(members))

    @classmethod
    def packed(cls, path: str, members: Sequence[MemberFields]) -> Pool:
        """The pool with `members` (each its `PoolMember` fields in order) packed, or as
        objects when they cannot be."""
        packed = _pack(partition_of(path), members)
        if packed is None:
            return cls(path, (PoolMember(*m) for m in members))
        pool = cls.__new__(cls)
        object.__setattr__(pool, "path", path)
        object.__setattr__(pool, "_packed", packed)
        object.__setattr__(pool, "_members", None)
        return pool

    @property
    def members(self) -> tuple[PoolMember, ...]:
        members = self._members
        if members is None:
            members = _unpack(partition_of(self.path), self._packed or "")
            object.__setattr__(self, "_members", members)  # the same value, kept
        return members

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Pool is immutable: cannot set {name}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Pool is immutable: cannot delete {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Pool):
            return NotImplemented
        if self.path != other.path:
            return False
        if self._packed is not None and other._packed is not None:
            return self._packed == other._packed
        return self.members == other.members

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Pool(path={self.path!r}, members={self.members!r})"


def partition_of(path: str) -> str:
    """The partition of a full path (`/Common/x` → `Common`, `/P/folder/x` → `P`); "" for
    a path without one."""
    parts = path.split("/")
    return parts[1] if len(parts) > 2 else ""


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """`cm/sync-status` as the device reports it; `status` alone is not to be trusted
    (a real capture says `offline` while every detail says in sync)."""

    color: str  # green | blue | yellow | red | gray
    status: str  # In Sync | Changes Pending | Standalone | Disconnected | ...
    mode: str  # high-availability | standalone
    summary: str
    details: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """One `cm/device` entry: a member of the device's trust domain."""

    name: str
    hostname: str
    failover_state: str  # active | standby | offline | ...
    version: str
    management_ip: str
    self_device: bool  # the device that answered


@dataclass(frozen=True, slots=True)
class F5State:
    """What one BIG-IP device holds, for the objects the boundaries use.

    A mapping only proves absence when its collection is not in `failed`.
    """

    device: str
    virtuals: Mapping[str, Virtual] = field(default_factory=dict)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    server_ssl: Mapping[str, ServerSslProfile] = field(default_factory=dict)
    client_ssl: Mapping[str, ClientSslProfile] = field(default_factory=dict)
    certs: Mapping[str, SslCert] = field(default_factory=dict)
    bundles: Mapping[str, CaBundle] = field(default_factory=dict)
    failed: frozenset[str] = frozenset()  # collections that could not be read completely
    version: str = ""
    sync: SyncStatus | None = None  # None: "cm/sync-status" in failed (or not read)
    devices: tuple[DeviceInfo, ...] = ()  # cm/device; empty with "cm/device" in failed
    # APM's OAuth objects, read only when an identity provider names the device
    apm: ApmState | None = None

    def readable(self, *collections: str) -> bool:
        return not any(c in self.failed for c in collections)
