"""The mesh source: what the Kubernetes API says about Linkerd and the backends, kept by watches.

Owns `MeshSource`, the imperative shell of the Linkerd side (DESIGN section 4,
research/linkerd.md §1–3, §5): one API client, one `WatchSet`, and per poll
1. discovery, at start-up and every `rediscover` seconds (or when a watched optional kind
   vanished): which policy.linkerd.io kinds (newest version each) and whether cert-manager
   Certificates are served (`discovery`: `GET /apis` and one GET per served version);
2. `ensure` the watches the configured boundaries need (`specs.plan_watches`), wait
   for new ones to sync within `poll.timeout`, then plan again with the Services now read
   (the backend pods are watched narrowed by their Services' selectors) and wait for those;
3. build the `MeshState` purely from the views (`build.build_state`): not at all when no
   view changed since the previous poll (their generations, `CollectionView`), whose
   state object is then returned as it is; only the backend namespaces whose views
   changed otherwise (`workloads.Memo`).
A steady-state poll sends no request at all: every collection is LISTed once, then
WATCHed from its resourceVersion with bookmarks (relisted only after `410 Gone`; the
watch layer reconnects with jittered backoff, and each poll makes a failed collection try
again at once, so a fault that has ended is over by the next poll). The watches run in
the background between polls; `close()` stops them.

Failures are data: a collection with an error, or not synced in time, makes its parts None
(or named in `MeshState.unknown`) and its error shows in the `SourceStatus` (`up=False`);
a 403 names the object and the RBAC grant that is missing. Errors every watch shares (the
API server is unreachable, rejects the token, its TLS fails, or it does not answer in time)
are reported once; when the first discovery already fails that way, no watch is started
that poll (a `check` against a dead API server costs one request and one error).
`SourceStatus.requests` counts the requests since the previous poll by HTTP status.
The cluster's own problems (policy objects Linkerd ignores, …) go to the debug log; a
parser that raised something unforeseen (`internal_error`, `build`) is logged once per
exception type while it keeps happening, its stack (never its message) at debug level.

Key material is never kept: the issuer Secret is stored through `secret_without_keys`,
pods as `records.PodRecord`s (control-plane pods through `pods.slim_pod`); nothing of a
Secret is logged. With `mesh.issuer.source`
`certificate` or `configMap` the Secret is not read at all (the key never crosses the wire).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from kubernetes import client

from monitor.config.schema import Config
from monitor.model import MeshState, SourceError, SourceStatus
from monitor.sources.errors import FailureLog, SourceFailure
from monitor.sources.kube.client import build_api_client
from monitor.sources.kube.errors import FATAL_REASONS
from monitor.sources.kube.spec import CollectionView, WatchSpec, WatchStats
from monitor.sources.kube.watch import WatchSet
from monitor.sources.mesh.build import Built, build_state, unknown_state, unread_state
from monitor.sources.mesh.discovery import Discovered, Discovery
from monitor.sources.mesh.reach import ACCOUNT_NAMESPACES_MAX, account_namespaces, whole_namespaces
from monitor.sources.mesh.specs import Backend, Plan, backends, plan_watches
from monitor.sources.mesh.workloads import Memo

log = logging.getLogger(__name__)
_PARSE_FAILED = (
    "mesh: parsing failed with an unexpected %s; that part is unknown (internal_error)"
    " while it does%s"
)

SOURCE = "kubernetes"
POOL_MARGIN = 4  # connections beyond one per watch: discovery, and a LIST beside a WATCH
POLICY_KINDS_MAX = 8  # the five policy kinds and three route kinds (discovery)
ABSENT_REDISCOVER = 60.0  # seconds between discoveries caused by a kind that vanished
# What a watch failure's reason says about the HTTP status of the answer.
_STATUS = {"http_401": "401", "http_403": "403", "http_404": "404", "http_4xx": "4xx",
           "rate_limited": "429", "http_5xx": "5xx", "bad_json": "200", "paging_loop": "200",
           "watch_expired": "410"}  # fmt: skip

__all__ = ["MeshSource"]


def pool_size(wanted: tuple[Backend, ...], scope: str = "namespaces") -> int:
    """The most watches `wanted` can need at once, plus `POOL_MARGIN`: five for the control
    plane; per backend namespace its Services, EndpointSlices, Namespace, pods (two while a
    changed selector swaps the watch) and the policy kinds, and a ServiceAccounts watch
    per namespace the policy's identities name; or (cluster scope) each of those once,
    plus a pod watch per namespace that no label narrows."""
    namespaces = len({b.namespace for b in wanted})
    if scope == "cluster":  # the ServiceAccounts: one watch
        return 5 + 4 + POLICY_KINDS_MAX + 1 + namespaces + 1 + POOL_MARGIN
    return 5 + namespaces * (5 + POLICY_KINDS_MAX) + ACCOUNT_NAMESPACES_MAX + POOL_MARGIN


def _requests(now: WatchStats, before: WatchStats) -> Counter[str]:
    """The watch layer's requests between two stats, by HTTP status (approximate for
    failures: `5xx` when the exact status is not kept, `error` without an answer)."""
    out: Counter[str] = Counter()
    out["200"] += now.list_pages - before.list_pages
    out["200"] += now.watch_connects - before.watch_connects
    out["404"] += now.absent_checks - before.absent_checks
    out["410"] += now.relists - before.relists
    for reason, count in (Counter(now.errors) - Counter(before.errors)).items():
        out[_STATUS.get(reason, "error")] += count
    return +out


def _collapse(errors: tuple[SourceError, ...]) -> tuple[SourceError, ...]:
    """One error per reason that every request shares (unreachable, 401, TLS, timeout)."""
    counts = Counter(e.reason for e in errors if e.reason in FATAL_REASONS)
    out: list[SourceError] = []
    for error in errors:
        n = counts.get(error.reason, 0)
        if n and not any(e.reason == error.reason for e in out):
            more = f" (and {n - 1} more watches)" if n > 1 else ""
            out.append(dataclasses.replace(error, message=error.message + more))
        elif not n:
            out.append(error)
    return tuple(out)


class MeshSource:
    """Watches one Kubernetes cluster; `poll()` never raises for remote faults.

    `watch_options` are passed to the `WatchSet` (tests shorten its timeouts); an injected
    `api_client` is used as it is (its pool size is the caller's) and not closed.
    """

    def __init__(
        self,
        cfg: Config,
        api_client: client.ApiClient | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        watch_options: Mapping[str, Any] | None = None,
        rediscover: float = 600.0,
    ) -> None:
        self._cfg, self._clock = cfg, clock
        self._timeout = cfg.poll.timeout.total_seconds()
        self._backends = backends(cfg)
        self._api, self._owns_api = api_client, api_client is None
        self._client_error: SourceError | None = None
        self._max_body = cfg.poll.max_response_mib * 1024 * 1024
        self._options: dict[str, Any] = {"request_timeout": self._timeout,
                                         "max_body": self._max_body,
                                         **(watch_options or {})}  # fmt: skip
        self._rediscover = rediscover
        self._watches: WatchSet | None = None
        self._discovered: Discovered | None = None
        self._discovered_at = 0.0
        self._seen = WatchStats()
        self._failing = FailureLog(log, _PARSE_FAILED)  # by exception type, logged once
        self._memo = Memo()  # the backends' parts of the previous build
        self._last: tuple[Any, Built] | None = None  # the previous build and its inputs
        # seconds the last poll spent making its MeshState from the watched collections
        # (reading the views, and building only what changed): the benchmark's mesh_warm_ms
        self.build_seconds = 0.0
        if api_client is None:
            self._connect()

    def _connect(self) -> None:
        try:
            size = pool_size(self._backends, self._cfg.mesh.watch_scope)
            self._api = build_api_client(self._cfg.mesh, size)
            self._client_error = None
        except SourceFailure as fail:
            self._client_error = fail.error

    # -- one poll ------------------------------------------------------------------------------
    def poll(self) -> tuple[MeshState, SourceStatus]:
        """Keep the watches the boundaries need and build the state from them (module doc)."""
        started = self._clock()
        deadline = time.monotonic() + self._timeout
        if self._api is None:
            self._connect()  # the kubeconfig may have appeared since (a mounted Secret)
        if self._api is None:
            assert self._client_error is not None
            error = self._client_error
            log.debug("mesh poll: %s", error.message)
            status = SourceStatus(SOURCE, "kubernetes", False, (error,), self._clock() - started)
            return unread_state(self._cfg), status
        discovery_error, requests = self._discover()
        if self._watches is None:
            self._watches = WatchSet(self._api, **self._options)
        watches = self._watches
        plan = self._plan(watches)
        if discovery_error is not None and discovery_error.reason in FATAL_REASONS:
            # nothing was ever read and every request would fail alike: one error, no watches
            log.debug("mesh poll: %s", discovery_error.message)
            status = SourceStatus(SOURCE, "kubernetes", False, (discovery_error,),
                                  self._clock() - started, dict(requests))  # fmt: skip
            return unknown_state(plan), status
        watches.ensure(plan.specs())
        watches.retry_failed(max(0.0, deadline - time.monotonic()))
        watches.wait_synced(max(0.0, deadline - time.monotonic()))
        again = self._plan(watches)
        if again != plan:  # the Services are read now: their pods can be watched
            plan = again
            watches.ensure(plan.specs())
            watches.wait_synced(max(0.0, deadline - time.monotonic()))
        building = time.perf_counter()
        views = {s: watches.get(s) for s in plan.specs()}
        inputs = (plan, tuple(v.generation for v in views.values()), discovery_error)
        if self._last is not None and self._last[0] == inputs:
            built = self._last[1]  # nothing changed: the same state, and the same errors
        else:
            built = build_state(plan, views, discovery_error, self._memo)
            self._last = (inputs, built)
            for problem in built.problems:
                log.debug("mesh: %s", problem)
        self.build_seconds = time.perf_counter() - building
        self._log_failures(built.failures)
        errors = _collapse(built.errors)
        for error in errors:
            log.debug("mesh poll: %s: %s", error.reason, error.message)
        stats = watches.stats()
        requests += _requests(stats, self._seen)
        self._seen = stats
        status = SourceStatus(
            source=SOURCE,
            kind="kubernetes",
            up=not errors,
            errors=errors,
            duration_seconds=self._clock() - started,
            requests=dict(requests),
        )
        return built.state, status

    def watch_count(self) -> int:
        """The collections watched now: one thread and one open stream each."""
        return 0 if self._watches is None else len(self._watches.specs())

    def watch_stats(self) -> WatchStats:
        """The watch layer's counters since start (`lists` counts every LIST: none in a
        steady state)."""
        return WatchStats() if self._watches is None else self._watches.stats()

    def _log_failures(self, failures: tuple[Exception, ...]) -> None:
        kinds = {type(err).__name__: err for err in failures}
        self._failing.failing({(kind,): kinds[kind] for kind in sorted(kinds)})

    def _discover(self) -> tuple[SourceError | None, Counter[str]]:
        """Discovery when it is due; (its error when there is no earlier answer, requests)."""
        now = time.monotonic()
        due = self._discovered is None or now - self._discovered_at >= self._rediscover
        if not due and now - self._discovered_at >= ABSENT_REDISCOVER:
            due = self._optional_kind_vanished()
        if not due:
            return None, Counter()
        assert self._api is not None
        discovery = Discovery(self._api, self._timeout, self._max_body)
        try:
            self._discovered = discovery.run()
            self._discovered_at = now
        except SourceFailure as fail:
            if self._discovered is None:
                return fail.error, discovery.requests
            log.warning("discovery failed, keeping the earlier answer: %s", fail.error.message)
        return None, discovery.requests

    def _optional_kind_vanished(self) -> bool:
        """A policy or cert-manager watch reports its kind is no longer served."""
        if self._watches is None:
            return False
        plan = self._plan(self._watches)
        optional = [s for specs in (plan.policy or {}).values() for s in specs]
        optional += [plan.certificates] if plan.certificates is not None else []
        known = set(self._watches.specs())
        return any(self._watches.get(s).absent for s in optional if s in known)

    def _plan(self, watches: WatchSet) -> Plan:
        """The watches wanted now, given the backend Services read so far."""
        found = self._discovered
        kinds = None if found is None else found.policy
        cert_manager = None if found is None else found.cert_manager
        mesh = self._cfg.mesh
        scope = mesh.watch_scope
        base = plan_watches(
            mesh.linkerd_namespace, mesh.trust_domain, self._backends, {}, kinds, cert_manager,
            mesh.issuer, scope,
        )  # fmt: skip
        known = set(watches.specs())
        services: dict[str, Any] = {}
        for backend in self._backends:
            spec = base.services[backend.namespace]
            view = watches.get(spec) if spec in known else None
            if view is not None and view.synced:  # stale data is good enough to plan with
                services[backend.key] = view.find(backend.namespace, backend.name)

        def synced(spec: WatchSpec) -> CollectionView | None:
            view = watches.get(spec) if spec in known else None
            return view if view is not None and view.synced else None

        # the policy read so far says which pods and ServiceAccounts it reaches (`reach`)
        return plan_watches(
            mesh.linkerd_namespace, mesh.trust_domain, self._backends, services, kinds,
            cert_manager, mesh.issuer, scope, whole=whole_namespaces(base, synced, services),
            accounts=account_namespaces(base, synced),
        )  # fmt: skip

    def close(self) -> None:
        """Stop every watch and close the API client's connection pools (if it is ours)."""
        if self._watches is not None:
            self._watches.stop_all()
            self._watches = None
            self._seen = WatchStats()
            self._memo, self._last = Memo(), None
        if self._api is not None and self._owns_api:
            self._api.close()  # type: ignore[no-untyped-call]
            self._api = None
