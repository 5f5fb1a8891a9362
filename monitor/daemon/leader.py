"""Leader election on a Kubernetes Lease (`coordination.k8s.io/v1`), the way client-go does it.

Owns who polls when several replicas run (`leaderElection.enabled`): one `LeaseElector` per
process competes for one Lease (`leaderElection.leaseName`, in `leaderElection.namespace`
or the pod's own namespace from the service-account namespace file). Every replica serves
HTTP; only the leader polls, checks and alerts (`monitor.daemon.serve`).

The protocol is client-go's `tools/leaderelection` with its defaults (lease duration 15 s,
renew deadline 10 s, retry period 2 s):
- a candidate reads the Lease; absent, it creates it holding it; held by another holder
  whose record has not changed for the lease duration (as timed on this replica's own
  monotonic clock, so clock skew between nodes does not matter), or released (empty
  holder), it takes it over (`leaseTransitions` + 1) by an update carrying the
  `resourceVersion` it read: of two candidates racing for it, the second gets 409 Conflict
  and stays a follower;
- the leader renews (`renewTime`) every retry period; when no renewal has succeeded for
  the renew deadline it stops leading (`is_leader` turns false by itself at that moment,
  even while a request hangs), before any other replica can consider the lease expired;
  it also stops as soon as it sees another holder;
- on shutdown the leader releases the Lease (empty holder, duration 1 s), so a successor
  takes over at its next retry instead of after the lease duration.
Liveness (`liveness`): an attempt ends within about the renew deadline (two requests of
half of it each) and the next begins within the retry period (with jitter); when none has
ended for `STUCK_LEASES` lease durations, the election loop is stuck (or its thread died),
and a follower fails `/healthz` so that it is restarted.
Holder identity: the pod name (`POD_NAME`, from the downward API), else the host name
(which is the pod name in Kubernetes).

Why not `kubernetes.leaderelection` (v37 does have a `LeaseLock`): its `LeaderElection.run`
cannot be stopped and never releases the lease, reads the wall clock itself, `sys.exit`s on
bad settings, and `LeaseLock` talks through the global default client configuration.
"""

from __future__ import annotations

import json
import logging
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from monitor.config.schema import Config
from monitor.sources.errors import SourceFailure
from monitor.sources.kube.client import build_api_client
from monitor.sources.kube.errors import read_error

log = logging.getLogger(__name__)

NAMESPACE_FILE: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
JITTER: Final = 1.2  # client-go's JitterFactor for a follower's retries
STUCK_LEASES: Final = 3  # lease durations without an attempt ending: the loop is stuck


@dataclass(frozen=True, slots=True)
class Timing:
    """client-go's defaults; the lease duration must exceed the renew deadline."""

    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0


class LeaseError(Exception):
    """The Lease could not be read or written (reason code as in `monitor.model.REASONS`)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LeaseConflict(LeaseError):
    """409: someone else wrote (or created) the Lease since it was read."""


def holder_identity(environ: Mapping[str, str] | None = None) -> str:
    """`POD_NAME`, else the host name (the pod name in a pod)."""
    env = os.environ if environ is None else environ
    return env.get("POD_NAME") or socket.gethostname()


def lease_namespace(configured: str | None, namespace_file: Path = NAMESPACE_FILE) -> str | None:
    """The configured namespace, else the pod's own (the service-account namespace file)."""
    if configured:
        return configured
    try:
        return namespace_file.read_text(encoding="utf-8").strip() or None
    except OSError:
        return None


