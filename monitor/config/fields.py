"""Field shapes of the config: the validated string, number and duration types.

Each type is an `Annotated` base type with a `Rule` that `monitor.config.decode` applies:
names, URLs (never with credentials), full paths, ports and port names, SHA-256
fingerprints, partitions, certificate globs, check ids and listen addresses. A rule
raises `Invalid` with a message that quotes the value; `monitor.config.schema` uses these
types in its sections.
"""

from __future__ import annotations

import ipaddress
import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from monitor.catalogue import ALL_CHECKS
from monitor.config.decode import POSITIVE, Invalid, Rule, between, did_you_mean, pattern
from monitor.config.strictyaml import quote


def _fingerprint(value: str) -> str:
    digits = value.replace(":", "").lower()
    if not re.fullmatch(r"[0-9a-f]{64}", digits):
        raise Invalid(
            f"invalid SHA-256 fingerprint {quote(value)} (expected 64 hex digits, colons allowed)"
        )
    return digits


def _url(value: str) -> str:
    if re.match(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*@", value):  # never echo credentials
        raise Invalid("credentials in the URL are not allowed (use the credential settings)")
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError for a bad port
    except ValueError:
        raise Invalid(f"invalid URL {quote(value)}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Invalid(f"expected an http:// or https:// URL with a host, got {quote(value)}")
    return value


def _full_path(value: str) -> str:
    if not re.fullmatch(r"(/[^/\s]+){2,}", value):
        raise Invalid(f"expected a full path such as /Common/name, got {quote(value)}")
    return value


def _partition(value: str) -> str:
    if "/" in value:
        raise Invalid(f'partition names have no "/" (write {quote(value.strip("/"))})')
    return value


def _cert_glob(value: str) -> str:
    if value.startswith("^") or value.endswith("$") or ".*" in value:
        raise Invalid(
            f"{quote(value)} looks like a regular expression; write a glob over full paths"
            " such as /Common/default.crt or /Common/f5-*"
        )
    if not value.startswith("/") or any(c.isspace() for c in value):
        raise Invalid(
            f"expected a glob over full paths such as /Common/f5-* or /k8s/*, got {quote(value)}"
        )
    return value


def _port_name(value: str) -> str:
    if value.isdecimal():
        raise Invalid(f"a port name must contain a letter; for a number write {value} unquoted")
    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?", value):
        raise Invalid(f"invalid port name {quote(value)} (e.g. {quote('https')})")
    return value


def _check_id(value: str) -> str:
    if value not in ALL_CHECKS:
        raise Invalid(f"unknown check {quote(value)}{did_you_mean(value, sorted(ALL_CHECKS))}")
    return value


def _listen(value: str) -> str:
    host, sep, port = value.rpartition(":")
    if not sep or not re.fullmatch(r"[0-9]{1,5}", port):
        raise Invalid(f'invalid listen address {quote(value)} (use "host:port" or ":port")')
    if not 1 <= int(port) <= 65535:
        raise Invalid(f"port {int(port)} in {quote(value)} is out of range 1-65535")
    if host.startswith("[") and host.endswith("]"):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise Invalid(f"invalid IPv6 address in {quote(value)}") from None
    elif ":" in host or not re.fullmatch(r"[A-Za-z0-9.-]*", host):
        raise Invalid(f'invalid host in {quote(value)} (write IPv6 addresses as "[::1]:9879")')
    return value


Name = Annotated[str, pattern(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", "name", "bigip-a")]
DnsName = Annotated[str, pattern(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", "name", "my-name")]
EnvName = Annotated[str, pattern(r"[A-Za-z_][A-Za-z0-9_]*", "variable name", "BIGIP_PASSWORD")]
Url = Annotated[str, Rule(_url)]
FullPath = Annotated[str, Rule(_full_path)]
Port = Annotated[int, between(1, 65535)]
PortName = Annotated[str, Rule(_port_name)]
Fingerprint = Annotated[str, Rule(_fingerprint)]
Partition = Annotated[str, Rule(_partition)]
CertGlob = Annotated[str, Rule(_cert_glob)]
CheckId = Annotated[str, Rule(_check_id)]
Listen = Annotated[str, Rule(_listen)]
PositiveDuration = Annotated[timedelta, POSITIVE]
