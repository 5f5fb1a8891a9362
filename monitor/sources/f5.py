"""The BIG-IP source: one device's boundary objects per poll, as an `F5State` plus errors.

Owns the poll of one device (DESIGN section 4): read the credentials, authenticate
(`f5_client`), then read, for every configured partition, the collections of `COLLECTIONS`
in parallel on a pool of `f5Concurrency` threads, each collection paging sequentially
(`f5_paging`), parse them (`f5_parse`), work out every CA bundle's contents
(`f5_bundles`), and report how it went. Remote faults never raise out of `poll()`: a
collection that could not be read completely is in `F5State.failed` with its errors
(`SourceError.target` = the collection), and a device of which nothing could be read
(credentials unreadable, login refused, unreachable) gives `(None, status)`.

Requests per poll of a device: one per (collection, partition, page), plus a login when
there is no valid token (and one retry per request refused with a 401 after a re-login).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

import httpx

from monitor.config import BigIPConfig, Config
from monitor.model import F5State, SourceError, SourceStatus
from monitor.sources.errors import SourceFailure
from monitor.sources.f5_bundles import build_bundles
from monitor.sources.f5_client import Exchange, F5Client, read_credentials
from monitor.sources.f5_paging import read_collection
from monitor.sources.f5_parse import (
    parse_ca_bundle_manager,
    parse_client_ssl,
    parse_items,
    parse_pool,
    parse_server_ssl,
    parse_ssl_cert,
    parse_virtual,
)

log = logging.getLogger("f5_linkerd_monitor.f5")

VIRTUALS: Final = "ltm/virtual"
POOLS: Final = "ltm/pool"
SERVER_SSL: Final = "ltm/profile/server-ssl"
CLIENT_SSL: Final = "ltm/profile/client-ssl"
SSL_CERTS: Final = "sys/file/ssl-cert"
CA_BUNDLES: Final = "sys/crypto/ca-bundle-manager"
COLLECTIONS: Final = (VIRTUALS, POOLS, SERVER_SSL, CLIENT_SSL, SSL_CERTS, CA_BUNDLES)

# Query options per collection. Virtuals and pools are read with their subcollections
# expanded (per page) and without $select: whether BIG-IP keeps an expanded subcollection
# under $select is unverified, and a dropped one would look like "no members".
_SELECT: Final = {
    SERVER_SSL: (
        "fullPath,name,partition,subPath,selfLink,caFile,peerCertMode,serverName,"
        "authenticateName,expireCertResponseControl,untrustedCertResponseControl,"
        "tmOptions,cert,key,chain"
    ),
    CLIENT_SSL: "fullPath,name,partition,subPath,selfLink,certKeyChain,serverName,sniDefault",
    SSL_CERTS: "fullPath,name,partition,subPath,selfLink,isBundle,fingerprint,expirationDate,"
    "subject,issuer",
    CA_BUNDLES: "fullPath,name,partition,subPath,selfLink,includeBundle",
}
_EXPAND: Final = frozenset({VIRTUALS, POOLS})


def options(collection: str) -> list[tuple[str, str]]:
    """The query options (besides $filter/$top) a collection is read with."""
    if collection in _EXPAND:
        return [("expandSubcollections", "true")]
    return [("$select", _SELECT[collection])] if collection in _SELECT else []


@dataclass
class _Reads:
    """What one poll's collection reads gave."""

    raw: dict[str, list[tuple[str, Any]]]  # collection → [(partition, item)]
    errors: list[SourceError] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    succeeded: int = 0  # (collection, partition) reads that completed
    version: str = ""


