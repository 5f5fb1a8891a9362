"""iControl REST JSON → the BIG-IP model: pure functions, one per object kind.

Owns how every field the checks use is read from the real response shapes
(research/f5.md §2): full paths (`fullPath`, else `/partition/subPath/name`), `"none"` as
an unset reference, booleans that are JSON `true` or strings `"true"`, `enabled`/`disabled`
as the presence of a key, a virtual's profiles with the type read from
`nameReference.link`, pool members by `address` (route domain `%N` removed) with the port
from the member name (IPv6 members are `addr.port`), `tmOptions` as a list or a
`"{ a b }"` string, `certKeyChain`, ssl-cert fingerprints (`SHA256/AA:…` → lowercase
hex), epoch expiry (→ aware UTC datetime) and `subjectAlternativeName` (→ `CertNames`,
None when the field is absent: what that means depends on the TMOS version,
`monitor.certs.reports_san`), ca-bundle-manager `includeBundle`.

Kept small, as a device holds thousands of objects no boundary uses: a pool's members are
packed into one string (`Pool.packed`), the references thousands of objects share (profile,
pool, file paths, issuers) are interned, and equal profile lists are one tuple.

Odd values never raise: `parse_items` skips an item that cannot be read and returns a
`bad_json` SourceError naming it, e.g. `bigip-a: item 3 of ltm/pool (partition k8s): …`.
No I/O, no clock, no logging.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar

from monitor.certs import normalize_fingerprint, parse_f5_san
from monitor.model import (
    CertKeyChain,
    ClientSslProfile,
    Pool,
    PoolMember,
    ProfileRef,
    ServerSslProfile,
    SourceError,
    SslCert,
    Virtual,
)
from monitor.sources.f5.paths import is_port

T = TypeVar("T")
Item = Mapping[str, Any]
_PROFILE_TYPE = re.compile(r"/mgmt/tm/ltm/profile/([^/?#]+)/")
_ROUTE_DOMAIN = re.compile(r"%\d+$")
_MAX_EPOCH = 253402300799  # 9999-12-31T23:59:59Z
_F5_FINGERPRINT = re.compile(r"SHA256/((?:[0-9A-Fa-f]{2}:){31}[0-9A-Fa-f]{2})")  # BIG-IP's form


class Malformed(ValueError):
    """An item that cannot be turned into a model object (the message says why)."""


def _text(item: Item, key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if type(value) is str:  # the common case, first: 50,000 members read 5 fields each
        return value
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        if value is None and default is None:
            raise Malformed(f"no {key}")
        raise Malformed(f"{key} is {type(value).__name__}, not a string")
    return str(value)


def ref(value: Any) -> str | None:
    """A reference field: None for unset (`"none"`, empty, null), else the text (interned:
    thousands of objects name the same few profiles, files and pools)."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).strip()
    return None if text in ("", "none") else sys.intern(text)


def flag(value: Any) -> bool:
    """BIG-IP booleans: JSON `true` or the strings `"true"`, `"enabled"`, `"yes"`."""
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in ("true", "enabled", "yes")


def full_path(item: Item) -> str:
    """`fullPath`, or `/partition[/subPath]/name` when only the parts are given."""
    path = item.get("fullPath")
    if isinstance(path, str) and path.startswith("/"):
        return path
    name, partition = item.get("name"), item.get("partition")
    if isinstance(name, str) and name.startswith("/"):
        return name
    if isinstance(name, str) and name and isinstance(partition, str) and partition:
        sub = item.get("subPath")
        middle = f"/{sub}" if isinstance(sub, str) and sub else ""
        return f"/{partition}{middle}/{name}"
    raise Malformed("no fullPath (nor name and partition)")


def _items_of(reference: Any, key: str) -> list[Any]:
    """The expanded `items` of a subcollection reference; [] when not expanded or empty."""
    if reference is None:
        return []
    if not isinstance(reference, dict):
        raise Malformed(f"{key} is {type(reference).__name__}, not an object")
    items = reference.get("items", [])
    if not isinstance(items, list):
        raise Malformed(f"{key}.items is not a list")
    return items


def profile_kind(link: Any) -> str:
    """`server-ssl` from `https://localhost/mgmt/tm/ltm/profile/server-ssl/~C~x?ver=…`."""
    match = _PROFILE_TYPE.search(link) if isinstance(link, str) else None
    return match.group(1) if match else "unknown"


