"""BIG-IP object names in their three spellings, and virtual server destinations.

Owns (research/f5.md §2.0, §2.4, §2.7):
- full paths `/Partition/name` and `/Partition/folder/name` (AS3 / F5 CIS:
  `/<partition>/Shared/<name>`), split into partition, folders and name;
- the URL form `~Partition~folder~name`, with `%` (route domains) encoded `%25`, both
  ways (f5-ansible `transform_name`);
- where the filestore keeps an ssl-cert's file, as a glob
  (`/config/filestore/files_d/<P>_d/certificate_d/:<P>:[<folder>:]<name>_<id>_<rev>`;
  the form for folder objects is UNVERIFIED on real devices), for the util/bash reader;
  only names made of `[A-Za-z0-9._-]` are put into a shell command;
- destinations: `/Common/10.0.0.1:443`, route domain `10.0.0.1%2:443`, IPv6 with a `.`
  before the port `2001:db8::1.443` (and `%2.443`), port `any` (0), and a named
  virtual-address instead of an IP.
Pure.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from monitor.policy.ports import ascii_number

FILESTORE = "/config/filestore/files_d"
_SHELL_SAFE = re.compile(r"[A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class ObjectPath:
    partition: str
    folders: tuple[str, ...]
    name: str

    @property
    def full(self) -> str:
        return "/" + "/".join((self.partition, *self.folders, self.name))


def split_path(path: str) -> ObjectPath | None:
    """`/k8s/Shared/x` → (k8s, (Shared,), x); None unless a full path."""
    parts = path.split("/")
    if len(parts) < 3 or parts[0] or not all(parts[1:]):
        return None
    return ObjectPath(parts[1], tuple(parts[2:-1]), parts[-1])


def encode_path(path: str) -> str:
    """`/k8s/Shared/x%2` → `~k8s~Shared~x%252`, for a REST URL."""
    return path.replace("/", "~").replace("%", "%25")


def decode_path(encoded: str) -> str:
    """`~k8s~Shared~x%252` → `/k8s/Shared/x%2`."""
    return encoded.replace("%25", "%").replace("~", "/")


def filestore_glob(path: str) -> str | None:
    """The shell glob of an ssl-cert's file; None when the name is not shell-safe."""
    obj = split_path(path)
    if obj is None:
        return None
    segments = (obj.partition, *obj.folders, obj.name)
    if not all(_SHELL_SAFE.fullmatch(s) for s in segments):
        return None
    inner = ":".join(segments)
    # <name>_<id>_<rev>: the digits keep `x` from matching a neighbour called `x_old`
    return f"{FILESTORE}/{obj.partition}_d/certificate_d/:{inner}_[0-9]*_[0-9]*"


@dataclass(frozen=True, slots=True)
class Destination:
    partition: str  # "" when the destination has none
    address: str  # IP without route domain, or the name of a virtual-address
    route_domain: int | None
    port: int  # 0 for `any`

    @property
    def endpoint(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


_RD = re.compile(r"^(.*?)(?:%([0-9]{1,5}))?$")


def is_port(text: str) -> bool:
    """ASCII digits, at most five (`ascii_number`)."""
    return ascii_number(text, 5) is not None


def parse_destination(text: str) -> Destination | None:
    """A virtual's `destination`, or None when it is not one of the known forms."""
    partition = ""
    rest = text.strip()
    if rest.startswith("/"):
        partition, _, rest = rest[1:].partition("/")
    for sep in (":", "."):
        host, found, port = rest.rpartition(sep)
        if not found or not (is_port(port) or port == "any"):
            continue
        match = _RD.match(host)
        if match is None:
            continue
        address, rd = match.group(1), match.group(2)
        number = 0 if port == "any" else int(port)
        if not address or number > 65535:
            continue
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if sep == ":" and (ip is None or ip.version == 4) and ":" not in address:
            return Destination(partition, address, int(rd) if rd else None, number)
        if sep == "." and ip is not None and ip.version == 6:
            return Destination(partition, str(ip), int(rd) if rd else None, number)
    return None
