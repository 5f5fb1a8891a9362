"""A collection's pages parsed into model objects, unchanged pages taken from the last poll.

Owns how one page of a collection becomes model objects (`parse_page`: the parser and key
of each collection, the ssl-certs' `checksum`s) and the reuse rule of `PageMemory`: a
page whose body has the same digest (BLAKE2b, 128 bits, of the bytes received) as the page
read at the same URL and offset in the last poll of the same (collection, partition) is
neither decoded nor parsed again; its `Page` summary, objects, item errors and checksums
are last time's, which are exactly what decoding and parsing these bytes again would give
(a page's parse depends on its bytes, its offset and the partition only). Every page is
still requested in every poll, so what is reused is what the device has just sent: a page
that changed is parsed again, and a read that failed keeps nothing for the next poll.

Kept per page between polls: the digest, the `Page` summary and a tuple of the objects it
parsed to, which are the very objects the device's `F5State` holds. No I/O here.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from monitor.model import SourceError
from monitor.requirements import (
    CA_BUNDLES,
    CLIENT_SSL,
    DEVICES,
    POOLS,
    SERVER_SSL,
    SSL_CERTS,
    VIRTUALS,
)
from monitor.sources.f5.apm import APM_KEYS, APM_PARSERS
from monitor.sources.f5.ha import parse_device
from monitor.sources.f5.paging import Page
from monitor.sources.f5.parse import (
    parse_ca_bundle_manager,
    parse_client_ssl,
    parse_items,
    parse_pool,
    parse_server_ssl,
    parse_ssl_cert,
    parse_virtual,
)

PARSERS: Final[dict[str, Callable[[Any], Any]]] = {
    VIRTUALS: parse_virtual,
    POOLS: parse_pool,
    SERVER_SSL: parse_server_ssl,
    CLIENT_SSL: parse_client_ssl,
    SSL_CERTS: parse_ssl_cert,
    CA_BUNDLES: parse_ca_bundle_manager,
    DEVICES: parse_device,
    **APM_PARSERS,
}
_KEYS: Final[dict[str, Callable[[Any], str]]] = {
    CA_BUNDLES: lambda m: str(m[0]),
    DEVICES: lambda d: str(d.name),
    **APM_KEYS,
}


def key_of(collection: str) -> Callable[[Any], str]:
    """How an object of `collection` is keyed in `F5State` (its path, mostly)."""
    return _KEYS.get(collection, _path)


def _path(obj: Any) -> str:
    return str(obj.path)


def digest(body: bytes) -> bytes:
    return hashlib.blake2b(body, digest_size=16).digest()


@dataclass(frozen=True, slots=True)
class Parsed:
    """What one page's items gave: objects (first of each key), item errors, checksums."""

    objects: tuple[Any, ...]
    errors: tuple[SourceError, ...] = ()
    checksums: tuple[tuple[str, str], ...] = ()  # ssl-cert path → checksum


def parse_page(
    device: str, collection: str, partition: str | None, items: list[Any], offset: int
) -> Parsed:
    """The objects of one page of `collection` (items numbered from `offset + 1`)."""
    pairs = [(partition or "", item) for item in items]
    parsed, problems = parse_items(
        PARSERS[collection], pairs, collection, device, key=key_of(collection), offset=offset
    )
    checksums: tuple[tuple[str, str], ...] = ()
    if collection == SSL_CERTS:
        checksums = tuple(
            (str(item.get("fullPath")), item["checksum"])
            for item in items
            if isinstance(item, dict) and isinstance(item.get("checksum"), str)
        )
    return Parsed(tuple(parsed.values()), tuple(problems), checksums)


@dataclass(frozen=True, slots=True)
class _Entry:
    digest: bytes
    offset: int
    page: Page
    parsed: Parsed


class Pages:
    """The pages of one read of one (collection, partition): last poll's to reuse, this
    poll's as they come."""

    def __init__(self, last: dict[str, _Entry]) -> None:
        self._last = last
        self.read: dict[str, _Entry] = {}
        self.reused = 0

    def reuse(self, url: str, body: bytes, offset: int) -> tuple[Page, Parsed] | bytes:
        """Last poll's page at `url` when `body` is unchanged, else the body's digest."""
        sum_ = digest(body)
        entry = self._last.get(url)
        if entry is None or entry.digest != sum_ or entry.offset != offset:
            return sum_
        self.read[url] = entry
        self.reused += 1
        return entry.page, entry.parsed

    def add(self, url: str, sum_: bytes, offset: int, page: Page, parsed: Parsed) -> None:
        self.read[url] = _Entry(sum_, offset, page, parsed)

    @property
    def unchanged(self) -> bool:
        """Every page was last poll's, and there were as many."""
        return self.reused == len(self.read) == len(self._last)


class PageMemory:
    """Each (collection, partition)'s pages of the last poll that read it completely.
    Thread-safe: a poll reads its collections in parallel."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[tuple[str, str | None], dict[str, _Entry]] = {}

    def start(self, collection: str, partition: str | None) -> Pages:
        """A new read of `collection` in `partition`; what it does not `keep` is gone."""
        with self._lock:
            return Pages(self._pages.pop((collection, partition), {}))

    def keep(self, collection: str, partition: str | None, pages: Pages) -> None:
        """`pages` read `collection` in `partition` completely: the next poll may reuse them."""
        with self._lock:
            self._pages[(collection, partition)] = pages.read
