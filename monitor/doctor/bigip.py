"""`doctor` for one BIG-IP: what the configured user may read, with the source's own client.

In order, each a `Probe`: DNS, TCP and TLS (`network`); the credentials and the login
(`authType` token: `POST /mgmt/shared/authn/login`; basic: the first GET); the TMOS version
(`sys/version`); every configured partition visible (`auth/partition`); one page of every
collection the checks read, in every partition, with the query options the source sends
(`source.options`), and `cm/device`, `cm/sync-status`; util/bash, with the `cat` of the
filestore the bash reader sends (a file that may not exist: the answer, not the file,
tells), when `bundleReader` uses it. Requests go through `F5Client`, so retries, token
handling and the scrubbing of secrets from messages are the source's.

A collection answered with `401 Authorization failed: user=…` (or 403) is *refused*: the
role lacks it. The need of `monitor.requirements` it grants is then `missing`, which the
table of checks turns into `unknown`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import httpx

from monitor.config.schema import BigIPConfig, Config
from monitor.doctor.network import connect
from monitor.doctor.result import Probe, SourceReport
from monitor.requirements import BASH, CA_BUNDLES, DEVICES, OIDC_TASKS, PROVISION, SYNC_STATUS
from monitor.sources.errors import SourceFailure
from monitor.sources.f5.apm import APM_SELECT, PARTITIONED, parse_provision, provisioned
from monitor.sources.f5.bash import BASH_PATH, command
from monitor.sources.f5.client import F5Client
from monitor.sources.f5.credentials import read_credentials
from monitor.sources.f5.exchange import Exchange, poll_budget
from monitor.sources.f5.ha import stats_fields
from monitor.sources.f5.paging import encode_query
from monitor.sources.f5.parse import Malformed
from monitor.sources.f5.paths import filestore_glob
from monitor.sources.f5.queries import COLLECTIONS, options

PROBE_FILE = "/Common/default.crt"  # any shell-safe name; a missing file answers too
_REFUSALS = frozenset({"http_401", "http_403"})
_PARTITIONS = "/mgmt/tm/auth/partition"


def _version(doc: Any) -> str:
    """`15.1.10.2 build 0.0.44` from the `sys/version` stats document, or ""."""
    try:
        fields = stats_fields(doc)
    except Malformed:
        return ""
    version, build = fields.get("Version", ""), fields.get("Build", "")
    return f"{version} build {build}" if version and build else version


class _Device:
    """The probes of one device, sharing one client and one exchange."""

    def __init__(self, device: BigIPConfig, cfg: Config, client: F5Client, ex: Exchange) -> None:
        self.device, self.cfg, self.client, self.ex = device, cfg, client, ex
        self.probes: list[Probe] = []
        self.missing: dict[str, str] = {}
        self.problems: list[str] = []

    def get(self, url: str, what: str) -> Any:
        return self.client.get(self.ex, url, what, what)

    def refusal(self, err: SourceFailure, need: str, name: str) -> None:
        refused = err.reason in _REFUSALS
        why = f"{'refused' if refused else 'failed'} ({err.reason}): {err.error.message}"
        self.probes.append(Probe(name, "refused" if refused else "failed", why))
        if need:
            self.missing.setdefault(need, f"{'refused' if refused else 'failed'} ({err.reason})")
        else:
            self.problems.append(f"{name}: {err.reason}")

    def partitions(self) -> None:
        try:
            doc = self.get(f"{_PARTITIONS}?{encode_query([('$select', 'name')])}", "auth/partition")
        except SourceFailure as err:
            why = f"cannot list the partitions ({err.reason}); each collection below still tells"
            self.probes.append(Probe("partitions", "note", why))
            return
        items = doc.get("items") if isinstance(doc, dict) else None
        seen = {str(i.get("name")) for i in items or [] if isinstance(i, dict)}
        hidden = [p for p in self.device.partitions if p not in seen]
        if hidden:
            why = (
                f"not visible: {', '.join(hidden)} (no such partition, or the user's partition"
                " access leaves it out; objects there would look absent)"
            )
            self.probes.append(Probe("partitions", "failed", why))
            self.problems.append(f"partitions {', '.join(hidden)} not visible")
        else:
            shown = ", ".join(self.device.partitions)
            self.probes.append(Probe("partitions", "ok", f"{shown} visible"))

    def collections(self) -> None:
        reader = self.device.bundle_reader
        manager = reader in ("auto", "ca-bundle-manager")
        wanted = [c for c in COLLECTIONS if c != CA_BUNDLES or manager]
        for collection in wanted:
            done = True
            for partition in self.device.partitions:
                only = ("$filter", f"partition eq {partition}")
                query = [only, ("$top", "1"), *options(collection)]
                try:
                    self.get(f"/mgmt/tm/{collection}?{encode_query(query)}", collection)
                except SourceFailure as err:
                    self.refusal(err, collection, collection)
                    done = False
                    break
            if done:
                where = ", ".join(self.device.partitions)
                self.probes.append(Probe(collection, "ok", f"readable in {where}"))
        query = [("$top", "1"), *options(DEVICES)]
        for collection, url in (
            (DEVICES, f"/mgmt/tm/{DEVICES}?{encode_query(query)}"),
            (SYNC_STATUS, f"/mgmt/tm/{SYNC_STATUS}"),
        ):
            try:
                self.get(url, collection)
                self.probes.append(Probe(collection, "ok", "readable"))
            except SourceFailure as err:
                self.refusal(err, collection, collection)
        self.apm()

    def apm(self) -> None:
        """APM's OAuth collections, on a device an identity provider names (one item each,
        in the providers' partitions; the discovery tasks without one)."""
        named = [i for i in self.cfg.identity_providers if self.device.name in i.devices]
        partitions = list(dict.fromkeys(i.oauth_provider.split("/")[1] for i in named))
        if not named:
            return
        if not self.apm_provisioned():
            return
        for collection, scope in (
            *((c, p) for c in PARTITIONED for p in partitions),
            (OIDC_TASKS, None),
        ):
            query = [("$top", "1"), *options(collection)]
            if scope is not None:
                query.insert(0, ("$filter", f"partition eq {scope}"))
            try:
                self.get(f"/mgmt/tm/{collection}?{encode_query(query)}", collection)
                self.probes.append(Probe(collection, "ok", "readable"))
            except SourceFailure as err:
                self.refusal(err, collection, collection)

    def apm_provisioned(self) -> bool:
        """`sys/provision` first, as the source reads it: APM's collections are not probed on
        a device where APM is not provisioned (the checks report that state, not errors)."""
        query = [("$select", APM_SELECT[PROVISION])]
        try:
            doc = self.get(f"/mgmt/tm/{PROVISION}?{encode_query(query)}", PROVISION)
        except SourceFailure as err:
            self.refusal(err, PROVISION, PROVISION)
            return True  # unknown: the source reads APM anyway
        items = doc.get("items") if isinstance(doc, dict) else None
        levels: dict[str, tuple[str, str]] = {}
        for item in items if isinstance(items, list) else []:
            try:
                if isinstance(item, dict):
                    module, level = parse_provision(item)  # as the source parses it
                    levels[module] = (module, level)
            except Malformed:  # no name: the source leaves it out too
                continue
        if provisioned(levels, True) is False:
            why = "APM is not provisioned: the oidc checks report every key missing here"
            self.probes.append(Probe(PROVISION, "note", why))
            return False
        self.probes.append(Probe(PROVISION, "ok", "APM provisioned"))
        return True

    def bash(self) -> None:
        reader = self.device.bundle_reader
        if reader not in ("auto", "bash"):
            why = f"not used: bundleReader {reader} never runs util/bash"
            self.probes.append(Probe(BASH, "note", why))
            self.missing[BASH] = why
            if reader == "none":
                self.missing[CA_BUNDLES] = "not read: bundleReader none reads no CA bundle"
            return
        glob = filestore_glob(PROBE_FILE)
        assert glob is not None
        try:
            self.client.post(self.ex, BASH_PATH, command(glob), "util/bash", BASH)
        except SourceFailure as err:
            self.refusal(err, BASH, BASH)
            if reader == "bash":
                self.missing[CA_BUNDLES] = f"bundleReader bash, and util/bash {err.reason}"
            return
        self.probes.append(Probe(BASH, "ok", "allowed: the user's role may run bash"))