class F5Source:
    """Polls one BIG-IP device; `poll()` is not reentrant (the daemon never overlaps)."""

    def __init__(
        self,
        device: BigIPConfig,
        cfg: Config,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.name = device.name
        self._device = device
        self._poll = cfg.poll
        self._environ = os.environ if environ is None else environ
        concurrency = cfg.poll.f5_concurrency
        self._client = F5Client(
            device, cfg.poll.timeout.total_seconds(), concurrency, transport, clock
        )
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix=f"f5-{self.name}"
        )

    def __repr__(self) -> str:
        return f"F5Source(name={self.name!r}, url={self._device.url!r})"

    def collections(self) -> tuple[str, ...]:
        if self._device.bundle_reader == "none":
            return tuple(c for c in COLLECTIONS if c != CA_BUNDLES)
        return COLLECTIONS

    def poll(self) -> tuple[F5State | None, SourceStatus]:
        started = time.monotonic()
        ex: Exchange | None = None

        def status(errors: list[SourceError]) -> SourceStatus:
            return SourceStatus(
                source=self.name,
                kind="bigip",
                up=not errors,
                errors=tuple(errors),
                duration_seconds=time.monotonic() - started,
                requests=ex.counts() if ex is not None else {},
            )

        try:
            ex = Exchange(read_credentials(self._device, self._environ))
            self._client.prepare(ex)
        except SourceFailure as err:
            log.warning("%s", err.error.message)
            return None, status([err.error])
        reads = self._read_all(ex)
        if not reads.succeeded:  # nothing at all could be read
            return None, status(reads.errors)
        state = self._state(reads)
        return state, status(reads.errors)

    def _read_all(self, ex: Exchange) -> _Reads:
        """Every (collection, partition) of the device, at most f5Concurrency at a time."""
        device = self._device

        def read(collection: str, partition: str) -> tuple[list[Any], str]:
            def get(url: str, what: str) -> Any:
                return self._client.get(ex, url, what, collection)

            return read_collection(
                get,
                device.name,
                collection,
                partition,
                self._poll.f5_page_size,
                options(collection),
            )

        jobs = [
            (c, p, self._pool.submit(read, c, p))
            for c in self.collections()
            for p in device.partitions
        ]
        reads = _Reads({c: [] for c in self.collections()})
        for collection, partition, future in jobs:
            try:
                items, version = future.result()
            except SourceFailure as err:
                reads.errors.append(err.error)
                reads.failed.add(collection)
                continue
            reads.succeeded += 1
            reads.raw[collection].extend((partition, item) for item in items)
            reads.version = reads.version or version
        if ex.fatal is not None:
            log.warning("%s", ex.fatal.message)
        return reads

    def _state(self, reads: _Reads) -> F5State:
        name = self.name
        raw, errors, failed = reads.raw, reads.errors, reads.failed

        def parsed(collection: str, parse: Any, **kw: Any) -> dict[str, Any]:
            out, problems = parse_items(parse, raw.get(collection, []), collection, name, **kw)
            if problems:
                errors.extend(problems)
                failed.add(collection)
            return out

        virtuals = parsed(VIRTUALS, parse_virtual)
        pools = parsed(POOLS, parse_pool)
        server_ssl = parsed(SERVER_SSL, parse_server_ssl)
        client_ssl = parsed(CLIENT_SSL, parse_client_ssl)
        certs = parsed(SSL_CERTS, parse_ssl_cert)
        managers = parsed(CA_BUNDLES, parse_ca_bundle_manager, key=lambda m: m[0])
        broken = [c for c in (SSL_CERTS, CA_BUNDLES) if c in failed]
        unreadable = ""
        if broken:
            codes = sorted({e.reason for e in errors if e.target in broken})
            unreadable = f"{' and '.join(broken)} could not be read completely ({', '.join(codes)})"
        bundles = build_bundles(
            server_ssl,
            certs,
            {path: include for path, include in managers.values()},
            self._device.partitions,
            unreadable,
            self._device.bundle_reader,
        )
        return F5State(
            device=name,
            virtuals=virtuals,
            pools=pools,
            server_ssl=server_ssl,
            client_ssl=client_ssl,
            certs=certs,
            bundles=bundles,
            failed=frozenset(failed),
            version=reads.version,
        )

    def close(self) -> None:
        """Delete the login token (failures ignored) and release the connections."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