def micro_time(moment: datetime) -> str:
    """A Kubernetes MicroTime: RFC 3339 in UTC with six fractional digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseClient:
    """GET / create / replace of one Lease, as raw JSON documents (no model round trip, so
    the MicroTimes and the resourceVersion go out exactly as written).

    `connect` builds the API client on first use (again after it failed), so a kubeconfig
    or token that appears later is picked up; its failures are `LeaseError`s.
    """

    def __init__(
        self,
        connect: Callable[[], client.ApiClient],
        namespace: str,
        name: str,
        timeout: float = 5.0,
    ) -> None:
        self._connect = connect
        self._api: client.ApiClient | None = None
        self.namespace, self.name, self._timeout = namespace, name, timeout
        self.target = f"lease {namespace}/{name}"
        self._path = f"/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases"

    def _client(self) -> client.ApiClient:
        if self._api is None:
            try:
                self._api = self._connect()
            except SourceFailure as fail:
                raise LeaseError(fail.error.reason, fail.error.message) from None
        return self._api

    def _call(self, method: str, path: str, body: object = None) -> dict[str, Any] | None:
        """The answer's JSON object; None for 404; `LeaseConflict` for 409."""
        api = self._client()
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            request = api.param_serialize(
                method, path, header_params=headers, body=body, auth_settings=["BearerToken"]
            )
            response = api.call_api(*request, _request_timeout=self._timeout)
            data = response.read()  # type: ignore[no-untyped-call]
            if response.status == 404:
                return None
            if not 200 <= response.status <= 299:
                text = data.decode("utf-8", errors="replace") if data else None
                raise ApiException(status=response.status, reason=response.reason, body=text)
            document = json.loads(data)
        except ApiException as err:
            error = read_error(err, self.target)
            kind = LeaseConflict if err.status == 409 else LeaseError
            raise kind(error.reason, error.message) from None
        except Exception as err:  # transport failures, undecodable bodies
            error = read_error(err, self.target)
            raise LeaseError(error.reason, error.message) from None
        if not isinstance(document, dict):
            raise LeaseError("bad_json", f"{self.target}: the answer is not an object")
        return document

    def get(self) -> dict[str, Any] | None:
        """The Lease, or None when it does not exist."""
        return self._call("GET", f"{self._path}/{self.name}")

    def create(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": self.name, "namespace": self.namespace},
            "spec": dict(spec),
        }
        created = self._call("POST", self._path, body)
        if created is None:
            raise LeaseError("http_404", f"{self.target}: namespace not found")
        return created

    def replace(self, lease: Mapping[str, Any]) -> dict[str, Any]:
        """Write `lease` back; its `metadata.resourceVersion` makes a stale write a conflict."""
        replaced = self._call("PUT", f"{self._path}/{self.name}", dict(lease))
        if replaced is None:
            raise LeaseError("http_404", f"{self.target}: deleted meanwhile")
        return replaced


@dataclass(frozen=True, slots=True)
class _Record:
    holder: str
    duration: float
    renew: str
    acquire: str
    transitions: int

    @staticmethod
    def of(lease: Mapping[str, Any]) -> _Record:
        spec = lease.get("spec") or {}
        return _Record(
            holder=str(spec.get("holderIdentity") or ""),
            duration=float(spec.get("leaseDurationSeconds") or 0),
            renew=str(spec.get("renewTime") or ""),
            acquire=str(spec.get("acquireTime") or ""),
            transitions=int(spec.get("leaseTransitions") or 0),
        )