@lru_cache(maxsize=4096)
def _profiles(refs: tuple[tuple[str, str, str], ...]) -> tuple[ProfileRef, ...]:
    """One shared tuple of `ProfileRef`s per distinct list: virtuals repeat a few."""
    intern = sys.intern
    return tuple(
        ProfileRef(intern(path), intern(context), intern(kind)) for path, context, kind in refs
    )


def parse_virtual(item: Item) -> Virtual:
    profiles = []
    for index, p in enumerate(_items_of(item.get("profilesReference"), "profilesReference")):
        if not isinstance(p, dict):
            raise Malformed(f"profile {index + 1} is not an object")
        name_ref = p.get("nameReference")
        link = name_ref.get("link") if isinstance(name_ref, dict) else None
        context = p.get("context")
        profiles.append(
            (full_path(p), context if isinstance(context, str) else "all", profile_kind(link))
        )
    disabled = "disabled" in item and item["disabled"] not in (False, "false")
    return Virtual(
        path=full_path(item),
        destination=_text(item, "destination", ""),
        enabled=not disabled,
        pool=ref(item.get("pool")),
        profiles=_profiles(tuple(profiles)),
    )


def strip_route_domain(address: str) -> str:
    """`10.0.0.1%2` → `10.0.0.1`."""
    return _ROUTE_DOMAIN.sub("", address) if "%" in address else address


def member_port(name: str) -> int:
    """The port of a member named `node:port`, or IPv6 `2001:db8::1.443` (`any` is 0)."""
    node, sep, port = name.rpartition(":")
    valid = is_port(port) or port == "any"
    if sep and (":" in node or not valid):
        node, sep, port = name.rpartition(".")  # IPv6 writes `.` before the port
        sep = sep if ":" in node else ""
        valid = is_port(port) or port == "any"
    if not sep or not valid:
        raise Malformed(f"no port in member name {name!r}")
    number = 0 if port == "any" else int(port)
    if not 0 <= number <= 65535:
        raise Malformed(f"port {number} of member {name!r} is out of range")
    return number


def _member(item: Item, pool_partition: str) -> tuple[str, int, str, str, str, str]:
    """A member's `PoolMember` fields, in order."""
    name = _text(item, "name")
    address = strip_route_domain(_text(item, "address"))
    if not address:
        raise Malformed(f"member {name!r} has an empty address")
    return (
        address,
        member_port(name),
        name,
        _text(item, "partition", pool_partition),
        _text(item, "session", ""),
        _text(item, "state", ""),
    )


def parse_member(item: Item, pool_partition: str) -> PoolMember:
    return PoolMember(*_member(item, pool_partition))


def parse_pool(item: Item) -> Pool:
    path = sys.intern(full_path(item))  # the same string as the virtuals' `pool`
    partition = path.split("/")[1]
    members = []
    for index, m in enumerate(_items_of(item.get("membersReference"), "membersReference")):
        if not isinstance(m, dict):
            raise Malformed(f"member {index + 1} is not an object")
        try:
            members.append(_member(m, partition))
        except Malformed as err:
            raise Malformed(f"member {index + 1}: {err}") from None
    return Pool.packed(path, members)  # tuples: thousands of pools no boundary reads


def tm_options(value: Any) -> tuple[str, ...]:
    """`["a", "b"]` or `"{ a b }"` (or `"none"`) → ("a", "b")."""
    if isinstance(value, list):
        return tuple(str(v).strip() for v in value if str(v).strip())
    if isinstance(value, str):
        words = value.strip().removeprefix("{").removesuffix("}").split()
        return tuple(w for w in words if w != "none")
    return ()


def parse_server_ssl(item: Item) -> ServerSslProfile:
    return ServerSslProfile(
        path=sys.intern(full_path(item)),
        ca_file=ref(item.get("caFile")),
        peer_cert_mode=ref(item.get("peerCertMode")) or "ignore",
        server_name=ref(item.get("serverName")),
        authenticate_name=ref(item.get("authenticateName")),
        expire_cert_response_control=ref(item.get("expireCertResponseControl")) or "drop",
        untrusted_cert_response_control=ref(item.get("untrustedCertResponseControl")) or "drop",
        tm_options=tm_options(item.get("tmOptions")),
        cert=ref(item.get("cert")),
        key=ref(item.get("key")),
        chain=ref(item.get("chain")),
        sni_default=flag(item.get("sniDefault")),
    )