def probe_device(
    device: BigIPConfig,
    cfg: Config,
    environ: Mapping[str, str],
    transport: httpx.BaseTransport | None = None,
) -> SourceReport:
    """Everything `doctor` asks one BIG-IP (module docstring)."""
    timeout = cfg.poll.timeout.total_seconds()
    probes = connect(device.url, device.ca_file, device.insecure, timeout)

    version = ""

    def report(reachable: bool, run: _Device | None = None) -> SourceReport:
        more = run.probes if run is not None else []
        return SourceReport(
            device.name,
            "bigip",
            device.url,
            (*probes, *more),
            reachable,
            run.missing if run is not None else {},
            tuple(run.problems) if run is not None else (),
            version,
        )

    if probes[-1].status == "failed":
        return report(False)
    try:
        creds = read_credentials(device, environ)
    except SourceFailure as err:
        probes.append(Probe("credentials", "failed", err.error.message))
        return report(False)
    budget = poll_budget(cfg.poll.interval, cfg.poll.timeout)
    client = F5Client(device, timeout, 1, transport, time.time, budget)
    ex = Exchange(creds, budget)
    run = _Device(device, cfg, client, ex)
    try:
        how = f"{device.auth_type} auth as {creds.username!r}"
        if device.auth_type == "token":
            how += f" (loginProviderName {device.login_provider_name})"
        try:
            client.prepare(ex)
            doc = run.get("/mgmt/tm/sys/version", "sys/version")
        except SourceFailure as err:
            if err.reason not in _REFUSALS:  # auth_failed among them: the login itself
                probes.append(Probe("login", "failed", f"{how}: {err.error.message}"))
                return report(False)
            probes.append(Probe("login", "ok", how))
            probes.append(Probe("TMOS version", "note", f"sys/version not readable ({err.reason})"))
        else:
            probes.append(Probe("login", "ok", how))
            version = _version(doc)
            probes.append(Probe("TMOS version", "ok", version or "not in the answer"))
        run.partitions()
        run.collections()
        run.bash()
    finally:
        client.close()
    return report(True, run)
