"""The BIG-IP source: one device's boundary objects per poll, as an `F5State` plus errors.

Owns the poll of one device (DESIGN section 4): read the credentials (`credentials`),
authenticate (`client`), then read on a pool of `f5Concurrency` threads
- for every configured partition, the collections of `COLLECTIONS`, each paging
  sequentially (`paging`) and parsed page by page (`pages`, `parse`), so the raw JSON of
  a large configuration is never held whole; a page whose bytes are those of the same page
  in the last poll is not decoded nor parsed again (`pages`), and a collection none of
  whose pages changed keeps last poll's mapping (the same object; and the same `F5State`
  when nothing at all changed, so that readers can tell at once);
- once per device, `cm/device` (paged, no partition) and the `cm/sync-status` stats
  document (`ha`);
- for a device an identity provider names, `sys/provision`, then (unless APM is not
  provisioned) APM's OAuth collections (`apm`: `F5State.apm`);
then work out every CA bundle's contents (`bundles`, then `bash` where the
`bundleReader` allows it), read the boundaries' certificate and chain files the same way
(`certfiles`: `SslCert.facts`, chain files as `bundles` entries) and report how it
went. Everything happens within the device's time budget, with retries of transient
faults (`exchange`).

Remote faults never raise out of `poll()`: a collection that could not be read completely
is in `F5State.failed` with its errors (`SourceError.target` = the collection; HA reads
are "cm/device" and "cm/sync-status"), and a device of which nothing could be read
(credentials unreadable, login refused, unreachable) gives `(None, status)`.

Requests per poll of a device, when nothing fails: one per page of each (collection,
partition) (`pages_needed`), one for `cm/device` per page, one for `cm/sync-status`,
a login when there is no valid token, and one util/bash call per file — a CA bundle
that only bash can read, or a boundary's client/edge certificate or chain file — that
changed since it was last read (ssl-cert `checksum`), each at most once; under `auto`
after a refusal, none for `REFUSED_PAUSE`.
"""

from __future__ import annotations

import logging
import os
import random
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from monitor.config.schema import BigIPConfig, Config
from monitor.model import CaBundle, F5State, SourceError, SourceStatus, SslCert
from monitor.requirements import (
    CA_BUNDLES,
    CLIENT_SSL,
    DEVICES,
    OIDC_TASKS,
    POOLS,
    PROVISION,
    SERVER_SSL,
    SSL_CERTS,
    SYNC_STATUS,
    VIRTUALS,
)
from monitor.sources.errors import SourceFailure
from monitor.sources.f5.apm import (
    PARTITIONED,
    build_apm,
    provisioned,
)
from monitor.sources.f5.bash import BASH_PATH, BashReader
from monitor.sources.f5.bash import TARGET as BASH_TARGET
from monitor.sources.f5.bundles import build_bundles
from monitor.sources.f5.certfiles import apply, needed, to_read
from monitor.sources.f5.client import F5Client
from monitor.sources.f5.credentials import read_credentials
from monitor.sources.f5.exchange import Exchange, poll_budget
from monitor.sources.f5.ha import parse_sync_status
from monitor.sources.f5.pages import PageMemory, Parsed, key_of, parse_page
from monitor.sources.f5.paging import Page, summarize, walk
from monitor.sources.f5.parse import Malformed
from monitor.sources.f5.queries import COLLECTIONS, options

log = logging.getLogger(__name__)


@dataclass
class _Read:
    """What one job (a collection of one partition, or an HA read) gave."""

    objects: dict[str, Any] = field(default_factory=dict)
    errors: list[SourceError] = field(default_factory=list)
    version: str = ""
    checksums: dict[str, str] = field(default_factory=dict)  # ssl-cert path → checksum
    sync: Any = None
    unchanged: bool = False  # every page was the last poll's (`pages`)


@dataclass
class _Reads:
    """What one poll's reads gave, merged."""

    objects: dict[str, dict[str, Any]]  # collection → {key: parsed object}
    errors: list[SourceError] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    succeeded: int = 0  # reads that completed
    version: str = ""
    checksums: dict[str, str] = field(default_factory=dict)
    sync: Any = None
    apm_provisioned: bool | None = None  # sys/provision's word on APM (None: not read)