class LeaseElector:
    """One candidate for the Lease (module docstring). `step()` is one attempt; `run()`
    repeats it until stopped, then releases the lease if held.

    `on_change(leading)` is called from the elector's thread on every change of `step()`'s
    verdict; it must not block.
    """

    def __init__(
        self,
        leases: LeaseClient,
        identity: str,
        *,
        timing: Timing = Timing(),
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = lambda: datetime.now(UTC),
        on_change: Callable[[bool], None] = lambda leading: None,
        rng: random.Random | None = None,
    ) -> None:
        if timing.lease_duration <= timing.renew_deadline:
            raise ValueError("the lease duration must exceed the renew deadline")
        self.identity = identity
        self._leases, self._timing = leases, timing
        self._clock, self._wall, self._on_change = clock, wall, on_change
        self._rng = rng or random.Random()
        self._lock = threading.Lock()
        self._leading = False
        self._renewed_at = 0.0  # monotonic time of the last successful acquire or renew
        self._observed: _Record | None = None
        self._observed_at = 0.0  # monotonic time the observed record last changed
        self._lease: dict[str, Any] | None = None  # the last version read or written
        self._last_error = ""
        self._stepped_at = clock()  # monotonic time the last attempt ended (or creation)
        self.holder = ""  # the holder last seen ("" = unknown or released)

    @property
    def where(self) -> str:
        """`namespace/name` of the Lease."""
        return f"{self._leases.namespace}/{self._leases.name}"

    @property
    def is_leader(self) -> bool:
        """Leading, and the last renewal is younger than the renew deadline."""
        with self._lock:
            fresh = self._clock() - self._renewed_at < self._timing.renew_deadline
            return self._leading and fresh

    def step(self) -> bool:
        """One attempt to acquire or renew the lease; returns whether this replica leads."""
        try:
            ok = self._try_acquire_or_renew()
            self._last_error = ""
        except LeaseConflict as err:
            ok = False
            log.debug("leader election: %s", err)
        except LeaseError as err:
            ok = False
            if err.reason != self._last_error:  # once per kind of failure, not every 2 s
                log.warning("leader election: %s", err)
            self._last_error = err.reason
        now = self._clock()
        with self._lock:
            was = self._leading
            if ok:
                self._renewed_at = now
            taken = self.holder not in ("", self.identity)
            expired = now - self._renewed_at >= self._timing.renew_deadline
            self._leading = ok or (was and not taken and not expired)
            leading = self._leading
        if leading != was:
            where = self.where
            if leading:
                log.info("leader election: %s leads now (lease %s)", self.identity, where)
            else:
                log.warning(
                    "leader election: %s stopped leading (lease %s%s)",
                    self.identity,
                    where,
                    f", held by {self.holder}" if taken else ", not renewed in time",
                )
            self._on_change(leading)
        self._stepped_at = self._clock()
        return leading

    def liveness(self) -> str | None:
        """Why the election loop looks stuck (module docstring), or None."""
        limit = STUCK_LEASES * self._timing.lease_duration
        idle = self._clock() - self._stepped_at
        if idle <= limit:
            return None
        return (
            f"leader election: no attempt on lease {self.where} has ended for {idle:.0f}s"
            f" (more than {limit:.0f}s)"
        )

    def _try_acquire_or_renew(self) -> bool:
        now_wall, now = micro_time(self._wall()), self._clock()
        duration = int(self._timing.lease_duration)
        lease = self._leases.get()
        if lease is None:
            spec = self._spec(now_wall, now_wall, duration, 0)
            self._remember(self._leases.create(spec), now)
            return True
        record = _Record.of(lease)
        if record != self._observed:
            self._observed, self._observed_at = record, now
        self.holder, self._lease = record.holder, lease
        lasts = record.duration if record.duration > 0 else self._timing.lease_duration
        if record.holder not in ("", self.identity) and now < self._observed_at + lasts:
            return False  # held by someone else, not expired
        if record.holder == self.identity:
            spec = self._spec(record.acquire or now_wall, now_wall, duration, record.transitions)
        else:
            spec = self._spec(now_wall, now_wall, duration, record.transitions + 1)
        self._remember(self._leases.replace({**lease, "spec": spec}), now)
        return True

    def _spec(self, acquire: str, renew: str, duration: int, transitions: int) -> dict[str, Any]:
        return {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": duration,
            "acquireTime": acquire,
            "renewTime": renew,
            "leaseTransitions": transitions,
        }

    def _remember(self, lease: dict[str, Any], now: float) -> None:
        self._lease, self._observed, self._observed_at = lease, _Record.of(lease), now
        self.holder = self.identity

    def release(self) -> None:
        """Give the lease up if this replica holds it (empty holder, duration 1 s)."""
        with self._lock:
            leading, self._leading = self._leading, False
        if not leading or self._lease is None:
            return
        now_wall = micro_time(self._wall())
        transitions = _Record.of(self._lease).transitions
        spec = {**self._spec(now_wall, now_wall, 1, transitions), "holderIdentity": ""}
        try:
            self._leases.replace({**self._lease, "spec": spec})
            self.holder = ""
            log.info("leader election: %s released the lease", self.identity)
        except LeaseError as err:
            log.warning("leader election: could not release the lease: %s", err)
        self._on_change(False)

    def run(self, stop: threading.Event) -> None:
        """Acquire and renew until `stop` is set; then release the lease if held."""
        retry = self._timing.retry_period
        while not stop.is_set():
            leading = self.step()
            wait = retry if leading else retry * (1 + self._rng.random() * JITTER)
            stop.wait(wait)
        self.release()


def elector_for(
    cfg: Config,
    on_change: Callable[[bool], None],
    environ: Mapping[str, str] | None = None,
    namespace_file: Path = NAMESPACE_FILE,
) -> LeaseElector | str:
    """The elector `cfg.leader_election` asks for, talking to the cluster of `cfg.mesh`;
    or why there can be none (no namespace configured and none in the pod)."""
    settings = cfg.leader_election
    namespace = lease_namespace(settings.namespace, namespace_file)
    if namespace is None:
        return (
            f"leaderElection.namespace is not set and {namespace_file} is unreadable (not in a"
            " pod?): set leaderElection.namespace"
        )
    timing = Timing()
    leases = LeaseClient(
        lambda: build_api_client(cfg.mesh, pool_size=2),
        namespace,
        settings.lease_name,
        timeout=timing.renew_deadline / 2,
    )
    return LeaseElector(leases, holder_identity(environ), timing=timing, on_change=on_change)