def parse_client_ssl(item: Item) -> ClientSslProfile:
    chains = item.get("certKeyChain")
    if chains is None:  # before certKeyChain (11.x): the top-level fields are the only pair
        chains = [{"name": "default", **{k: item.get(k) for k in ("cert", "key", "chain")}}]
    if not isinstance(chains, list):
        raise Malformed("certKeyChain is not a list")
    entries = []
    for index, c in enumerate(chains):
        if not isinstance(c, dict):
            raise Malformed(f"certKeyChain entry {index + 1} is not an object")
        name = c.get("name")
        entries.append(
            CertKeyChain(
                name=name if isinstance(name, str) else "",
                cert=ref(c.get("cert")),
                key=ref(c.get("key")),
                chain=ref(c.get("chain")),
            )
        )
    return ClientSslProfile(
        path=sys.intern(full_path(item)),
        cert_key_chain=tuple(entries),
        server_name=ref(item.get("serverName")),
        sni_default=flag(item.get("sniDefault")),
    )


def epoch_time(value: Any) -> datetime | None:
    """Epoch seconds (int, or digits in a string) → aware UTC datetime; None if odd."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())  # ASCII only: "²" is a digit to isdigit(), not to int()
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not 0 <= value <= _MAX_EPOCH:
        return None
    return datetime.fromtimestamp(value, UTC)


def parse_ssl_cert(item: Item) -> SslCert:
    fingerprint = item.get("fingerprint")
    if isinstance(fingerprint, str) and (match := _F5_FINGERPRINT.fullmatch(fingerprint)):
        fingerprint = match.group(1).replace(":", "").lower()  # what normalize_fingerprint gives
    subject = _text(item, "subject", "")
    san = item.get("subjectAlternativeName")
    if san is not None and not isinstance(san, str):
        raise Malformed(f"subjectAlternativeName is {type(san).__name__}, not a string")
    return SslCert(
        path=sys.intern(full_path(item)),
        is_bundle=flag(item.get("isBundle")),
        fingerprint=normalize_fingerprint(fingerprint) if isinstance(fingerprint, str) else None,
        not_after=epoch_time(item.get("expirationDate")),
        subject=subject,
        issuer=sys.intern(_text(item, "issuer", "")),  # a few CAs issue them all
        alt_names=parse_f5_san(subject, san) if san is not None else None,
    )


def parse_ca_bundle_manager(item: Item) -> tuple[str, tuple[str, ...]]:
    """(path, the ssl-cert paths its `includeBundle` names)."""
    include = item.get("includeBundle", [])
    if isinstance(include, str):
        include = [] if ref(include) is None else [include]
    if not isinstance(include, list) or not all(isinstance(p, str) for p in include):
        raise Malformed("includeBundle is not a list of paths")
    return full_path(item), tuple(p for p in include if ref(p) is not None)


def _path_key(obj: Any) -> str:
    return str(obj.path)


def parse_items(
    parse: Callable[[Item], T],
    items: list[tuple[str, Any]],
    collection: str,
    device: str,
    key: Callable[[T], str] = _path_key,
    offset: int = 0,
) -> tuple[dict[str, T], list[SourceError]]:
    """Parse (partition, item) pairs into {key: object}, skipping malformed items.

    Items are numbered from `offset + 1` per partition (a page's first item is
    `offset + 1`); partition "" is a collection outside partitions (`cm/device`).
    The first occurrence of a key wins (a page boundary may repeat an object)."""
    out: dict[str, T] = {}
    errors: list[SourceError] = []
    numbers: dict[str, int] = {}
    for partition, raw in items:
        numbers[partition] = numbers.get(partition, offset) + 1
        try:
            if not isinstance(raw, dict):
                raise Malformed(f"expected an object, got {type(raw).__name__}")
            obj = parse(raw)
        except (Malformed, TypeError, ValueError, KeyError, AttributeError) as err:
            scope = f" (partition {partition})" if partition else ""
            where = f"{device}: item {numbers[partition]} of {collection}{scope}"
            named = _path_hint(raw)
            errors.append(SourceError("bad_json", f"{where}{named}: {err}", collection))
            continue
        out.setdefault(key(obj), obj)
    return out, errors


def _path_hint(raw: Any) -> str:
    if isinstance(raw, dict):
        try:
            return f" ({full_path(raw)})"
        except Malformed:
            return ""
    return ""