class F5Source:
    """Polls one BIG-IP device; `poll()` is not reentrant (the daemon never overlaps)."""

    def __init__(
        self,
        device: BigIPConfig,
        cfg: Config,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        environ: Mapping[str, str] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.name = device.name
        self._device = device
        self._poll = cfg.poll
        self._environ = os.environ if environ is None else environ
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.budget = poll_budget(cfg.poll.interval, cfg.poll.timeout)
        concurrency = cfg.poll.f5_concurrency
        self._client = F5Client(
            device,
            cfg.poll.timeout.total_seconds(),
            concurrency,
            transport,
            clock,
            self.budget,
            cfg.poll.max_response_mib * 1024 * 1024,
        )
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix=f"f5-{self.name}"
        )
        self._bash = BashReader(device.name, device.bundle_reader, clock)
        self._boundaries = tuple(b for b in cfg.boundaries if device.name in b.devices)
        # APM is read only for a device an identity provider names, in the partitions
        # of the APM OAuth provider paths expected there
        self._apm_partitions = tuple(
            dict.fromkeys(
                idp.oauth_provider.split("/")[1]
                for idp in cfg.identity_providers
                if device.name in idp.devices
            )
        )
        self._file_problems: set[str] = set()  # logged once, until they go away
        self._pages = PageMemory()
        # collection → its objects as the last poll that read it completely merged them:
        # the same mapping again when no page of it changed
        self._merged: dict[str, dict[str, Any]] = {}
        self._last: F5State | None = None
        if device.insecure:  # at every start and reload: never a silent choice
            log.warning(
                "%s: insecure: true, the BIG-IP's TLS certificate is not verified (anyone on"
                " the path can read the password and tokens); set caFile instead",
                self.name,
            )

    def __repr__(self) -> str:
        return f"F5Source(name={self.name!r}, url={self._device.url!r})"

    def collections(self) -> tuple[str, ...]:
        """The per-partition collections this device's config needs."""
        if self._device.bundle_reader in ("none", "bash"):
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
            ex = Exchange(
                read_credentials(self._device, self._environ), self.budget, self._sleep, self._rng
            )
            self._client.prepare(ex)
        except SourceFailure as err:
            log.warning("%s", err.error.message)
            return None, status([err.error])
        reads = self._read_all(ex)
        if not reads.succeeded:  # nothing at all could be read
            return None, status(reads.errors)
        state = self._state(ex, reads)
        if state == self._last:  # nothing changed: the same object, cheap to tell
            state = self._last
        self._last = state
        if ex.fatal is not None:
            log.warning("%s", ex.fatal.message)
        return state, status(reads.errors)

    # -- reading -------------------------------------------------------------------------

    def _read_collection(self, ex: Exchange, collection: str, partition: str | None) -> _Read:
        """One collection of one partition, page by page; an unchanged page is not decoded
        nor parsed again (`pages`)."""
        out = _Read()
        key = key_of(collection)
        pages = self._pages.start(collection, partition)

        def read(url: str, what: str, offset: int) -> tuple[Page, Parsed]:
            body, status = self._client.get_body(ex, url, what, collection)
            known = pages.reuse(url, body, offset)
            if not isinstance(known, bytes):
                return known
            doc = self._client.decode(ex, body, status, what, collection)
            del body  # the page is parsed from `doc`: its bytes can go
            page, items = summarize(doc, self.name, collection, what)
            parsed = parse_page(self.name, collection, partition, items, offset)
            pages.add(url, known, offset, page, parsed)
            return page, parsed

        def accept(parsed: Parsed, offset: int) -> None:
            for obj in parsed.objects:
                out.objects.setdefault(key(obj), obj)
            out.errors.extend(parsed.errors)
            out.checksums.update(parsed.checksums)

        out.version = walk(
            read,
            accept,
            self.name,
            collection,
            partition,
            self._poll.f5_page_size,
            options(collection),
        )
        self._pages.keep(collection, partition, pages)
        out.unchanged = pages.unchanged
        return out

    def _read_sync(self, ex: Exchange) -> _Read:
        doc = self._client.get(ex, f"/mgmt/tm/{SYNC_STATUS}", SYNC_STATUS, SYNC_STATUS)
        try:
            return _Read(sync=parse_sync_status(doc))
        except Malformed as err:
            message = f"{self.name}: {SYNC_STATUS}: {err}"
            return _Read(errors=[SourceError("bad_json", message, SYNC_STATUS)])

    def _read_all(self, ex: Exchange) -> _Reads:
        """Every (collection, partition) and the HA reads, at most f5Concurrency at a time."""
        jobs = [
            (c, self._pool.submit(self._read_collection, ex, c, p))
            for c in self.collections()
            for p in self._device.partitions
        ]
        jobs.append((DEVICES, self._pool.submit(self._read_collection, ex, DEVICES, None)))
        jobs.append((SYNC_STATUS, self._pool.submit(self._read_sync, ex)))
        reads = _Reads({c: {} for c in (*self.collections(), DEVICES)})
        if self._apm_partitions:
            jobs += self._apm_jobs(ex, reads)
        unchanged: dict[str, bool] = {}
        for collection, future in jobs:
            try:
                read = future.result()
            except SourceFailure as err:
                reads.errors.append(err.error)
                reads.failed.add(collection)
                continue
            reads.succeeded += 1
            if read.errors:
                reads.errors.extend(read.errors)
                reads.failed.add(collection)
            unchanged[collection] = unchanged.get(collection, True) and read.unchanged
            merged = reads.objects.setdefault(collection, {})
            for k, v in read.objects.items():
                merged.setdefault(k, v)
            reads.checksums.update(read.checksums)
            reads.version = reads.version or read.version
            reads.sync = reads.sync if read.sync is None else read.sync
        merges = {c: m for c, m in reads.objects.items() if c not in reads.failed}
        for collection, merged in merges.items():
            last = self._merged.get(collection)
            if unchanged.get(collection) and last is not None and last == merged:
                reads.objects[collection] = merges[collection] = last  # same pages, same map
        self._merged = merges
        return reads

    def _apm_jobs(self, ex: Exchange, reads: _Reads) -> list[tuple[str, Future[_Read]]]:
        """`sys/provision` now (on this thread: the client's slots still bound the requests
        in flight); then, unless APM is not provisioned, the APM collections as jobs."""
        try:
            read = self._read_collection(ex, PROVISION, None)
        except SourceFailure as err:
            read = _Read(errors=[err.error])
        if read.errors:
            reads.errors.extend(read.errors)
            reads.failed.add(PROVISION)
        else:
            reads.succeeded += 1
        reads.apm_provisioned = provisioned(read.objects, not read.errors)
        if reads.apm_provisioned is False:
            return []
        jobs = [
            (c, self._pool.submit(self._read_collection, ex, c, p))
            for c in PARTITIONED
            for p in self._apm_partitions
        ]
        jobs.append((OIDC_TASKS, self._pool.submit(self._read_collection, ex, OIDC_TASKS, None)))
        return jobs

    # -- the state -----------------------------------------------------------------------

    def _state(self, ex: Exchange, reads: _Reads) -> F5State:
        objects, errors, failed = reads.objects, reads.errors, reads.failed
        server_ssl = objects[SERVER_SSL]
        certs = objects[SSL_CERTS]
        managers = {path: include for path, include in objects.get(CA_BUNDLES, {}).values()}
        broken = [c for c in (SSL_CERTS, CA_BUNDLES) if c in failed]
        unreadable = ""
        if broken:
            codes = sorted({e.reason for e in errors if e.target in broken})
            unreadable = f"{' and '.join(broken)} could not be read completely ({', '.join(codes)})"
        reader = self._device.bundle_reader
        bundles = build_bundles(
            server_ssl, certs, managers, self._device.partitions, unreadable, reader
        )
        if reader in ("bash", "auto") and not unreadable and ex.fatal is None:
            certs, bundles = self._read_files(ex, reads, certs, bundles)
        devices = objects[DEVICES]
        return F5State(
            device=self.name,
            virtuals=objects[VIRTUALS],
            pools=objects[POOLS],
            server_ssl=server_ssl,
            client_ssl=objects[CLIENT_SSL],
            certs=certs,
            bundles=bundles,
            failed=frozenset(failed),
            version=reads.version,
            sync=reads.sync,
            devices=tuple(devices[k] for k in sorted(devices)) if DEVICES not in failed else (),
            apm=build_apm(reads.apm_provisioned, objects, failed) if self._apm_partitions else None,
        )

    def _read_files(
        self, ex: Exchange, reads: _Reads, certs: dict[str, SslCert], bundles: dict[str, CaBundle]
    ) -> tuple[dict[str, SslCert], dict[str, CaBundle]]:
        """The CA bundles only bash can read, and the boundaries' certificate and chain
        files (`certfiles`), through util/bash: each file at most once per poll."""
        objects = reads.objects
        need = needed(
            self.name, self._boundaries, objects[VIRTUALS], objects[SERVER_SSL], objects[CLIENT_SSL]
        )
        wanted = self._bash.wanted(bundles, certs)
        files = to_read(need, certs, bundles)

        def post(body: dict[str, Any], what: str) -> Any:
            return self._client.post(ex, BASH_PATH, body, what, BASH_TARGET)

        done, errors = self._bash.read(
            [*wanted, *files],
            certs,
            reads.checksums,
            post,
            lambda f, xs: list(self._pool.map(f, xs)),
        )
        reads.errors.extend(errors)
        bundles = {
            p: self._bash.as_bundle(b, done[p]) if p in wanted else b for p, b in bundles.items()
        }
        certs, bundles, problems = apply(need, {p: done[p] for p in files}, certs, bundles)
        for problem in sorted(set(problems) - self._file_problems):
            log.warning("%s: %s", self.name, problem)
        self._file_problems = set(problems)
        return certs, bundles

    def forget(self) -> None:
        """Drop what the last polls keep for the next one (`pages`): it parses every page."""
        self._pages = PageMemory()
        self._merged = {}
        self._last = None

    def close(self) -> None:
        """Delete the login token (failures ignored) and release the connections."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()
